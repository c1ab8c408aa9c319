package io.ruvector.sparse.memory;

import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Where the three rows of each neuron of one layer are read from: the gate row, the up row (both rows of the
 * model's matrices, {@code dim} values) and the transposed down row ({@code dim} values of {@code ffn_down_t}).
 *
 * <p>Hot neurons have their three rows packed side by side in one slot of a hot segment ({@code gate | up |
 * down_t}, {@link #stride()} bytes per slot). A session may add a {@link ColdRowCache}: cold neurons it holds
 * are read from its slots (same packing). Every other neuron is read in place from the tensors (the mapped
 * files). The memory behind a hot segment stays valid while the {@link HotColdTiers.Snapshot} that produced
 * the view is held.
 */
public final class LayerRows {

    private final Tensor gate;
    private final Tensor up;
    private final Tensor downT;
    private final MemorySegment hot;
    private final int[] hotSlot;
    private final long stride;
    private final long upInSlot;
    private final long downInSlot;
    private final MemorySegment cache;
    private final int[] cacheSlot;
    private final long cacheStride;

    private LayerRows(Tensor gate, Tensor up, Tensor downT, MemorySegment hot, int[] hotSlot,
                      MemorySegment cache, int[] cacheSlot, long cacheStride) {
        this.gate = Objects.requireNonNull(gate, "gate");
        this.up = Objects.requireNonNull(up, "up");
        this.downT = Objects.requireNonNull(downT, "downT");
        if (gate.rows() != up.rows() || gate.rows() != downT.rows() || gate.cols() != up.cols()) {
            throw new IllegalArgumentException("layer rows disagree: gate " + gate.rows() + "x" + gate.cols() + ", up "
                    + up.rows() + "x" + up.cols() + ", down_t " + downT.rows() + "x" + downT.cols());
        }
        this.hot = hot;
        this.hotSlot = hotSlot;
        this.cache = cache;
        this.cacheSlot = cacheSlot;
        this.cacheStride = cacheStride;
        this.upInSlot = gate.rowBytes();
        this.downInSlot = gate.rowBytes() + up.rowBytes();
        this.stride = slotBytes(gate, up, downT);
    }

    /** Every row read in place from the tensors. */
    public static LayerRows inPlace(Tensor gate, Tensor up, Tensor downT) {
        return new LayerRows(gate, up, downT, null, null, null, null, 0);
    }

    /** Rows of neurons with {@code hotSlot[i] >= 0} read from slot {@code hotSlot[i]} of {@code hot}. */
    static LayerRows withHot(Tensor gate, Tensor up, Tensor downT, MemorySegment hot, int[] hotSlot) {
        if (hotSlot.length != gate.rows()) throw new IllegalArgumentException("hot slots for " + hotSlot.length + " neurons, layer has " + gate.rows());
        return new LayerRows(gate, up, downT, hot, hotSlot, null, null, 0);
    }

    /**
     * The same view with a session's cold-row cache in front of the files: neuron {@code i} with
     * {@code cacheSlot[i] >= 0} (and not hot) is read from slot {@code cacheSlot[i]} of {@code cache}, slots
     * being {@code cacheStride} bytes apart and packed like hot slots. The arrays are the cache's own and change
     * between forward calls (never during one).
     */
    LayerRows withCache(MemorySegment cache, int[] cacheSlot, long cacheStride) {
        if (cacheSlot.length != gate.rows()) throw new IllegalArgumentException("cache slots for " + cacheSlot.length + " neurons, layer has " + gate.rows());
        if (cacheStride < stride) throw new IllegalArgumentException("cache slots of " + cacheStride + " bytes cannot hold " + stride);
        return new LayerRows(gate, up, downT, hot, hotSlot, cache, cacheSlot, cacheStride);
    }

    /** Bytes of one packed slot: a neuron's gate, up and down_t rows. */
    public static long slotBytes(Tensor gate, Tensor up, Tensor downT) {
        return gate.rowBytes() + up.rowBytes() + downT.rowBytes();
    }

    public Tensor gate() { return gate; }

    public Tensor up() { return up; }

    public Tensor downT() { return downT; }

    public int neurons() { return gate.rows(); }

    public long stride() { return stride; }

    /** True when neuron {@code i} is read from the hot segment. */
    public boolean isHot(int i) { return hotSlot != null && hotSlot[i] >= 0; }

    /** Number of hot neurons. */
    public int hotCount() {
        if (hotSlot == null) return 0;
        int c = 0;
        for (int s : hotSlot) if (s >= 0) c++;
        return c;
    }

    /** True when neuron {@code i} is read from the session's cold-row cache. */
    public boolean isCached(int i) { return cacheSlot != null && !isHot(i) && cacheSlot[i] >= 0; }

    private MemorySegment segment(int i, Tensor t) {
        if (isHot(i)) return hot;
        if (cacheSlot != null && cacheSlot[i] >= 0) return cache;
        return t.data();
    }

    private long offset(int i, Tensor t, long inSlot) {
        if (isHot(i)) return hotSlot[i] * stride + inSlot;
        if (cacheSlot != null && cacheSlot[i] >= 0) return cacheSlot[i] * cacheStride + inSlot;
        return t.rowOffset(i);
    }

    public MemorySegment gateSegment(int i) { return segment(i, gate); }

    public long gateOffset(int i) { return offset(i, gate, 0); }

    public MemorySegment upSegment(int i) { return segment(i, up); }

    public long upOffset(int i) { return offset(i, up, upInSlot); }

    public MemorySegment downSegment(int i) { return segment(i, downT); }

    public long downOffset(int i) { return offset(i, downT, downInSlot); }
}
