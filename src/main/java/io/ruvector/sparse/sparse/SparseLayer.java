package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.kernels.ActivationRounding;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.kernels.MatMul;
import io.ruvector.sparse.memory.LayerRows;
import io.ruvector.sparse.quant.Int8DotProduct;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.quant.Q8KDotProduct;
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
 *   then, per stripe of 256 neurons, whole on one thread (threads claim stripes one by one):
 *     S    = { i : score_i(z) >= threshold }   (or the top K, from all scores computed first)
 *     g_i, u_i, h_i = gate_i . x, up_i . x, act.gated(g_i, u_i)    for i in S
 *     part = sum over i in S, ascending, of h_i * down_t[i]
 *   out    = sum of the stripes' parts, in stripe order
 * </pre>
 *
 * <p>With gate selection ({@link GateMagnitudePredictor}, training-free, for SiLU/GeLU models) {@code z} is the
 * exact gate product of every neuron, computed by the dense block's own product; the selected neurons' {@code g_i}
 * are then read from it, and only their up and down rows are fetched.
 *
 * <p>Results never depend on the thread count: a stripe is computed whole by whichever thread claims it, with
 * kernels whose per-element work does not depend on where a range starts (stripes are multiples of the vector
 * width and of every block size), and the parts are added in a fixed order. When every neuron is selected (or
 * more than {@code denseAbove} of them) and the model's {@code ffn_down} is at hand, the down projection is the
 * model's own dense product of the same {@code h}, so the result is bit-identical to the dense feed-forward
 * block; for that the gate and up products take the activation as the dense products do
 * ({@link ActivationRounding}: float32, or int8 blocks with {@code ActivationPrecision.INT8}).
 *
 * <p>Selected rows are scattered over memory, so fetching them costs DRAM latency, not streaming bandwidth. A
 * stripe therefore first touches every row it is about to read (one byte per cache line, see {@link #touchRows}),
 * so that their fetches overlap, and only then multiplies them.
 *
 * <p>Immutable and shared by sessions; per-session state lives in {@link SparseScratch}.
 */
public final class SparseLayer {

    /** Neurons per scheduling granule (a multiple of every predictor block size and vector width). */
    static final int NEURON_GRANULE = 64;
    /**
     * Neurons per stripe, the unit of the fused pass (a multiple of {@link #NEURON_GRANULE}): one thread takes a
     * stripe whole and sums its down rows into the stripe's own partial output; the partials are then added in
     * stripe order. Fixed, so results do not depend on the thread count; small enough that threads claiming
     * stripes one by one end together.
     */
    static final int STRIPE_NEURONS = 256;
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
        forward(x, out, rows, topK, s, pool, null);
    }

    /**
     * As {@link #forward(float[], float[], LayerRows, int, SparseScratch, Parallel)}; when the predictor scores
     * the exact gate ({@link NeuronPredictor#gateMatrix()}) and {@code dense} is given, the gate product is
     * {@code dense}'s own (the dense block's kernel, copies and rounding: the same bits as the dense block).
     */
    public void forward(float[] x, float[] out, LayerRows rows, int topK, SparseScratch s, Parallel pool, MatMul dense) {
        if (rows.neurons() != neurons || rows.gate().cols() != dim || rows.downT().cols() != dim) {
            throw new IllegalArgumentException("layer " + layer + ": rows do not match the predictor's shape");
        }
        s.begin(this, x, out, rows);
        try {
            // 1. Predictor projection (with gate selection: the whole gate product, kept for step 3).
            int hidden = predictor.hiddenDim();
            Tensor gateMatrix = predictor.gateMatrix();
            s.gateKnown = gateMatrix != null;
            if (gateMatrix != null && dense != null) dense.multiply(gateMatrix, x, s.z);
            else if ((long) hidden * dim >= PARALLEL_PROJECT_WORK) pool.forRange(hidden, s.projectBody);
            else predictor.project(x, s.z, 0, hidden);

            // 2. The cut on the scores: the calibrated threshold, or the K-th best score (all scores first).
            if (topK > 0) {
                pool.forRange((neurons + NEURON_GRANULE - 1) / NEURON_GRANULE, s.scoreBody);
                s.cut = kthScore(s, Math.min(topK, neurons));
                s.scored = true;
            } else {
                s.cut = predictor.threshold();
                s.scored = false;
            }

            // 3. One pass per stripe: scores, selection, gate and up rows, h, and the stripe's partial down sum.
            s.prepareInput(x, dim, down);
            int stripes = stripes();
            s.startStripes(stripes);
            pool.forRange(Math.min(pool.threads(), stripes), s.stripeBody);

            // 4. The down projection: the model's own when (nearly) every neuron is selected (the stripes' partials,
            //    made before the count was known, are then dropped: a rare case, e.g. density 1), else the partials.
            int count = 0, nonZero = 0, upRows = 0;
            for (int st = 0; st < stripes; st++) {
                count += s.stripeSelected[st];
                nonZero += s.stripeNonZero[st];
                upRows += s.stripeUpRows[st];
            }
            boolean denseDown = down != null && count >= denseCutoff;
            long gateRowBytes = s.gateKnown ? 0 : rows.gate().rowBytes();   // known gates were counted as the predictor's
            if (denseDown) {
                float[] hFull = s.hFull;
                Arrays.fill(hFull, 0, neurons, 0f);
                for (int st = 0; st < stripes; st++) {
                    for (int k = st * STRIPE_NEURONS, end = k + s.stripeSelected[st]; k < end; k++) hFull[s.index[k]] = s.hc[k];
                }
                if (dense != null && s.rounding.usesQ8K(down, 1)) {
                    // The dense block multiplies Q8_K codes of h with down's interleaved copy: its own product.
                    dense.multiply(down, hFull, s.out);
                } else {
                    s.prepareHidden(down, neurons);
                    pool.forRange(dim, s.denseDownBody);
                }
                s.stats.record(layer, count, count, true, predictor.bytes(),
                        count * (gateRowBytes + rows.up().rowBytes()) + down.rowBytes() * dim);
            } else {
                sumStripes(s, stripes);
                s.stats.record(layer, count, nonZero, false, predictor.bytes(), count * gateRowBytes
                        + upRows * rows.up().rowBytes() + nonZero * rows.downT().rowBytes());
            }
            // The selected neurons listed in ascending order from index[0].
            for (int st = 0, at = 0; st < stripes; st++) {
                int from = st * STRIPE_NEURONS, n = s.stripeSelected[st];
                if (at != from) System.arraycopy(s.index, from, s.index, at, n);
                at += n;
            }
            s.count = count;
            if (s.measureRecall) measureRecall(s, x, rows, pool);
        } finally {
            s.end();
        }
    }

    /** Number of stripes of this layer. */
    int stripes() { return (neurons + STRIPE_NEURONS - 1) / STRIPE_NEURONS; }

    // ---- phases (run on the pool's threads; arguments in the scratch) ----

    void projectRange(SparseScratch s, int from, int to) {
        predictor.project(s.x, s.z, from, to);
    }

    void scoreRange(SparseScratch s, int fromGranule, int toGranule) {
        int from = fromGranule * NEURON_GRANULE, to = Math.min(toGranule * NEURON_GRANULE, neurons);
        predictor.scores(s.z, from, to, s.scores);
    }

    /**
     * Stripe {@code st}, whole, on one thread: its neurons' scores (unless already computed), the selected ones
     * listed from {@code index[from]} on, their gate and up products and h, then the sum of their down rows into
     * the stripe's own partial output.
     */
    void stripe(SparseScratch s, int st) {
        int from = st * STRIPE_NEURONS, to = Math.min(from + STRIPE_NEURONS, neurons);
        if (!s.scored) predictor.scores(s.z, from, to, s.scores);
        float cut = s.cut;
        float[] scores = s.scores;
        boolean[] selected = s.selected;
        int[] index = s.index;
        int end = from;
        for (int i = from; i < to; i++) {
            boolean on = scores[i] >= cut;
            selected[i] = on;
            if (on) index[end++] = i;
        }
        s.stripeSelected[st] = end - from;
        s.stripeUpRows[st] = gateUp(s, from, end);
        // The dense down product multiplies int8 codes of h when activations are int8 for its type: sum the
        // down rows with the same rounded h, so sparse decoding tracks dense instead of a more exact variant.
        if (s.hiddenRoundedToQ8) Q8Activation.roundSparse(index, s.hc, from, end);
        // Not so for a K-quant down (Q8_K codes of 256 h values): rounding the selected h to Q8_K blocks made
        // greedy decoding of a Q4_K_M model leave dense's tokens after 27 of 64 (64 of 64 without).
        s.stripeNonZero[st] = downRows(s, st, from, end);
    }

    /**
     * The gate products, then the up products, then h, of selected neurons {@code index[from..to)}; returns how
     * many up rows it read. Each pass first touches all the rows it will read. One call site per dot kernel for
     * both matrices on purpose: with two (or with the predictor's kernel in the same compiled method) C2 ran out
     * of inlining budget, boxed the Vector API temporaries, and allocated ~140 MB per token.
     */
    int gateUp(SparseScratch s, int from, int to) {
        LayerRows rows = s.rows;
        int[] index = s.index;
        float[] gc = s.gc, uc = s.uc, hc = s.hc;
        int sink = 0, upRows = 0;
        if (s.gateKnown) {
            // The gate product was computed whole before the selection: its selected values, no row read again.
            float[] z = s.z;
            for (int k = from; k < to; k++) gc[k] = z[index[k]];
        }
        for (int part = s.gateKnown ? 1 : 0; part < 2; part++) {
            boolean isUp = part == 1;
            Tensor t = isUp ? rows.up() : rows.gate();
            long rowBytes = t.rowBytes();
            MemorySegment[] rowSeg = s.rowSegment;
            long[] rowOff = s.rowOffset;
            int listed = from;
            for (int k = from; k < to; k++) {
                if (isUp && skipsUp(gc[k])) continue;
                int i = index[k];
                rowSeg[listed] = isUp ? rows.upSegment(i) : rows.gateSegment(i);
                rowOff[listed++] = isUp ? rows.upOffset(i) : rows.gateOffset(i);
            }
            sink += touchRows(rowSeg, rowOff, from, listed, rowBytes);
            boolean int8 = isUp ? s.upInt8 : s.gateInt8;
            boolean q8k = isUp ? s.upQ8K : s.gateQ8K;
            float[] in = isUp ? s.upInput : s.gateInput;
            int inOffset = isUp ? s.upInputOffset : s.gateInputOffset;
            for (int k = from; k < to; k++) {
                if (isUp && skipsUp(gc[k])) {
                    uc[k] = 0f;
                    continue;
                }
                int i = index[k];
                MemorySegment seg = isUp ? rows.upSegment(i) : rows.gateSegment(i);
                long off = isUp ? rows.upOffset(i) : rows.gateOffset(i);
                float v = q8k ? ((Q8KDotProduct) t.type()).dotQ8K(seg, off, s.q8k, dim)
                        : int8 ? ((Int8DotProduct) t.type()).dotQ8(seg, off, s.rounding.q8(), 0, dim)
                        : t.type().dot(seg, off, in, inOffset, dim);
                if (isUp) {
                    uc[k] = v;
                    upRows++;
                } else {
                    gc[k] = v;
                }
            }
        }
        activation.gated(gc, uc, hc, from, to);
        s.sink += sink;
        return upRows;
    }

    /**
     * A ReLU-like neuron the predictor picked but whose gate is not positive has h = 0 whatever its up value:
     * its up row is not read (0 instead of 0 * u changes at most a zero's sign).
     */
    private boolean skipsUp(float g) {
        return exactZeros && !(g > 0f) && !Float.isNaN(g);
    }

    /**
     * Stripe {@code st}'s partial output: the sum, in neuron order, of {@code h * down_t} over selected neurons
     * {@code index[from..to)}, after touching those rows. Exact zeros of h are skipped (their rows are not even
     * read). Returns how many rows it added (0: the partial was not written).
     */
    int downRows(SparseScratch s, int st, int from, int to) {
        LayerRows rows = s.rows;
        Tensor downT = rows.downT();
        int[] index = s.index;
        float[] hc = s.hc, partial = s.partial;
        long rowBytes = downT.rowBytes();
        MemorySegment[] rowSeg = s.rowSegment;
        long[] rowOff = s.rowOffset;
        int listed = from;
        for (int k = from; k < to; k++) {
            if (hc[k] == 0f) continue;
            int i = index[k];
            rowSeg[listed] = rows.downSegment(i);
            rowOff[listed++] = rows.downOffset(i);
        }
        s.sink += touchRows(rowSeg, rowOff, from, listed, rowBytes);
        int po = st * dim;
        int added = 0;
        for (int k = from; k < to; k++) {
            float h = hc[k];
            if (h == 0f) continue;
            if (added++ == 0) Arrays.fill(partial, po, po + dim, 0f);
            int i = index[k];
            downT.type().axpy(h, rows.downSegment(i), rows.downOffset(i), partial, po, dim);
        }
        return added;
    }

    /**
     * Reads one byte per cache line of rows {@code [off[k], off[k] + bytes)} of {@code seg[k]}, k in
     * {@code [from, to)}, eight rows at a time line by line. A stripe touches all the rows of a pass before
     * computing any, so the core has many independent fetches in flight instead of waiting for each row in turn
     * (Java has no prefetch instruction; the sum is returned so the loads are not removed). Measured on
     * TinyLlama-shape Q4_0 rows (1152 bytes, scattered over a mapped file): one row after another ~220 ns per
     * row, eight interleaved ~130 ns; touching one line in two was faster to touch but slower overall.
     */
    static int touchRows(MemorySegment[] seg, long[] off, int from, int to, long bytes) {
        int sum = 0;
        int k = from;
        for (; k + 8 <= to; k += 8) {
            MemorySegment s0 = seg[k], s1 = seg[k + 1], s2 = seg[k + 2], s3 = seg[k + 3];
            MemorySegment s4 = seg[k + 4], s5 = seg[k + 5], s6 = seg[k + 6], s7 = seg[k + 7];
            long o0 = off[k], o1 = off[k + 1], o2 = off[k + 2], o3 = off[k + 3];
            long o4 = off[k + 4], o5 = off[k + 5], o6 = off[k + 6], o7 = off[k + 7];
            for (long o = 0; o < bytes; o += 64) {
                sum += s0.get(ValueLayout.JAVA_BYTE, o0 + o) + s1.get(ValueLayout.JAVA_BYTE, o1 + o)
                        + s2.get(ValueLayout.JAVA_BYTE, o2 + o) + s3.get(ValueLayout.JAVA_BYTE, o3 + o)
                        + s4.get(ValueLayout.JAVA_BYTE, o4 + o) + s5.get(ValueLayout.JAVA_BYTE, o5 + o)
                        + s6.get(ValueLayout.JAVA_BYTE, o6 + o) + s7.get(ValueLayout.JAVA_BYTE, o7 + o);
            }
        }
        for (; k + 2 <= to; k += 2) {
            MemorySegment s0 = seg[k], s1 = seg[k + 1];
            long o0 = off[k], o1 = off[k + 1];
            for (long o = 0; o < bytes; o += 64) sum += s0.get(ValueLayout.JAVA_BYTE, o0 + o) + s1.get(ValueLayout.JAVA_BYTE, o1 + o);
        }
        if (k < to) {
            MemorySegment s0 = seg[k];
            long o0 = off[k];
            for (long o = 0; o < bytes; o += 64) sum += s0.get(ValueLayout.JAVA_BYTE, o0 + o);
        }
        return sum;
    }

    /** {@code out} = the stripes' partial outputs summed in stripe order (each element the same order). */
    private void sumStripes(SparseScratch s, int stripes) {
        float[] out = s.out, partial = s.partial;
        boolean first = true;
        for (int st = 0; st < stripes; st++) {
            if (s.stripeNonZero[st] == 0) continue;
            if (first) System.arraycopy(partial, st * dim, out, 0, dim);
            else VectorMath.add(partial, st * dim, out, 0, dim);
            first = false;
        }
        if (first) Arrays.fill(out, 0, dim, 0f);
    }

    /** Rows of the model's down projection times h, with h prepared as the dense product prepares it. */
    void denseDownRange(SparseScratch s, int from, int to) {
        MemorySegment data = down.data();
        if (s.hiddenInt8) {
            Int8DotProduct int8 = (Int8DotProduct) down.type();
            for (int r = from; r < to; r++) s.out[r] = int8.dotQ8(data, down.rowOffset(r), s.rounding.q8(), 0, neurons);
        } else {
            float[] h = s.hiddenInput;
            int ho = s.hiddenInputOffset;
            for (int r = from; r < to; r++) s.out[r] = down.type().dot(data, down.rowOffset(r), h, ho, neurons);
        }
    }

    /** The K-th highest score: neurons scoring at least this are the top K (ties at it all taken, so the set does not depend on the order of equal scores). */
    private float kthScore(SparseScratch s, int k) {
        float[] copy = s.topKScratch;
        System.arraycopy(s.scores, 0, copy, 0, neurons);
        return kthSmallest(copy, neurons, neurons - k);
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
