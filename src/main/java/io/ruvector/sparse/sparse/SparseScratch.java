package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.kernels.ActivationRounding;
import io.ruvector.sparse.memory.LayerRows;
import io.ruvector.sparse.quant.Q8KActivation;
import io.ruvector.sparse.quant.Q8KDotProduct;
import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One session's working memory for {@link SparseLayer}: buffers sized once, the arguments of the call in flight
 * (read by the pool's threads, published by the pool's hand-off) and the parallel loop bodies, built once so a
 * decode step allocates nothing. Used by one session thread at a time.
 */
public final class SparseScratch {

    final float[] z;
    final float[] scores;
    final float[] topKScratch;
    final boolean[] selected;
    final int[] index;
    final float[] gc;
    final float[] uc;
    final float[] hc;
    final float[] hFull;
    /** The rows a stripe pass is about to read, listed from the stripe's start (see SparseLayer.touchRows). */
    final MemorySegment[] rowSegment;
    final long[] rowOffset;
    final SparseStats stats;
    int count;
    /** The cut on scores, and whether {@link #scores} are already computed (top-K) or made per stripe. */
    float cut;
    boolean scored;
    /** Whether {@link #z} holds the exact gate product of every neuron (gate selection), read instead of gate rows. */
    boolean gateKnown;
    // Per stripe: selected neurons (listed from index[stripe start]), up rows read, down rows added.
    final int[] stripeSelected;
    final int[] stripeUpRows;
    final int[] stripeNonZero;
    /** Stripe st's partial down projection at [st * dim, (st + 1) * dim); sized by the first call. */
    float[] partial = new float[0];
    private final AtomicInteger nextStripe = new AtomicInteger();
    private int stripes;
    /** The FFN input (then h, for a dense down projection) as the dense products see it. */
    final ActivationRounding rounding;
    boolean gateInt8, upInt8, hiddenInt8;
    /** Whether the stripes round h to int8 blocks, as the dense down product would (set per layer). */
    boolean hiddenRoundedToQ8;
    /**
     * Whether the gate and up rows multiply {@link #q8k}, the input's Q8_K codes, one row at a time
     * ({@link Q8KDotProduct}): where the dense products multiply those codes with the matrices' interleaved copies.
     */
    boolean gateQ8K, upQ8K;
    Q8KActivation q8k;
    float[] gateInput, upInput, hiddenInput;
    int gateInputOffset, upInputOffset, hiddenInputOffset;
    /** Sum of prefetch touches, kept so the JIT cannot drop them. */
    int sink;
    boolean measureRecall;

    // The call in flight.
    private SparseLayer layer;
    float[] x;
    float[] out;
    LayerRows rows;

    final Parallel.RangeBody projectBody = (from, to) -> layer.projectRange(this, from, to);
    final Parallel.RangeBody scoreBody = (from, to) -> layer.scoreRange(this, from, to);
    /** Each thread claims stripes one at a time until none is left (which thread takes one never matters). */
    final Parallel.RangeBody stripeBody = (from, to) -> {
        for (int st; (st = nextStripe.getAndIncrement()) < stripes; ) layer.stripe(this, st);
    };
    final Parallel.RangeBody denseDownBody = (from, to) -> layer.denseDownRange(this, from, to);

    /** Scratch for float32 activations: every product takes the vector as it is. */
    public SparseScratch(int layers, int neurons, int hidden) {
        this(layers, neurons, hidden, new ActivationRounding(false));
    }

    /**
     * @param layers   layers of the model (for per-layer statistics)
     * @param neurons  largest FFN hidden length
     * @param hidden   largest predictor hidden length
     * @param rounding the session's own rounding policy, as the model's dense products round
     *                 (the session's products' policy, {@code ActivationRounding.withSamePolicy()})
     */
    public SparseScratch(int layers, int neurons, int hidden, ActivationRounding rounding) {
        this.z = new float[hidden];
        this.scores = new float[neurons];
        this.topKScratch = new float[neurons];
        this.selected = new boolean[neurons];
        this.index = new int[neurons];
        this.gc = new float[neurons];
        this.uc = new float[neurons];
        this.hc = new float[neurons];
        this.hFull = new float[neurons];
        this.rowSegment = new MemorySegment[neurons];
        this.rowOffset = new long[neurons];
        this.stats = new SparseStats(layers);
        this.rounding = rounding;
        int maxStripes = (neurons + SparseLayer.STRIPE_NEURONS - 1) / SparseLayer.STRIPE_NEURONS;
        this.stripeSelected = new int[maxStripes];
        this.stripeUpRows = new int[maxStripes];
        this.stripeNonZero = new int[maxStripes];
    }

    /** Counters of what this session's sparse layers did. */
    public SparseStats stats() { return stats; }

    /**
     * When on, every sparse step also computes the full gate and up products to count how many firing neurons
     * the predictor selected (recall). Slow: for measurement runs only.
     */
    public void setMeasureRecall(boolean on) { this.measureRecall = on; }

    /** Number of neurons selected by the last call. */
    public int lastSelected() { return count; }

    /** Whether neuron {@code i} was selected by the last call. */
    public boolean wasSelected(int i) { return selected[i]; }

    void begin(SparseLayer l, float[] x, float[] out, LayerRows rows) {
        if (l.neurons() > selected.length || l.predictor().hiddenDim() > z.length) {
            throw new IllegalArgumentException("scratch sized for " + selected.length + " neurons and predictor hidden "
                    + z.length + ", layer " + l.layer() + " needs " + l.neurons() + " and " + l.predictor().hiddenDim());
        }
        long partialLength = (long) l.stripes() * l.dim();
        if (partial.length < partialLength) partial = new float[Math.toIntExact(partialLength)];
        this.layer = l;
        this.x = x;
        this.out = out;
        this.rows = rows;
    }

    /**
     * Prepares {@code x[0..dim)} for the gate and up products, and decides whether h is rounded as the products
     * with the model's {@code down} (null when the sidecar has none) would round it.
     */
    void prepareInput(float[] x, int dim, Tensor down) {
        LayerRows r = rows;
        rounding.reset();
        hiddenRoundedToQ8 = down != null && rounding.usesInt8(down, 1);
        gateQ8K = rounding.usesQ8K(r.gate(), 1) && r.gate().type() instanceof Q8KDotProduct;
        upQ8K = rounding.usesQ8K(r.up(), 1) && r.up().type() instanceof Q8KDotProduct;
        q8k = gateQ8K || upQ8K ? rounding.prepareQ8K(x, 0, dim) : null;
        gateInt8 = !gateQ8K && rounding.prepare(r.gate(), x, 0, dim);
        gateInput = rounding.input();
        gateInputOffset = rounding.inputOffset();
        upInt8 = !upQ8K && rounding.prepare(r.up(), x, 0, dim);
        upInput = rounding.input();
        upInputOffset = rounding.inputOffset();
    }

    /** Prepares {@link #hFull} for the rows of the model's {@code down} (after the gate and up products). */
    void prepareHidden(Tensor down, int neurons) {
        rounding.reset();
        hiddenInt8 = rounding.prepare(down, hFull, 0, neurons);
        hiddenInput = rounding.input();
        hiddenInputOffset = rounding.inputOffset();
    }

    /** Before the stripe pass: {@code n} stripes, none claimed yet. */
    void startStripes(int n) {
        stripes = n;
        nextStripe.set(0);
    }

    void end() {
        this.layer = null;
        this.x = null;
        this.out = null;
        this.rows = null;
        this.gateInput = null;
        this.upInput = null;
        this.hiddenInput = null;
        this.q8k = null;
    }
}
