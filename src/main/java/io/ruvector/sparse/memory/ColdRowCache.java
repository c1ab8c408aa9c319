package io.ruvector.sparse.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A session's cache of cold neurons' rows, for model files on slow storage: the gate, up and down_t rows of a
 * cold neuron that fired are copied into a slot of an off-heap buffer (packed like hot slots), so the next time
 * it fires they are read from memory instead of from the mapped file (whose pages the OS may have dropped).
 *
 * <p>Eviction is LRU (least recently used) or LFU (least frequently used, with counts halved as slots turn
 * over (every 8 turnovers) so old popularity fades; the victim is the least used of a small sample, as Redis does). The cache is
 * updated only between forward calls ({@link #admit}), from the session's thread; during a call the pool's
 * threads only read it through the {@link LayerRows} view, so no locking is needed.
 *
 * <p>The buffer is off-heap and owned by this object: {@link #close()} frees it at once (a server opening
 * sessions must not wait for the garbage collector to give the memory back); later use throws
 * {@link IllegalStateException}.
 */
public final class ColdRowCache implements AutoCloseable {

    /** Eviction policy. */
    public enum Policy { LRU, LFU }

    private static final int LFU_SAMPLE = 8;
    private static final int AGING_TURNOVERS = 8;

    private final Policy policy;
    private final int slots;
    private final long stride;
    private final Arena arena;
    private final MemorySegment buffer;
    private final int[][] slotOf;          // [layer][neuron] -> slot or -1
    private final int[] ownerLayer;        // slot -> layer or -1 when free
    private final int[] ownerNeuron;
    private final int[] prev, next;        // LRU list, most recent at head
    private final int[] uses;              // LFU counts
    private int head = -1, tail = -1;
    private int used;
    private int admissionsSinceAging;
    private long rng = 0x9E3779B97F4A7C15L;
    private final LayerRows[] viewBase;
    private final LayerRows[] view;
    private long hits, misses, evictions;

    /**
     * @param neuronsPerLayer neurons of each layer
     * @param slotBytes       bytes of the largest neuron slot (gate + up + down_t rows) over the layers
     * @param slots           neurons the cache holds (>= 1)
     */
    public ColdRowCache(int[] neuronsPerLayer, long slotBytes, int slots, Policy policy) {
        if (slots < 1) throw new IllegalArgumentException("cache needs at least one slot, not " + slots);
        if (slotBytes < 1) throw new IllegalArgumentException("slot bytes must be positive: " + slotBytes);
        this.policy = policy;
        this.slots = slots;
        this.stride = slotBytes;
        long bytes = Math.multiplyExact(slotBytes, (long) slots);
        // Shared: the pool's threads read the rows. Closed with the session that owns the cache.
        this.arena = Arena.ofShared();
        try {
            this.buffer = RamSegments.allocate(arena, bytes);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
        this.slotOf = new int[neuronsPerLayer.length][];
        for (int l = 0; l < slotOf.length; l++) {
            slotOf[l] = new int[neuronsPerLayer[l]];
            Arrays.fill(slotOf[l], -1);
        }
        this.ownerLayer = new int[slots];
        this.ownerNeuron = new int[slots];
        Arrays.fill(ownerLayer, -1);
        this.prev = new int[slots];
        this.next = new int[slots];
        this.uses = new int[slots];
        this.viewBase = new LayerRows[neuronsPerLayer.length];
        this.view = new LayerRows[neuronsPerLayer.length];
    }

    /** Slots that fit in {@code bytes}. */
    public static int slotsForBudget(long bytes, long slotBytes) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, bytes / slotBytes));
    }

    public Policy policy() { return policy; }

    public int capacity() { return slots; }

    /** Neurons held now. */
    public int size() { return used; }

    public long hits() { return hits; }

    public long misses() { return misses; }

    public long evictions() { return evictions; }

    public long bytes() { return buffer.byteSize(); }

    /** {@code base} with this cache in front of its files (the same object until {@code base} changes). */
    public LayerRows view(int layer, LayerRows base) {
        ensureOpen();
        if (viewBase[layer] != base) {
            view[layer] = base.withCache(buffer, slotOf[layer], stride);
            viewBase[layer] = base;
        }
        return view[layer];
    }

    /** True when neuron {@code neuron} of {@code layer} is held. */
    public boolean contains(int layer, int neuron) { return slotOf[layer][neuron] >= 0; }

    /**
     * After a forward call of {@code layer}: counts hits for the cold neurons of {@code neurons[0..count)} that
     * were read from the cache, and copies the others' rows in (evicting as the policy says). Hot neurons are
     * skipped.
     */
    public void admit(int layer, LayerRows base, int[] neurons, int count) {
        ensureOpen();
        int[] map = slotOf[layer];
        for (int k = 0; k < count; k++) {
            int i = neurons[k];
            if (base.isHot(i)) continue;
            int s = map[i];
            if (s >= 0) {
                hits++;
                touch(s);
                continue;
            }
            misses++;
            s = used < slots ? used++ : evict();
            MemorySegment.copy(base.gate().data(), base.gate().rowOffset(i), buffer, s * stride, base.gate().rowBytes());
            MemorySegment.copy(base.up().data(), base.up().rowOffset(i), buffer, s * stride + base.gate().rowBytes(), base.up().rowBytes());
            MemorySegment.copy(base.downT().data(), base.downT().rowOffset(i), buffer,
                    s * stride + base.gate().rowBytes() + base.up().rowBytes(), base.downT().rowBytes());
            ownerLayer[s] = layer;
            ownerNeuron[s] = i;
            map[i] = s;
            insert(s);
        }
    }

    /** True until {@link #close()}. */
    public boolean isOpen() { return arena.scope().isAlive(); }

    /** Frees the buffer now. Idempotent; later use throws {@link IllegalStateException}. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    private void ensureOpen() {
        if (!arena.scope().isAlive()) throw new IllegalStateException("cold-row cache is closed");
    }

    /** Drops everything (e.g. after re-tiering made cached neurons hot). */
    public void clear() {
        for (int[] m : slotOf) Arrays.fill(m, -1);
        Arrays.fill(ownerLayer, -1);
        Arrays.fill(uses, 0);
        head = tail = -1;
        used = 0;
    }

    private void insert(int s) {
        if (policy == Policy.LRU) {
            prev[s] = -1;
            next[s] = head;
            if (head >= 0) prev[head] = s;
            head = s;
            if (tail < 0) tail = s;
        } else {
            uses[s] = 1;
            if (++admissionsSinceAging >= AGING_TURNOVERS * slots) { // age: halve every count after some turnovers
                admissionsSinceAging = 0;
                for (int j = 0; j < used; j++) uses[j] >>>= 1;
            }
        }
    }

    private void touch(int s) {
        if (policy == Policy.LRU) {
            if (head == s) return;
            unlink(s);
            prev[s] = -1;
            next[s] = head;
            if (head >= 0) prev[head] = s;
            head = s;
            if (tail < 0) tail = s;
        } else if (uses[s] < Integer.MAX_VALUE) {
            uses[s]++;
        }
    }

    private void unlink(int s) {
        if (prev[s] >= 0) next[prev[s]] = next[s];
        else head = next[s];
        if (next[s] >= 0) prev[next[s]] = prev[s];
        else tail = prev[s];
    }

    /** Frees the policy's victim slot and returns it. */
    private int evict() {
        int victim;
        if (policy == Policy.LRU) {
            victim = tail;
            unlink(victim);
        } else {
            victim = -1;
            for (int k = 0; k < LFU_SAMPLE; k++) {
                rng ^= rng << 13;
                rng ^= rng >>> 7;
                rng ^= rng << 17;
                int s = (int) Long.remainderUnsigned(rng, slots);
                if (victim < 0 || uses[s] < uses[victim]) victim = s;
            }
        }
        slotOf[ownerLayer[victim]][ownerNeuron[victim]] = -1;
        evictions++;
        return victim;
    }
}
