package io.ruvector.sparse.sparse;

import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.kernels.Parallel;
import io.ruvector.sparse.memory.LayerRows;
import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * One layer's sparse feed-forward block for a single token: the predictor picks neurons, only their gate and
 * up rows are multiplied, and the down projection is a sum of their transposed down rows.
 *
 * <pre>
 *   z      = predictor.project(x)                               (parallel over the predictor's hidden rows)
 *   S      = { i : score_i(z) >= threshold }   (or the top K)   (parallel over fixed 64-neuron granules)
 *   g_i, u_i = gate_i . x, up_i . x   for i in S                (same granules, same threads)
 *   h      = act.gated(g, u)  over S, compacted in neuron order
 *   out    = sum over i in S, ascending, of h_i * down_t[i]     (parallel over fixed 256-wide output granules)
 * </pre>
 *
 * <p>Results never depend on the thread count: every neuron's score, g, u and h are computed whole by one
 * thread with kernels whose per-element work does not depend on where a range starts (granules are multiples of
 * the vector width and of every block size), and the down projection splits the <em>output</em> dimensions, each
 * output summing the selected rows in ascending neuron order. When every neuron is selected (or more than
 * {@code denseAbove} of them) and the model's {@code ffn_down} is at hand, the down projection is the model's
 * own dense product of the same {@code h}, so the result is bit-identical to the dense feed-forward block.
 *
 * <p>Immutable and shared by sessions; per-session state lives in {@link SparseScratch}.
 */
public final class SparseLayer {

    /** Neurons per scheduling granule (a multiple of every predictor block size and vector width). */
    static final int NEURON_GRANULE = 64;
    /** Output values per scheduling granule of the down projection (a multiple of every block size). */
    static final int OUTPUT_GRANULE = 256;
    /** Below this many multiply-adds the predictor projection runs on the calling thread alone. */
    private static final long PARALLEL_PROJECT_WORK = 1L << 18;

    private final int layer;
    private final NeuronPredictor predictor;
    private final ActivationType activation;
    private final boolean exactZeros;
    private final Tensor down;
    private final double denseAbove;
    private final int denseCutoff;
    private final float tau;
    private final int dim;
    private final int neurons;

    /**
     * @param layer      layer index
     * @param predictor  neuron predictor of this layer
     * @param activation the FFN activation
     * @param down       the model's {@code ffn_down} ({@code dim x neurons}), or null when the file has only the
     *                   transposed form (PowerInfer layout)
     * @param denseAbove use the dense down projection when more than this fraction of neurons is selected
     *                   ({@code 1} = only when all are)
     * @param tau        firing threshold on |h| used when measuring recall (0 for ReLU-like activations)
     */
    public SparseLayer(int layer, NeuronPredictor predictor, ActivationType activation, Tensor down,
                       double denseAbove, float tau) {
        if (!(denseAbove > 0 && denseAbove <= 1)) throw new IllegalArgumentException("denseAbove must be in (0, 1]: " + denseAbove);
        if (down != null && (down.cols() != predictor.neurons() || down.rows() != predictor.inputDim())) {
            throw new IllegalArgumentException("layer " + layer + ": ffn_down is " + down.rows() + "x" + down.cols()
                    + " but the predictor covers " + predictor.neurons() + " neurons of dim " + predictor.inputDim());
        }
        if (NEURON_GRANULE % predictor.neuronAlignment() != 0) {
            throw new IllegalArgumentException("layer " + layer + ": predictor alignment " + predictor.neuronAlignment()
                    + " does not divide " + NEURON_GRANULE);
        }
        this.layer = layer;
        this.predictor = predictor;
        this.activation = activation;
        this.exactZeros = activation.hasExactZeros();
        this.down = down;
        this.dim = predictor.inputDim();
        this.neurons = predictor.neurons();
        this.denseAbove = denseAbove;
        this.denseCutoff = denseAbove >= 1 ? neurons : (int) Math.floor(denseAbove * neurons) + 1;
        this.tau = tau;
    }

    public int layer() { return layer; }

    public NeuronPredictor predictor() { return predictor; }

    public ActivationType activation() { return activation; }

    public int dim() { return dim; }

    public int neurons() { return neurons; }

    public float tau() { return tau; }

    /** The same layer with another predictor (e.g. another threshold). */
    public SparseLayer withPredictor(NeuronPredictor p) {
        return new SparseLayer(layer, p, activation, down, denseAbove, tau);
    }

    /**
     * Computes {@code out[0..dim)} for one token {@code x[0..dim)}.
     *
     * @param rows where the layer's rows are read from (hot tier or mapped files)
     * @param topK select the {@code topK} highest-scoring neurons instead of thresholding (0 = threshold)
     */
    public void forward(float[] x, float[] out, LayerRows rows, int topK, SparseScratch s, Parallel pool) {
        if (rows.neurons() != neurons || rows.gate().cols() != dim || rows.downT().cols() != dim) {
            throw new IllegalArgumentException("layer " + layer + ": rows do not match the predictor's shape");
        }
        s.begin(this, x, out, rows);
        try {
            // 1. Predictor projection.
            int hidden = predictor.hiddenDim();
            if ((long) hidden * dim >= PARALLEL_PROJECT_WORK) pool.forRange(hidden, s.projectBody);
            else predictor.project(x, s.z, 0, hidden);

            // 2. Selection (scores against the threshold, or the top K), compacted in ascending neuron order.
            int granules = (neurons + NEURON_GRANULE - 1) / NEURON_GRANULE;
            pool.forRange(granules, s.selectBody);
            if (topK > 0) selectTopK(s, Math.min(topK, neurons));
            int count = 0;
            boolean[] sel = s.selected;
            for (int i = 0; i < neurons; i++) if (sel[i]) s.index[count++] = i;
            s.count = count;

            // 3. The gate and up rows of the selected neurons, then h.
            if (count > 0) pool.forRange(count, s.gateUpBody);
            activation.gated(s.gc, s.uc, s.hc, count);

            // 4. Down projection.
            if (down != null && count >= denseCutoff) {
                float[] hFull = s.hFull;
                Arrays.fill(hFull, 0, neurons, 0f);
                for (int k = 0; k < count; k++) hFull[s.index[k]] = s.hc[k];
                pool.forRange(dim, s.denseDownBody);
                s.stats.record(layer, count, count, true, predictor.bytes(),
                        count * (rows.gate().rowBytes() + rows.up().rowBytes()) + down.rowBytes() * dim);
            } else {
                int outGranules = (dim + OUTPUT_GRANULE - 1) / OUTPUT_GRANULE;
                pool.forRange(outGranules, s.downBody);
                int nonZero = 0, upRows = 0;
                for (int k = 0; k < count; k++) {
                    if (s.hc[k] != 0f) nonZero++;
                    if (!exactZeros || !(s.gc[k] <= 0f)) upRows++;
                }
                s.stats.record(layer, count, nonZero, false, predictor.bytes(), count * rows.gate().rowBytes()
                        + upRows * rows.up().rowBytes() + nonZero * rows.downT().rowBytes());
            }
            if (s.measureRecall) measureRecall(s, x, rows, pool);
        } finally {
            s.end();
        }
    }

    // ---- phases (run on the pool's threads; arguments in the scratch) ----

    void projectRange(SparseScratch s, int from, int to) {
        predictor.project(s.x, s.z, from, to);
    }

    void selectRange(SparseScratch s, int fromGranule, int toGranule) {
        int from = fromGranule * NEURON_GRANULE, to = Math.min(toGranule * NEURON_GRANULE, neurons);
        predictor.scores(s.z, from, to, s.scores);
        float t = predictor.threshold();
        for (int i = from; i < to; i++) s.selected[i] = s.scores[i] >= t;
    }

    /**
     * The gate and up products of selected neurons {@code index[from..to)}. One call site of the dot kernel
     * for both rows on purpose: with two (or with the predictor's kernel in the same compiled method) C2 ran out
     * of inlining budget, boxed the Vector API temporaries, and allocated ~140 MB per token.
     */
    void gateUpRange(SparseScratch s, int from, int to) {
        LayerRows rows = s.rows;
        Tensor gate = rows.gate(), up = rows.up();
        int[] index = s.index;
        float[] gc = s.gc, uc = s.uc, x = s.x;
        long gateBytes = gate.rowBytes(), upBytes = up.rowBytes();
        int sink = 0;
        for (int k = from; k < to; k++) {
            int ahead = k + PREFETCH_DISTANCE;
            if (ahead < to) {
                int j = index[ahead];
                sink += touch(rows.gateSegment(j), rows.gateOffset(j), gateBytes);
                sink += touch(rows.upSegment(j), rows.upOffset(j), upBytes);
            }
            int i = index[k];
            for (int part = 0; part < 2; part++) {
                boolean isUp = part == 1;
                if (isUp && exactZeros && !(gc[k] > 0f) && !Float.isNaN(gc[k])) {
                    // A ReLU-like neuron the predictor picked but whose gate is not positive has h = 0 whatever
                    // its up value: its up row is not read (0 instead of 0 * u changes at most a zero's sign).
                    uc[k] = 0f;
                    break;
                }
                Tensor t = isUp ? up : gate;
                MemorySegment seg = isUp ? rows.upSegment(i) : rows.gateSegment(i);
                long off = isUp ? rows.upOffset(i) : rows.gateOffset(i);
                float v = t.type().dot(seg, off, x, 0, dim);
                if (isUp) uc[k] = v;
                else gc[k] = v;
            }
        }
        s.sink += sink;
    }

    /**
     * Rows this many neurons ahead are touched while the current one is computed (about 8% faster decoding on
     * TinyLlama-shape Q4_0, one thread; touching ahead in the down projection measured no gain).
     */
    static final int PREFETCH_DISTANCE = 2;

    /**
     * Reads one byte per cache line of {@code [off, off + bytes)}: the loads are independent of the work in
     * flight, so the core fetches a row that comes next while it multiplies the current one (Java has no
     * prefetch instruction; the sum is kept so the loads are not removed).
     */
    static int touch(MemorySegment seg, long off, long bytes) {
        int sum = 0;
        for (long o = 0; o < bytes; o += 64) sum += seg.get(ValueLayout.JAVA_BYTE, off + o);
        return sum;
    }

    void downRange(SparseScratch s, int fromGranule, int toGranule) {
        int from = fromGranule * OUTPUT_GRANULE, to = Math.min(toGranule * OUTPUT_GRANULE, dim);
        int len = to - from;
        float[] out = s.out;
        Arrays.fill(out, from, to, 0f);
        LayerRows rows = s.rows;
        Tensor downT = rows.downT();
        long colOffset = downT.type().rowBytes(from);
        int[] index = s.index;
        float[] hc = s.hc;
        for (int k = 0, count = s.count; k < count; k++) {
            float h = hc[k];
            if (h == 0f) continue; // exact zeros of ReLU-like activations: the row is not even read
            int i = index[k];
            downT.type().axpy(h, rows.downSegment(i), rows.downOffset(i) + colOffset, out, from, len);
        }
    }

    void denseDownRange(SparseScratch s, int from, int to) {
        MemorySegment data = down.data();
        for (int r = from; r < to; r++) s.out[r] = down.type().dot(data, down.rowOffset(r), s.hFull, 0, neurons);
    }

    private void selectTopK(SparseScratch s, int k) {
        float[] copy = s.topKScratch;
        System.arraycopy(s.scores, 0, copy, 0, neurons);
        float kth = kthSmallest(copy, neurons, neurons - k);
        // Ties at the k-th score are all taken: the set must not depend on the order of equal scores.
        for (int i = 0; i < neurons; i++) s.selected[i] = s.scores[i] >= kth;
    }

    /**
     * The value that would sit at index {@code k} of {@code a[0..n)} sorted ascending (NaN counts as largest),
     * by quickselect: expected linear time, where sorting cost a few hundred microseconds per layer and token.
     * Reorders {@code a}.
     */
    static float kthSmallest(float[] a, int n, int k) {
        int lo = 0, hi = n - 1;
        while (lo < hi) {
            float pivot = a[(lo + hi) >>> 1];
            int i = lo, j = hi;
            while (i <= j) {
                while (Float.compare(a[i], pivot) < 0) i++;
                while (Float.compare(a[j], pivot) > 0) j--;
                if (i <= j) {
                    float t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return a[k];
        }
        return a[k];
    }

    /** Compares the selection with the neurons that really fire (full gate and up products; slow). */
    private void measureRecall(SparseScratch s, float[] x, LayerRows rows, Parallel pool) {
        Tensor gate = rows.gate(), up = rows.up();
        int firing = 0, hit = 0;
        for (int i = 0; i < neurons; i++) {
            float g = gate.type().dot(gate.data(), gate.rowOffset(i), x, 0, dim);
            float u = up.type().dot(up.data(), up.rowOffset(i), x, 0, dim);
            if (PredictorTrainer.fires(activation, g, u, tau)) {
                firing++;
                if (s.selected[i]) hit++;
            }
        }
        s.stats.recordRecall(layer, firing, hit);
    }
}
