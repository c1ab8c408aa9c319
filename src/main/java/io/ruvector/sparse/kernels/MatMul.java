package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.quant.Int8DotProduct;
import io.ruvector.sparse.quant.InterleavedKQuant;
import io.ruvector.sparse.quant.InterleavedKQuantColumns;
import io.ruvector.sparse.quant.InterleavedQ4_0;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.quant.Q8KActivation;
import io.ruvector.sparse.tensor.Tensor;

import java.util.Arrays;

/**
 * Products of a weight matrix with one or several activation vectors, parallel over output rows, without
 * allocating: one instance per session (it is not thread-safe), reused for every product.
 *
 * <p>For one vector each row is consumed in place by the type's fused dot kernel, or, for Q4_0 with
 * {@link RepackedWeights}, 32 rows at a time from an interleaved copy ({@link InterleavedQ4_0}). For several
 * vectors each weight row is decoded once into a per-thread buffer and multiplied with every vector, so the
 * weights are read once per batch instead of once per token: cache-blocked matrix-matrix products,
 * {@link TokenLanesGemm} for prompt-sized batches (in 16-bit integers for Q4_0 with int8 activations,
 * {@link Q4_0TokenLanesGemm}, and for Q2_K, Q3_K and Q4_K with Q8_K activations, {@link KQuantTokenLanesGemm}), {@link ColumnLanesGemm} for a few tokens. Each output element is computed whole
 * by one thread, so results never depend on the thread count.
 */
public final class MatMul {

    private final Parallel pool;
    private final Parallel.RangeBody body = this::rows;
    // Single vectors (decoding) take their own body and method: C2 compiles the decode path without the batch
    // kernels' call sites and branch profiles, which a prompt run first would otherwise have put in it.
    private final Parallel.RangeBody singleBody = this::singleVectorRows;

    // The products in flight (up to 3 matrices sharing one input), written before pool.forRange, which
    // publishes them to the workers. Job j owns rows [start[j], start[j] + w[j].rows()) of the combined range.
    private final Tensor[] ws = new Tensor[3];
    private final float[][] outs = new float[3][];
    private final int[] starts = new int[3];
    private final float[][] inputs = new float[3][];   // job j's activations: x, or x rounded like ggml
    private final int[] inputOffsets = new int[3];
    private final float[][] packed = new float[3][];      // job j's activations packed for TokenLanesGemm, or null
    private final float[][] packBuffers = {new float[0], new float[0], new float[0]};
    private int packs;                                    // bit j: job j's input is packed into its own buffer
    private final Parallel.RangeBody packBody = this::packColumns;
    private int jobs;
    private int n;
    private int outOffset;

    private final ActivationRounding rounding;
    private final boolean[] int8Job = new boolean[3];   // job j multiplies integer codes with the rounding's q8
    private final RepackedWeights repacked;             // or null: every product reads the file's layout
    private final InterleavedQ4_0[] interleaved = new InterleavedQ4_0[3];  // job j's repacked matrix, or null
    private final InterleavedKQuant[] interleavedK = new InterleavedKQuant[3];  // job j's repacked K-quant, or null
    private Q8KActivation q8k;                          // the Q8_K codes those jobs multiply
    private final boolean[] q4Lanes = new boolean[3];   // job j is a batch through Q4_0TokenLanesGemm
    private short[] laneCodes = new short[0];           // the int8 activation in token lanes, for those jobs
    private float[] laneScales = new float[0];
    private final Parallel.RangeBody laneBody = this::packLanes;
    private final boolean[] kLanes = new boolean[3];    // job j is a batch through KQuantTokenLanesGemm
    private Q8KActivation kBatch;                       // those jobs' Q8_K activation, then in token lanes:
    private short[] kCodes = new short[0];
    private float[] kScales = new float[0];
    private int[] kSums = new int[0];
    private int[] kPairSums = new int[0];
    private final Parallel.RangeBody kLaneBody = this::packKLanes;

    // Each column alone (eachColumnAlone): column t's activations rounded as a single vector's would be, here.
    private final boolean alone;
    private final Parallel.RangeBody aloneBody = this::aloneRows;
    private final int[] aloneKind = new int[3];
    // Q8K_COLUMNS: a Q8K job whose copy InterleavedKQuantColumns multiplies with every column at once.
    private static final int FLOAT = 0, INT8 = 1, Q8K = 2, Q8K_COLUMNS = 3;
    private Q8Activation[] aloneQ8 = new Q8Activation[0];
    private float[][] aloneCodes = new float[0][];      // aloneQ8[t]'s codes as floats, for Int8DotProduct.dotQ8Columns
    private Q8KActivation[] aloneQ8K = new Q8KActivation[0];
    private int[][] aloneQ8KPairs = new int[0][];      // aloneQ8K[t]'s codes in pairs, for InterleavedKQuantColumns

    /** Products with float activations: the exact product of the stored weights with {@code x}. */
    public MatMul(Parallel pool) { this(pool, false, false); }

    /** {@link #MatMul(Parallel, boolean, boolean)} without int8 products of its own choosing. */
    public MatMul(Parallel pool, boolean ggmlActivations) { this(pool, ggmlActivations, false); }

    /**
     * @param ggmlActivations when true, activations are rounded the way ggml-cpu rounds them before a
     *                        product (its {@code vec_dot_type}): Q8_0/Q8_1 blocks multiplied in integers for
     *                        the Q4_0..Q8_0 family, Q8_K blocks for K-quants, F16 or BF16 for those weights.
     *                        Results come close to llama.cpp's. When false activations stay float32 (exact),
     *                        except as {@code auto} says.
     * @param auto          when true (and {@code ggmlActivations} false), products whose int8 kernel is the
     *                        faster one quantize the activations to Q8_0 blocks and multiply in integers: single
     *                        vectors with a type that {@link Int8DotProduct#preferredForSingleVectors() prefers} it,
     *                        batches of Q4_0 ({@link Q4_0TokenLanesGemm}); batches of Q2_K, Q3_K and Q4_K
     *                        multiply Q8_K codes ({@link KQuantTokenLanesGemm}); see {@link #usesInt8}
     */
    public MatMul(Parallel pool, boolean ggmlActivations, boolean auto) {
        this(pool, ggmlActivations, auto, null);
    }

    /**
     * @param repacked where single-vector int8 products with Q4_0 matrices find (or make) the matrices'
     *                 interleaved copies ({@link InterleavedQ4_0}); null to read every matrix in the file's
     *                 layout. With a non-null {@code repacked}, {@code auto} covers single vectors with Q4_0 too.
     */
    public MatMul(Parallel pool, boolean ggmlActivations, boolean auto, RepackedWeights repacked) {
        this(pool, new ActivationRounding(ggmlActivations, auto, repacked != null), repacked);
    }

    /**
     * @param rounding how activations are rounded (this instance's own: it holds the rounded vectors); its
     *                 {@code interleavedQ4_0} should be true exactly when {@code repacked} is not null
     * @param repacked as in {@link #MatMul(Parallel, boolean, boolean, RepackedWeights)}
     */
    public MatMul(Parallel pool, ActivationRounding rounding, RepackedWeights repacked) {
        this(pool, rounding, repacked, false);
    }

    private MatMul(Parallel pool, ActivationRounding rounding, RepackedWeights repacked, boolean alone) {
        this.pool = pool;
        this.repacked = repacked;
        this.rounding = rounding;
        this.alone = alone;
    }

    /**
     * A product for several independent sequences at once (one token of each, as in batched decoding): every
     * column is computed with exactly the arithmetic of a product with that vector alone ({@code n = 1}: the same
     * activation rounding, kernel and summation order, so the same bits), while each weight row or interleaved
     * group is read from memory once for all columns and reused from cache. Same pool, rounding policy and
     * repacked weights as this one; buffers of its own.
     */
    public MatMul eachColumnAlone() { return new MatMul(pool, rounding.withSamePolicy(), repacked, true); }

    /** Whether this product computes each column as a single-vector product ({@link #eachColumnAlone()}). */
    public boolean computesEachColumnAlone() { return alone; }

    /**
     * Whether a product of {@code w} with {@code n} vectors multiplies int8-quantized activations
     * ({@link Q8Activation#quantize}, then {@link Int8DotProduct#dotQ8}) rather than float ones
     * ({@link ActivationRounding#usesInt8}).
     */
    public boolean usesInt8(Tensor w, int n) { return rounding.usesInt8(w, n); }

    /** How this product rounds activations (the session's own policy; see {@link ActivationRounding#withSamePolicy}). */
    public ActivationRounding rounding() { return rounding; }

    public Parallel pool() { return pool; }

    /**
     * For each of {@code n} vectors {@code t}: {@code out[outOffset + t*rows + r] = row r of w . x[xOffset + t*cols ..]},
     * with {@code rows, cols} those of {@code w}.
     */
    public void multiply(Tensor w, float[] x, int xOffset, int n, float[] out, int outOffset) {
        check(w, x, xOffset, n, out, outOffset);
        this.outOffset = outOffset;
        ws[0] = w;
        outs[0] = out;
        run(1, x, xOffset, n);
    }

    /** {@code out[r] = row r of w . x} for one vector. */
    public void multiply(Tensor w, float[] x, float[] out) { multiply(w, x, 0, 1, out, 0); }

    /**
     * Three products of the same {@code n} input vectors ({@code x[t*cols ..]}) in one parallel pass, e.g. the
     * query, key and value projections: one hand-over to the pool instead of three. {@code c} may be null.
     */
    public void multiply(Tensor a, float[] outA, Tensor b, float[] outB, Tensor c, float[] outC, float[] x, int n) {
        check(a, x, 0, n, outA, 0);
        check(b, x, 0, n, outB, 0);
        if (c != null) check(c, x, 0, n, outC, 0);
        this.outOffset = 0;
        ws[0] = a;
        outs[0] = outA;
        ws[1] = b;
        outs[1] = outB;
        ws[2] = c;
        outs[2] = outC;
        run(c == null ? 2 : 3, x, 0, n);
    }

    private static void check(Tensor w, float[] x, int xOffset, int n, float[] out, int outOffset) {
        long needX = xOffset + (long) n * w.cols();
        long needOut = outOffset + (long) n * w.rows();
        if (n < 1 || xOffset < 0 || outOffset < 0 || needX > x.length || needOut > out.length) {
            throw new IllegalArgumentException("multiply " + w.name() + " " + w.rows() + "x" + w.cols() + " by " + n
                    + " vectors: x[" + x.length + "] from " + xOffset + ", out[" + out.length + "] from " + outOffset);
        }
    }

    private void run(int jobs, float[] x, int xOffset, int n) {
        if (alone && n > 1) {
            runAlone(jobs, x, xOffset, n);
            return;
        }
        this.jobs = jobs;
        this.n = n;
        int total = 0;
        long work = 0;
        rounding.reset();
        packs = 0;
        boolean lanes = false;
        boolean kl = false;
        for (int j = 0; j < jobs; j++) {
            Tensor w = ws[j];
            if (w.cols() != ws[0].cols()) throw new IllegalArgumentException(w.name() + " and " + ws[0].name() + " differ in width");
            starts[j] = total;
            total += w.rows();
            work += (long) w.rows() * w.cols() * n;
            interleavedK[j] = repacked != null && rounding.usesQ8K(w, n) ? repacked.interleavedK(w, pool) : null;
            kLanes[j] = rounding.usesQ8KBatch(w, n);
            if (kLanes[j]) {
                kBatch = rounding.prepareQ8K(x, xOffset, n * w.cols(), pool);
                kl = true;
            }
            if (interleavedK[j] != null || kLanes[j]) {
                if (interleavedK[j] != null) q8k = rounding.prepareQ8K(x, xOffset, w.cols());
                int8Job[j] = false;
                interleaved[j] = null;
                q4Lanes[j] = false;
                inputs[j] = x;
                inputOffsets[j] = xOffset;
                packed[j] = null;
                continue;
            }
            int8Job[j] = rounding.prepare(w, x, xOffset, n * w.cols(), pool);
            interleaved[j] = int8Job[j] && n == 1 && repacked != null ? repacked.interleavedQ4_0(w, pool) : null;
            q4Lanes[j] = int8Job[j] && !rounding.ggml() && n >= Q4_0TokenLanesGemm.MIN_BATCH && w.ggmlType() == GgmlType.Q4_0;
            lanes |= q4Lanes[j];
            inputs[j] = rounding.input();
            inputOffsets[j] = rounding.inputOffset();
            packed[j] = !int8Job[j] && fillsTokenLanes(n) ? packBuffer(j, n, w.cols()) : null;
        }
        try {
            if (lanes) {   // one token-lanes copy of the int8 activation, shared by the jobs that use it
                int stride = Q4_0TokenLanesGemm.stride(n);
                int cols = ws[0].cols();
                if (laneCodes.length < cols * stride) {
                    laneCodes = new short[cols * stride];
                    laneScales = new float[cols / Q8Activation.BLOCK * stride];
                }
                pool.forRange(cols / Q8Activation.BLOCK, work, laneBody);
            }
            if (kl) {   // likewise for the Q8_K activation of K-quant batches
                int stride = KQuantTokenLanesGemm.stride(n);
                int cols = ws[0].cols();
                if (kCodes.length < cols * stride) {
                    kCodes = new short[cols * stride];
                    kScales = new float[cols / Q8KActivation.BLOCK * stride];
                    kSums = new int[cols / Q8KActivation.RUN * stride];
                    kPairSums = new int[cols / (2 * Q8KActivation.RUN) * stride];
                }
                pool.forRange(cols / Q8KActivation.BLOCK, work, kLaneBody);
            }
            if (packs != 0) {
                // A plain copy, but on one thread it would leave the others idle for ~2% of the product.
                pool.forRange(ws[0].cols(), work, packBody);
            }
            pool.forRange(total, work, n == 1 ? singleBody : body);
            if (repacked != null && n > 1) {
                for (int j = 0; j < jobs; j++) repacked.afterFileLayoutRead(ws[j]);
            }
        } finally {
            for (int j = 0; j < 3; j++) {
                ws[j] = null;
                outs[j] = null;
                inputs[j] = null;
                packed[j] = null;
                interleaved[j] = null;
                interleavedK[j] = null;
                kLanes[j] = false;
            }
            kBatch = null;
        }
    }

    /** Rows [from, to) of the combined range for one vector: each job's share, by a single-vector kernel. */
    private void singleVectorRows(int from, int to) {
        for (int j = 0; j < jobs; j++) {
            int lo = Math.max(from, starts[j]) - starts[j];
            int hi = Math.min(to, starts[j] + ws[j].rows()) - starts[j];
            if (lo >= hi) continue;
            if (interleavedK[j] != null) interleavedKRows(interleavedK[j], outs[j], lo, hi);
            else if (interleaved[j] != null) interleavedRows(ws[j], interleaved[j], outs[j], lo, hi);
            else if (int8Job[j]) int8Rows(ws[j], outs[j], lo, hi);
            else singleRows(ws[j], inputs[j], inputOffsets[j], outs[j], lo, hi);
        }
    }

    /** Rows [from, to) of the combined range for a batch: each job's share, by the single or the batched kernel. */
    private void rows(int from, int to) {
        for (int j = 0; j < jobs; j++) {
            int lo = Math.max(from, starts[j]) - starts[j];
            int hi = Math.min(to, starts[j] + ws[j].rows()) - starts[j];
            if (lo >= hi) continue;
            if (interleavedK[j] != null) interleavedKRows(interleavedK[j], outs[j], lo, hi);
            else if (kLanes[j]) KQuantTokenLanesGemm.rows(ws[j], kCodes, kScales, kSums, kPairSums, n, outs[j], outOffset, lo, hi);
            else if (interleaved[j] != null) interleavedRows(ws[j], interleaved[j], outs[j], lo, hi);
            else if (q4Lanes[j]) Q4_0TokenLanesGemm.rows(ws[j], laneCodes, laneScales, n, outs[j], outOffset, lo, hi);
            else if (int8Job[j]) int8Rows(ws[j], outs[j], lo, hi);
            else if (n == 1) singleRows(ws[j], inputs[j], inputOffsets[j], outs[j], lo, hi);
            else if (packed[j] != null) TokenLanesGemm.rows(ws[j], packed[j], n, outs[j], outOffset, lo, hi);
            else ColumnLanesGemm.rows(ws[j], inputs[j], inputOffsets[j], n, outs[j], outOffset, lo, hi);
        }
    }

    /**
     * Whether {@code n} tokens go to {@link TokenLanesGemm}, which puts tokens in vector lanes: from half a
     * vector of tokens on. Below that most lanes would be padding, and {@link ColumnLanesGemm} does less work.
     */
    private static boolean fillsTokenLanes(int n) { return 2 * n >= Simd.F.length(); }

    /** The buffer job j's input is packed into: an earlier job's when they share the input. */
    private float[] packBuffer(int j, int n, int cols) {
        for (int i = 0; i < j; i++) {
            if (packed[i] != null && inputs[i] == inputs[j] && inputOffsets[i] == inputOffsets[j]) return packed[i];
        }
        int size = TokenLanesGemm.stride(n) * cols;
        if (packBuffers[j].length < size) packBuffers[j] = new float[size];
        packs |= 1 << j;
        return packBuffers[j];
    }

    /** Blocks [from, to) of the int8 activation, into token lanes for {@link Q4_0TokenLanesGemm}. */
    private void packLanes(int from, int to) {
        int b = Q8Activation.BLOCK;
        rounding.q8().packTokenLanes(n, ws[0].cols(), Q4_0TokenLanesGemm.stride(n), Q4_0TokenLanesGemm.PAIRING,
                laneCodes, laneScales, from * b, to * b);
    }

    /** Super-blocks [from, to) of the Q8_K activation, into token lanes for {@link KQuantTokenLanesGemm}. */
    private void packKLanes(int from, int to) {
        int b = Q8KActivation.BLOCK;
        kBatch.packTokenLanes(n, ws[0].cols(), KQuantTokenLanesGemm.stride(n), KQuantTokenLanesGemm.PAIRING,
                kCodes, kScales, kSums, kPairSums, from * b, to * b);
    }

    /** Columns [from, to) of every input that {@link #packBuffer} gave its own buffer. */
    private void packColumns(int from, int to) {
        int cols = ws[0].cols();
        for (int j = 0; j < jobs; j++) {
            if ((packs & 1 << j) != 0) TokenLanesGemm.pack(inputs[j], inputOffsets[j], n, cols, packed[j], from, to);
        }
    }

    /** Integer products with the quantized activations, as ggml-cpu's {@code vec_dot} with Q8_0/Q8_1. */
    private void int8Rows(Tensor w, float[] out, int from, int to) {
        Int8DotProduct int8 = (Int8DotProduct) w.type();
        Q8Activation q8 = rounding.q8();
        int cols = w.cols();
        int rows = w.rows();
        for (int r = from; r < to; r++) {
            long offset = w.rowOffset(r);
            for (int t = 0; t < n; t++) out[outOffset + t * rows + r] = int8.dotQ8(w.data(), offset, q8, t * cols, cols);
        }
    }

    /**
     * Rows [from, to) from the interleaved copy: a group of 32 rows is computed whole by the thread whose range
     * holds its first row (so every row is still written once, by one thread); rows past the last whole group
     * by the per-row kernel.
     */
    private void interleavedRows(Tensor w, InterleavedQ4_0 m, float[] out, int from, int to) {
        int g = InterleavedQ4_0.GROUP;
        int firstGroup = (from + g - 1) / g;
        int endGroup = Math.min(m.groups(), (to + g - 1) / g);
        if (firstGroup < endGroup) m.dotQ8(rounding.q8(), out, outOffset, firstGroup, endGroup);
        int tail = Math.max(from, m.groups() * g);
        if (tail < to) int8Rows(w, out, tail, to);
    }

    /**
     * Rows [from, to) from a K-quant interleaved copy: a group of 32 rows (the last possibly partial) is
     * computed whole by the thread whose range holds its first row.
     */
    private void interleavedKRows(InterleavedKQuant m, float[] out, int from, int to) {
        int g = InterleavedKQuant.GROUP;
        int firstGroup = (from + g - 1) / g;
        int endGroup = Math.min(m.groups(), (to + g - 1) / g);
        if (firstGroup < endGroup) m.dotQ8K(q8k, out, outOffset, firstGroup, endGroup);
    }

    private void singleRows(Tensor w, float[] x, int xo, float[] out, int from, int to) {
        int oo = outOffset;
        for (int r = from; r < to; r++) {
            out[oo + r] = w.type().dot(w.data(), w.rowOffset(r), x, xo, w.cols());
        }
    }

    /**
     * {@link #run} with each of the n columns rounded and multiplied as a single vector would be: the choices of
     * the {@code n == 1} path (Q8_K codes for an interleaved K-quant, int8 codes for an int8 type, from the
     * interleaved Q4_0 copy where there is one, else the float vector or its ggml rounding), each column's codes
     * made from that column alone.
     */
    private void runAlone(int jobs, float[] x, int xOffset, int n) {
        this.jobs = jobs;
        this.n = n;
        int total = 0;
        long work = 0;
        int cols = ws[0].cols();
        boolean q8Done = false;
        boolean q8kDone = false;
        boolean pairsDone = false;
        boolean codesDone = false;
        rounding.reset();
        for (int j = 0; j < jobs; j++) {
            Tensor w = ws[j];
            if (w.cols() != cols) throw new IllegalArgumentException(w.name() + " and " + ws[0].name() + " differ in width");
            starts[j] = total;
            total += w.rows();
            work += (long) w.rows() * cols * n;
            interleavedK[j] = repacked != null && rounding.usesQ8K(w, 1) ? repacked.interleavedK(w, pool) : null;
            interleaved[j] = null;
            inputs[j] = x;
            inputOffsets[j] = xOffset;
            if (interleavedK[j] != null) {
                boolean columns = n >= InterleavedKQuantColumns.MIN_COLUMNS && InterleavedKQuantColumns.supports(w.ggmlType());
                aloneKind[j] = columns ? Q8K_COLUMNS : Q8K;
                if (!q8kDone) {
                    if (aloneQ8K.length < n) aloneQ8K = Arrays.copyOf(aloneQ8K, n);
                    for (int t = 0; t < n; t++) {
                        if (aloneQ8K[t] == null || aloneQ8K[t].capacity() < cols) aloneQ8K[t] = new Q8KActivation(cols);
                        aloneQ8K[t].quantize(x, xOffset + t * cols, cols);
                    }
                    q8kDone = true;
                }
                if (columns && !pairsDone) {   // the multi-column kernels broadcast each column's codes two at a time
                    if (aloneQ8KPairs.length < n) aloneQ8KPairs = Arrays.copyOf(aloneQ8KPairs, n);
                    for (int t = 0; t < n; t++) {
                        if (aloneQ8KPairs[t] == null || aloneQ8KPairs[t].length < cols / 2) aloneQ8KPairs[t] = new int[cols / 2];
                        InterleavedKQuantColumns.pairCodes(aloneQ8K[t], cols, aloneQ8KPairs[t]);
                    }
                    pairsDone = true;
                }
            } else if (rounding.usesInt8(w, 1)) {
                aloneKind[j] = INT8;
                interleaved[j] = repacked != null ? repacked.interleavedQ4_0(w, pool) : null;
                if (!q8Done) {
                    if (aloneQ8.length < n) {
                        aloneQ8 = Arrays.copyOf(aloneQ8, n);
                        aloneCodes = Arrays.copyOf(aloneCodes, n);
                    }
                    for (int t = 0; t < n; t++) {
                        if (aloneQ8[t] == null || aloneQ8[t].capacity() < cols) {
                            aloneQ8[t] = new Q8Activation(cols);
                            aloneCodes[t] = new float[cols];
                        }
                        aloneQ8[t].quantize(x, xOffset + t * cols, cols);
                    }
                    q8Done = true;
                }
                if (interleaved[j] == null && !codesDone) {   // only the file-layout kernels take float codes
                    for (int t = 0; t < n; t++) aloneQ8[t].codesTo(aloneCodes[t], 0);
                    codesDone = true;
                }
            } else {
                aloneKind[j] = FLOAT;
                // ggml roundings of float products (F16, BF16, Q8_K round trips) are elementwise or per block
                // within a column, so rounding all columns at once rounds each as alone
                if (rounding.ggml() && !rounding.prepare(w, x, xOffset, n * cols)) {
                    inputs[j] = rounding.input();
                    inputOffsets[j] = rounding.inputOffset();
                }
            }
        }
        try {
            pool.forRange(total, work, aloneBody);
        } finally {
            for (int j = 0; j < 3; j++) {
                ws[j] = null;
                outs[j] = null;
                inputs[j] = null;
                interleaved[j] = null;
                interleavedK[j] = null;
            }
        }
    }

    /**
     * Rows [from, to) of the combined range, each column as alone. An interleaved group is computed whole by the
     * thread whose range holds its first row, for every column in turn while its weights are in cache.
     */
    private void aloneRows(int from, int to) {
        for (int j = 0; j < jobs; j++) {
            int lo = Math.max(from, starts[j]) - starts[j];
            int hi = Math.min(to, starts[j] + ws[j].rows()) - starts[j];
            if (lo >= hi) continue;
            // One method per kind, as rows() dispatches: one method holding every kernel grew past C2's inlining
            // budget and left vector helpers out of line (boxing their vectors: megabytes per step).
            if (aloneKind[j] == Q8K_COLUMNS) aloneQ8KColumns(interleavedK[j], ws[j].rows(), outs[j], lo, hi);
            else if (aloneKind[j] == Q8K) aloneQ8KRows(interleavedK[j], ws[j].rows(), outs[j], lo, hi);
            else if (aloneKind[j] == INT8) aloneInt8Rows(ws[j], interleaved[j], outs[j], lo, hi);
            else aloneFloatRows(ws[j], inputs[j], inputOffsets[j], outs[j], lo, hi);
        }
    }

    /** Groups of a K-quant copy multiplied with every column before the next ones: ~150 KB of Q4_K weights, L2-resident. */
    static final int ALONE_K_GROUPS = 8;

    private void aloneQ8KRows(InterleavedKQuant m, int rows, float[] out, int lo, int hi) {
        int g = InterleavedKQuant.GROUP;
        int endGroup = Math.min(m.groups(), (hi + g - 1) / g);
        for (int group = (lo + g - 1) / g; group < endGroup; group += ALONE_K_GROUPS) {
            int to = Math.min(endGroup, group + ALONE_K_GROUPS);
            for (int t = 0; t < n; t++) m.dotQ8K(aloneQ8K[t], out, outOffset + t * rows, group, to);
        }
    }

    /**
     * Groups of a Q4_K or Q6_K copy times every column at once ({@link InterleavedKQuantColumns}: each group's
     * codes unpacked once for all columns, each column the bits of its {@code dotQ8K} alone).
     */
    private void aloneQ8KColumns(InterleavedKQuant m, int rows, float[] out, int lo, int hi) {
        int g = InterleavedKQuant.GROUP;
        int endGroup = Math.min(m.groups(), (hi + g - 1) / g);
        int from = (lo + g - 1) / g;
        if (from < endGroup) InterleavedKQuantColumns.dotQ8KColumns(m, aloneQ8K, aloneQ8KPairs, n, out, outOffset, rows, from, endGroup);
    }

    private void aloneInt8Rows(Tensor w, InterleavedQ4_0 m, float[] out, int lo, int hi) {
        int rows = w.rows();
        int cols = w.cols();
        int tail = lo;
        if (m != null) {
            int g = InterleavedQ4_0.GROUP;
            int endGroup = Math.min(m.groups(), (hi + g - 1) / g);
            for (int group = (lo + g - 1) / g; group < endGroup; group++) {
                for (int t = 0; t < n; t++) m.dotQ8(aloneQ8[t], out, outOffset + t * rows, group, group + 1);
            }
            tail = Math.max(lo, m.groups() * g);
        }
        Int8DotProduct int8 = (Int8DotProduct) w.type();
        for (int r = tail; r < hi; r++) int8.dotQ8Columns(w.data(), w.rowOffset(r), aloneQ8, aloneCodes, n, cols, out, outOffset + r, rows);
    }

    private void aloneFloatRows(Tensor w, float[] in, int io, float[] out, int lo, int hi) {
        int rows = w.rows();
        int cols = w.cols();
        for (int r = lo; r < hi; r++) {
            long offset = w.rowOffset(r);
            for (int t = 0; t < n; t++) out[outOffset + t * rows + r] = w.type().dot(w.data(), offset, in, io + t * cols, cols);
        }
    }
}
