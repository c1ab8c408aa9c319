package io.ruvector.sparse.sparse;

import io.ruvector.sparse.kernels.Parallel;
import io.ruvector.sparse.memory.LayerRows;

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
    final SparseStats stats;
    int count;
    /** The cut on scores, and whether {@link #scores} are already computed (top-K) or made per stripe. */
    float cut;
    boolean scored;
    // Per stripe: selected neurons (listed from index[stripe start]), up rows read, down rows added.
    final int[] stripeSelected;
    final int[] stripeUpRows;
    final int[] stripeNonZero;
    /** Stripe st's partial down projection at [st * dim, (st + 1) * dim); sized by the first call. */
    float[] partial = new float[0];
    private final AtomicInteger nextStripe = new AtomicInteger();
    private int stripes;
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

    /**
     * @param layers  layers of the model (for per-layer statistics)
     * @param neurons largest FFN hidden length
     * @param hidden  largest predictor hidden length
     */
    public SparseScratch(int layers, int neurons, int hidden) {
        this.z = new float[hidden];
        this.scores = new float[neurons];
        this.topKScratch = new float[neurons];
        this.selected = new boolean[neurons];
        this.index = new int[neurons];
        this.gc = new float[neurons];
        this.uc = new float[neurons];
        this.hc = new float[neurons];
        this.hFull = new float[neurons];
        this.stats = new SparseStats(layers);
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
    }
}
