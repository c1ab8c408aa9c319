package io.ruvector.sparse.kernels;

import io.ruvector.sparse.quant.Int8DotProduct;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products of a weight matrix with one or several activation vectors, parallel over output rows, without
 * allocating: one instance per session (it is not thread-safe), reused for every product.
 *
 * <p>For one vector each row is consumed in place by the type's fused dot kernel. For several vectors each
 * weight row is decoded once into a per-thread buffer and multiplied with every vector, so the weights are
 * read once per batch instead of once per token. Each output element is computed whole by one thread, so
 * results never depend on the thread count.
 */
public final class MatMul {

    /**
     * Products smaller than this many multiply-adds run on the calling thread alone: handing them to the
     * pool would cost more than it saves. (Which thread computes a row never changes its value.)
     */
    public static final long MIN_PARALLEL_WORK = 1 << 16;

    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    private final Parallel pool;
    private final Parallel.RangeBody body = this::rows;

    // The products in flight (up to 3 matrices sharing one input), written before pool.forRange, which
    // publishes them to the workers. Job j owns rows [start[j], start[j] + w[j].rows()) of the combined range.
    private final Tensor[] ws = new Tensor[3];
    private final float[][] outs = new float[3][];
    private final int[] starts = new int[3];
    private final float[][] inputs = new float[3][];   // job j's activations: x, or x rounded like ggml
    private final int[] inputOffsets = new int[3];
    private int jobs;
    private int n;
    private int outOffset;

    private final ActivationRounding rounding;
    private final boolean[] int8Job = new boolean[3];   // job j multiplies integer codes with the rounding's q8

    /** Products with float activations: the exact product of the stored weights with {@code x}. */
    public MatMul(Parallel pool) { this(pool, false); }

    /**
     * @param ggmlActivations when true, activations are rounded the way ggml-cpu rounds them before a
     *                        product (its {@code vec_dot_type}): Q8_0/Q8_1 blocks multiplied in integers for
     *                        the Q4_0..Q8_0 family, Q8_K blocks for K-quants, F16 or BF16 for those weights.
     *                        Results come close to llama.cpp's. When false activations stay float32 (exact).
     */
    public MatMul(Parallel pool, boolean ggmlActivations) {
        this.pool = pool;
        this.rounding = new ActivationRounding(ggmlActivations);
    }

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
        this.jobs = jobs;
        this.n = n;
        int total = 0;
        long work = 0;
        rounding.reset();
        for (int j = 0; j < jobs; j++) {
            Tensor w = ws[j];
            if (w.cols() != ws[0].cols()) throw new IllegalArgumentException(w.name() + " and " + ws[0].name() + " differ in width");
            starts[j] = total;
            total += w.rows();
            work += (long) w.rows() * w.cols() * n;
            int8Job[j] = rounding.prepare(w, x, xOffset, n * w.cols());
            inputs[j] = rounding.input();
            inputOffsets[j] = rounding.inputOffset();
        }
        try {
            if (work < MIN_PARALLEL_WORK) body.run(0, total);
            else pool.forRange(total, body);
        } finally {
            for (int j = 0; j < 3; j++) {
                ws[j] = null;
                outs[j] = null;
                inputs[j] = null;
            }
        }
    }

    /** Rows [from, to) of the combined range: each job's share, by the single or the batched kernel. */
    private void rows(int from, int to) {
        for (int j = 0; j < jobs; j++) {
            int lo = Math.max(from, starts[j]) - starts[j];
            int hi = Math.min(to, starts[j] + ws[j].rows()) - starts[j];
            if (lo >= hi) continue;
            if (int8Job[j]) int8Rows(ws[j], outs[j], lo, hi);
            else if (n == 1) singleRows(ws[j], inputs[j], inputOffsets[j], outs[j], lo, hi);
            else batchedRows(ws[j], inputs[j], inputOffsets[j], outs[j], lo, hi);
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

    private void singleRows(Tensor w, float[] x, int xo, float[] out, int from, int to) {
        int oo = outOffset;
        for (int r = from; r < to; r++) {
            out[oo + r] = w.type().dot(w.data(), w.rowOffset(r), x, xo, w.cols());
        }
    }

    /**
     * Rows decoded 4 at a time, then multiplied with 2 tokens at a time: 6 vector loads feed 8 FMAs. Every
     * output is computed with the same arithmetic (one accumulator over whole vectors, a fixed-order lane sum,
     * then the scalar tail) whether it falls in a full tile or at an edge, so the grouping of rows into tiles
     * (which depends on the slice a thread gets) never changes a result.
     */
    private void batchedRows(Tensor w, float[] x, int xOffset, float[] out, int from, int to) {
        int cols = w.cols();
        int rows = w.rows();
        float[] buf = ROW.get();
        int lanesAt = TILE_ROWS * cols;   // after the decoded rows: room for 8 accumulators' lanes
        if (buf.length < lanesAt + 8 * F.length()) {
            buf = new float[lanesAt + 8 * F.length()];
            ROW.set(buf);
        }
        for (int r = from; r < to; r += TILE_ROWS) {
            int tileRows = Math.min(TILE_ROWS, to - r);
            for (int k = 0; k < tileRows; k++) w.dequantizeRow(r + k, buf, k * cols);
            int t = 0;
            if (tileRows == TILE_ROWS) {
                for (; t + 2 <= n; t += 2) tile4x2(buf, cols, x, xOffset, t, r, rows, out, lanesAt);
            }
            for (; t < n; t++) {
                int xo = xOffset + t * cols;
                for (int k = 0; k < tileRows; k++) out[outOffset + t * rows + r + k] = dot1(buf, k * cols, x, xo, cols, lanesAt);
            }
        }
    }

    private static final int TILE_ROWS = 4;
    private static final VectorSpecies<Float> F = Simd.F;

    /** The reference arithmetic of one batched output; {@code buf[lanesAt ..]} is scratch for the lane sum. */
    private static float dot1(float[] a, int ao, float[] b, int bo, int n, int lanesAt) {
        int len = F.length();
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - len; i <= upper; i += len) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        }
        acc.intoArray(a, lanesAt);
        return tail(sumLanes(a, lanesAt), a, ao, b, bo, i, n);
    }

    /**
     * Rows r..r+3 (decoded in buf) times tokens t, t+1: eight {@link #dot1}s sharing their loads. The
     * accumulators are summed through {@code buf[lanesAt ..]} by {@link #sumLanes}, not by a vector method
     * call: this method is too large for C2 to inline one, and a call would box all eight vectors.
     */
    private void tile4x2(float[] buf, int cols, float[] x, int xOffset, int t, int r, int rows, float[] out, int lanesAt) {
        int len = F.length();
        int x0 = xOffset + t * cols;
        int x1 = x0 + cols;
        int w1 = cols;
        int w2 = 2 * cols;
        int w3 = 3 * cols;
        FloatVector a00 = FloatVector.zero(F), a10 = a00, a20 = a00, a30 = a00;
        FloatVector a01 = a00, a11 = a00, a21 = a00, a31 = a00;
        int i = 0;
        for (int upper = cols - len; i <= upper; i += len) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + i);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + i);
            FloatVector r0 = FloatVector.fromArray(F, buf, i);
            FloatVector r1 = FloatVector.fromArray(F, buf, w1 + i);
            FloatVector r2 = FloatVector.fromArray(F, buf, w2 + i);
            FloatVector r3 = FloatVector.fromArray(F, buf, w3 + i);
            a00 = r0.fma(v0, a00);
            a10 = r1.fma(v0, a10);
            a20 = r2.fma(v0, a20);
            a30 = r3.fma(v0, a30);
            a01 = r0.fma(v1, a01);
            a11 = r1.fma(v1, a11);
            a21 = r2.fma(v1, a21);
            a31 = r3.fma(v1, a31);
        }
        a00.intoArray(buf, lanesAt);
        a10.intoArray(buf, lanesAt + len);
        a20.intoArray(buf, lanesAt + 2 * len);
        a30.intoArray(buf, lanesAt + 3 * len);
        a01.intoArray(buf, lanesAt + 4 * len);
        a11.intoArray(buf, lanesAt + 5 * len);
        a21.intoArray(buf, lanesAt + 6 * len);
        a31.intoArray(buf, lanesAt + 7 * len);
        int o0 = outOffset + t * rows + r;
        int o1 = o0 + rows;
        out[o0] = tail(sumLanes(buf, lanesAt), buf, 0, x, x0, i, cols);
        out[o0 + 1] = tail(sumLanes(buf, lanesAt + len), buf, w1, x, x0, i, cols);
        out[o0 + 2] = tail(sumLanes(buf, lanesAt + 2 * len), buf, w2, x, x0, i, cols);
        out[o0 + 3] = tail(sumLanes(buf, lanesAt + 3 * len), buf, w3, x, x0, i, cols);
        out[o1] = tail(sumLanes(buf, lanesAt + 4 * len), buf, 0, x, x1, i, cols);
        out[o1 + 1] = tail(sumLanes(buf, lanesAt + 5 * len), buf, w1, x, x1, i, cols);
        out[o1 + 2] = tail(sumLanes(buf, lanesAt + 6 * len), buf, w2, x, x1, i, cols);
        out[o1 + 3] = tail(sumLanes(buf, lanesAt + 7 * len), buf, w3, x, x1, i, cols);
    }

    /** Sum of one accumulator's lanes stored at {@code lanes[at ..]}, in the fixed tree order of {@link VectorMath#sum}. */
    private static float sumLanes(float[] lanes, int at) {
        for (int half = F.length() >> 1; half > 0; half >>= 1) {
            for (int i = 0; i < half; i++) lanes[at + i] += lanes[at + i + half];
        }
        return lanes[at];
    }

    private static float tail(float sum, float[] a, int ao, float[] b, int bo, int from, int n) {
        for (int i = from; i < n; i++) sum += a[ao + i] * b[bo + i];
        return sum;
    }
}
