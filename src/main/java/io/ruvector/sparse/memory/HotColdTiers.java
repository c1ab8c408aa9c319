package io.ruvector.sparse.memory;

import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hot and cold neurons of every layer of a sparse model.
 *
 * <p>The hot tier is the most frequently firing neurons (over all layers) that fit a byte budget, their gate,
 * up and transposed down rows copied side by side into one off-heap arena owned by this object, so a hot
 * neuron costs one contiguous read. Every other neuron is cold and read in place from the mapped files.
 *
 * <p>{@link #retier} rebuilds the hot tier from new frequencies (e.g. live firing counts) into a new arena and
 * swaps it in. Readers never touch a closed arena: each forward pass {@link #acquire}s a {@link Snapshot}
 * (reference counted) and closes it when done; the old arena is closed when the last snapshot holding it is
 * released, never before. Readers never wait for a rebuild either: it copies the rows into the new arena
 * before it takes the swap lock, and can run on any thread (a sparse model runs it off the decode thread).
 * Which tier a reader sees never changes a result, only where the same bytes are read from.
 *
 * <p>With locking asked for, a swap unlocks the old arena before locking the new one, so a memlock limit sized
 * for one tier still has room for its successor; when locking fails anyway, {@link #lockMessage()} says why and
 * a warning is logged ({@link System.Logger}), never silently.
 */
public final class HotColdTiers implements AutoCloseable {

    /** One layer's FFN rows in the mapped files. */
    public record Layer(Tensor gate, Tensor up, Tensor downT) {
        public Layer {
            LayerRows.inPlace(gate, up, downT); // validates the shapes
        }

        long slotBytes() { return LayerRows.slotBytes(gate, up, downT); }
    }

    private final List<Layer> layers;
    private final long budget;
    private final boolean lock;
    private final Object swapLock = new Object();
    /** One rebuild at a time; readers never take it. */
    private final Object rebuildLock = new Object();
    private volatile Tier current;
    private boolean closed;

    private HotColdTiers(List<Layer> layers, long budget, boolean lock) {
        this.layers = List.copyOf(layers);
        this.budget = budget;
        this.lock = lock;
    }

    /**
     * Builds the tiers: hot are the neurons of highest {@code frequency[layer][neuron]} whose rows fit in
     * {@code budgetBytes}.
     *
     * @throws IllegalArgumentException when the frequencies do not match the layers, or the budget is negative
     */
    public static HotColdTiers build(List<Layer> layers, float[][] frequency, long budgetBytes) {
        return build(layers, frequency, budgetBytes, false);
    }

    /**
     * {@link #build(List, float[][], long)}, and with {@code lock} every hot arena is locked in RAM
     * ({@code mlock}, where RLIMIT_MEMLOCK allows; {@link #lockMessage()} says what happened), so hot rows are
     * never paged out.
     */
    public static HotColdTiers build(List<Layer> layers, float[][] frequency, long budgetBytes, boolean lock) {
        if (budgetBytes < 0) throw new IllegalArgumentException("hot-tier budget must be >= 0, not " + budgetBytes);
        HotColdTiers t = new HotColdTiers(layers, budgetBytes, lock);
        Tier first = t.materialize(t.chooseSlots(frequency), 0);
        if (lock) first.lock();
        t.current = first;
        return t;
    }

    /** Bytes of the hot arena. */
    public long hotBytes() { return current().bytes; }

    /** Hot neurons over all layers. */
    public int hotNeurons() { return current().hotNeurons; }

    /** Hot neurons of one layer. */
    public int hotNeurons(int layer) { return current().rows[layer].hotCount(); }

    /** What locking the current hot arena did ("not requested" without the lock option). */
    public String lockMessage() {
        Tier t = current();
        MemoryLock l = t.lock;
        if (!lock) return "not requested";
        if (l != null) return l.message();
        return t.bytes == 0 ? "nothing to lock" : "being locked (just re-tiered)";
    }

    /** The byte budget the hot tier was built for. */
    public long budget() { return budget; }

    /** Number of tier swaps done so far by {@link #retier}. */
    public int generation() { return current().generation; }

    /**
     * The current rows of every layer, valid until the snapshot is closed (a new open snapshot; see
     * {@link #newSnapshot()} for a reusable one).
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public Snapshot acquire() {
        Snapshot s = newSnapshot();
        s.open();
        return s;
    }

    /**
     * A reusable snapshot holder, not yet open: {@link Snapshot#open()} it at the start of each forward pass and
     * close it at the end, without allocating.
     */
    public Snapshot newSnapshot() { return new Snapshot(this); }

    private Tier acquireTier() {
        while (true) {
            Tier t = current;
            if (t == null) throw new IllegalStateException("hot/cold tiers are closed");
            if (t.tryAcquire()) return t;
            // The tier was released by a concurrent swap between the read and the acquire: read again.
        }
    }

    /**
     * Rebuilds the hot tier from {@code frequency} and swaps it in when the hot set changed. The previous arena
     * is closed once no snapshot uses it.
     *
     * @return true when a new tier was swapped in
     */
    public boolean retier(float[][] frequency) {
        synchronized (rebuildLock) {
            Tier old = current();
            int[][] slots = chooseSlots(frequency);
            boolean same = true;
            for (int l = 0; l < layers.size() && same; l++) same = Arrays.equals(slots[l], old.slots[l]);
            if (same) return false;
            Tier next = materialize(slots, old.generation + 1);   // readers go on with the old tier meanwhile
            next.refs.incrementAndGet();   // held until it is locked: a concurrent close must not free it under mlock
            try {
                synchronized (swapLock) {
                    if (closed) {
                        next.release();
                        return false;
                    }
                    current = next;
                }
                if (lock) {
                    // Unlock the old tier first (snapshots still reading it are fine: unlocked is not unmapped), so a
                    // limit sized for one tier has room for the new one.
                    old.unlock();
                    next.lock();
                    if (!next.lockResult().locked()) {
                        LOG.log(System.Logger.Level.WARNING, "re-tiered hot rows are not locked in RAM: " + next.lockResult().message());
                    }
                }
            } finally {
                next.release();
            }
            old.release();
            return true;
        }
    }

    private static final System.Logger LOG = System.getLogger(HotColdTiers.class.getName());

    /** Releases the current tier (its arena closes once the last snapshot is closed). Idempotent. */
    @Override
    public void close() {
        synchronized (swapLock) {
            if (closed) return;
            closed = true;
            Tier t = current;
            current = null;
            if (t != null) t.release();
        }
    }

    private Tier current() {
        Tier t = current;
        if (t == null) throw new IllegalStateException("hot/cold tiers are closed");
        return t;
    }

    /** slot[l][i] = hot slot of neuron i of layer l (slots numbered per layer by falling frequency), or -1. */
    private int[][] chooseSlots(float[][] frequency) {
        if (frequency.length != layers.size()) {
            throw new IllegalArgumentException("frequencies for " + frequency.length + " layers, model has " + layers.size());
        }
        record Candidate(int layer, int neuron, float freq) {}
        List<Candidate> all = new ArrayList<>();
        for (int l = 0; l < layers.size(); l++) {
            if (frequency[l].length != layers.get(l).gate().rows()) {
                throw new IllegalArgumentException("layer " + l + ": " + frequency[l].length + " frequencies for "
                        + layers.get(l).gate().rows() + " neurons");
            }
            for (int i = 0; i < frequency[l].length; i++) {
                float f = frequency[l][i];
                if (f > 0) all.add(new Candidate(l, i, f));
            }
        }
        all.sort((a, b) -> a.freq != b.freq ? Float.compare(b.freq, a.freq)
                : a.layer != b.layer ? Integer.compare(a.layer, b.layer) : Integer.compare(a.neuron, b.neuron));
        int[][] slots = new int[layers.size()][];
        int[] used = new int[layers.size()];
        for (int l = 0; l < slots.length; l++) {
            slots[l] = new int[layers.get(l).gate().rows()];
            Arrays.fill(slots[l], -1);
        }
        long bytes = 0;
        for (Candidate c : all) {
            long need = layers.get(c.layer).slotBytes();
            if (bytes + need > budget) continue; // a smaller slot of another layer may still fit
            bytes += need;
            slots[c.layer][c.neuron] = used[c.layer]++;
        }
        return slots;
    }

    private Tier materialize(int[][] slots, int generation) {
        long total = 0;
        long[] base = new long[layers.size()];
        int hot = 0;
        for (int l = 0; l < layers.size(); l++) {
            base[l] = total;
            int count = 0;
            for (int s : slots[l]) if (s >= 0) count++;
            hot += count;
            total += count * layers.get(l).slotBytes();
        }
        Arena arena = total == 0 ? null : Arena.ofShared();
        try {
            MemorySegment all = arena == null ? MemorySegment.NULL : RamSegments.allocate(arena, total);
            LayerRows[] rows = new LayerRows[layers.size()];
            for (int l = 0; l < layers.size(); l++) {
                Layer layer = layers.get(l);
                long slotBytes = layer.slotBytes();
                int count = 0;
                for (int s : slots[l]) if (s >= 0) count++;
                if (count == 0) {
                    rows[l] = LayerRows.inPlace(layer.gate(), layer.up(), layer.downT());
                    continue;
                }
                MemorySegment seg = all.asSlice(base[l], count * slotBytes);
                long gateBytes = layer.gate().rowBytes(), upBytes = layer.up().rowBytes(), downBytes = layer.downT().rowBytes();
                for (int i = 0; i < slots[l].length; i++) {
                    int s = slots[l][i];
                    if (s < 0) continue;
                    long at = s * slotBytes;
                    MemorySegment.copy(layer.gate().data(), layer.gate().rowOffset(i), seg, at, gateBytes);
                    MemorySegment.copy(layer.up().data(), layer.up().rowOffset(i), seg, at + gateBytes, upBytes);
                    MemorySegment.copy(layer.downT().data(), layer.downT().rowOffset(i), seg, at + gateBytes + upBytes, downBytes);
                }
                rows[l] = LayerRows.withHot(layer.gate(), layer.up(), layer.downT(), seg, slots[l].clone());
            }
            return new Tier(arena, all, rows, slots, total, hot, generation);
        } catch (RuntimeException | Error e) {
            if (arena != null) arena.close();
            throw e;
        }
    }

    /** One generation of the hot tier: its arena, the row views into it and a reference count. */
    private static final class Tier {
        final Arena arena;
        final MemorySegment memory;
        final LayerRows[] rows;
        final int[][] slots;
        final long bytes;
        final int hotNeurons;
        final int generation;
        /** The mlock outcome, null until {@link #lock()} (and with nothing to lock). */
        volatile MemoryLock lock;
        /** 1 for being current plus 1 per open snapshot; the arena closes when it reaches 0. */
        final AtomicInteger refs = new AtomicInteger(1);

        Tier(Arena arena, MemorySegment memory, LayerRows[] rows, int[][] slots, long bytes, int hotNeurons, int generation) {
            this.arena = arena;
            this.memory = memory;
            this.rows = rows;
            this.slots = slots;
            this.bytes = bytes;
            this.hotNeurons = hotNeurons;
            this.generation = generation;
        }

        /** Locks the arena in RAM (as far as the limit allows; {@link #lockResult()} says). */
        void lock() {
            if (bytes > 0) lock = MemoryHints.lock(memory);
        }

        MemoryLock lockResult() {
            MemoryLock l = lock;
            return l != null ? l : new MemoryLock(memory, false, "nothing to lock");
        }

        void unlock() {
            MemoryLock l = lock;
            if (l != null) l.close();
        }

        boolean tryAcquire() {
            while (true) {
                int r = refs.get();
                if (r == 0) return false;
                if (refs.compareAndSet(r, r + 1)) return true;
            }
        }

        void release() {
            int r = refs.decrementAndGet();
            if (r == 0) {
                unlock();
                if (arena != null) arena.close();
            }
            if (r < 0) throw new IllegalStateException("hot tier released more often than acquired");
        }
    }

    /**
     * The rows of every layer as of one tier generation, from {@link #open()} to {@link #close()}; closing lets a
     * replaced arena go. Reusable: open and close it once per forward pass. Used by one thread at a time.
     */
    public static final class Snapshot implements AutoCloseable {
        private final HotColdTiers owner;
        private Tier tier;

        private Snapshot(HotColdTiers owner) { this.owner = owner; }

        /**
         * Takes the current tier.
         *
         * @throws IllegalStateException when already open, or the tiers are closed
         */
        public Snapshot open() {
            if (tier != null) throw new IllegalStateException("snapshot is already open");
            tier = owner.acquireTier();
            return this;
        }

        public boolean isOpen() { return tier != null; }

        /** Rows of layer {@code l}. */
        public LayerRows layer(int l) {
            Tier t = tier;
            if (t == null) throw new IllegalStateException("snapshot is closed");
            return t.rows[l];
        }

        public int generation() {
            Tier t = tier;
            if (t == null) throw new IllegalStateException("snapshot is closed");
            return t.generation;
        }

        /** Releases the tier. Idempotent. */
        @Override
        public void close() {
            Tier t = tier;
            if (t == null) return;
            tier = null;
            t.release();
        }
    }
}
