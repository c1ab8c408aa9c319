package io.ruvector.sparse.kernels;

import io.ruvector.sparse.tensor.Tensor;

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
    private final Parallel.RangeBody single = this::singleRows;
    private final Parallel.RangeBody batched = this::batchedRows;

    // Operands of the product in flight; written before pool.forRange, which publishes them to the workers.
    private Tensor w;
    private float[] x;
    private int xOffset;
    private int n;
    private float[] out;
    private int outOffset;

    public MatMul(Parallel pool) { this.pool = pool; }

    public Parallel pool() { return pool; }

    /**
     * For each of {@code n} vectors {@code t}: {@code out[outOffset + t*rows + r] = row r of w . x[xOffset + t*cols ..]},
     * with {@code rows, cols} those of {@code w}.
     */
    public void multiply(Tensor w, float[] x, int xOffset, int n, float[] out, int outOffset) {
        long needX = xOffset + (long) n * w.cols();
        long needOut = outOffset + (long) n * w.rows();
        if (n < 1 || xOffset < 0 || outOffset < 0 || needX > x.length || needOut > out.length) {
            throw new IllegalArgumentException("multiply " + w.name() + " " + w.rows() + "x" + w.cols() + " by " + n
                    + " vectors: x[" + x.length + "] from " + xOffset + ", out[" + out.length + "] from " + outOffset);
        }
        this.w = w;
        this.x = x;
        this.xOffset = xOffset;
        this.n = n;
        this.out = out;
        this.outOffset = outOffset;
        try {
            Parallel.RangeBody body = n == 1 ? single : batched;
            if ((long) w.rows() * w.cols() * n < MIN_PARALLEL_WORK) body.run(0, w.rows());
            else pool.forRange(w.rows(), body);
        } finally {
            this.w = null;
            this.x = null;
            this.out = null;
        }
    }

    /** {@code out[r] = row r of w . x} for one vector. */
    public void multiply(Tensor w, float[] x, float[] out) { multiply(w, x, 0, 1, out, 0); }

    private void singleRows(int from, int to) {
        Tensor w = this.w;
        float[] x = this.x;
        float[] out = this.out;
        int xo = xOffset;
        int oo = outOffset;
        for (int r = from; r < to; r++) {
            out[oo + r] = w.type().dot(w.data(), w.rowOffset(r), x, xo, w.cols());
        }
    }

    private void batchedRows(int from, int to) {
        Tensor w = this.w;
        float[] x = this.x;
        float[] out = this.out;
        int cols = w.cols();
        int rows = w.rows();
        float[] row = ROW.get();
        if (row.length < cols) {
            row = new float[cols];
            ROW.set(row);
        }
        for (int r = from; r < to; r++) {
            w.dequantizeRow(r, row, 0);
            for (int t = 0; t < n; t++) {
                out[outOffset + t * rows + r] = VectorMath.dot(row, x, xOffset + t * cols, cols);
            }
        }
    }
}
