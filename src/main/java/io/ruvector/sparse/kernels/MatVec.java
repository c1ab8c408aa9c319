package io.ruvector.sparse.kernels;

import io.ruvector.sparse.quant.Int8DotProduct;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * Matrix-vector and matrix-matrix products over tensors of any type, parallel over output rows.
 *
 * <p>Every output element is one whole dot product computed by one thread, so results are identical for
 * any thread count. Nothing is allocated per call once a thread has made its first call.
 *
 * <p>Two activation precisions ({@link ActivationPrecision}): float activations (exact), or activations
 * quantized to int8 blocks ({@link Q8Activation}) for types that implement {@link Int8DotProduct}; types
 * without an int8 kernel always use the float path.
 */
public final class MatVec {

    /** Per calling thread: the reusable job handed to the pool and the int8 scratch of the convenience call. */
    private static final ThreadLocal<Job> JOBS = ThreadLocal.withInitial(Job::new);

    private MatVec() {}

    /** {@code out[r] = row r of w . x} for every row of {@code w}, with float activations. */
    public static void matvec(Tensor w, float[] x, float[] out, Parallel pool) {
        matvec(w, x, null, out, pool);
    }

    /**
     * {@code out[r] = row r of w . x}, with {@code x} quantized to int8 blocks when {@code precision} is
     * {@link ActivationPrecision#INT8} and the weight type has an int8 kernel. Quantizes {@code x} on each call;
     * to share one quantization among several matrices (q, k, v), use {@link #matvec(Tensor, float[],
     * Q8Activation, float[], Parallel)}.
     */
    public static void matvec(Tensor w, float[] x, float[] out, Parallel pool, ActivationPrecision precision) {
        Q8Activation xq = null;
        if (precision == ActivationPrecision.INT8 && w.type() instanceof Int8DotProduct) {
            checkShapes(w, x, 1, out);
            xq = JOBS.get().scratch(w.cols());
            xq.quantize(x, 0, w.cols());
        }
        matvec(w, x, xq, out, pool);
    }

    /**
     * {@code out[r] = row r of w . x}. When {@code xq} is not null it must hold {@code x[0..cols)} quantized
     * ({@link Q8Activation#quantize}); it is used when the weight type has an int8 kernel, else {@code x} is.
     */
    public static void matvec(Tensor w, float[] x, Q8Activation xq, float[] out, Parallel pool) {
        matmul(w, x, xq, 1, out, pool);
    }

    /**
     * Batched product for prompt processing: {@code out[t*rows + r] = row r of w . xs[t*cols .. (t+1)*cols)} for
     * {@code t < nTokens}, float activations. Each weight row is read from memory once for all tokens: rows are
     * decoded four at a time into a per-thread float scratch (in cache) and multiplied with four tokens at a time,
     * so decoding is shared by the batch and each loaded vector feeds four multiply-adds. Results agree with {@link #matvec} to float rounding (another
     * summation order), and are identical for any thread count.
     */
    public static void matmul(Tensor w, float[] xs, int nTokens, float[] out, Parallel pool) {
        matmul(w, xs, null, nTokens, out, pool);
    }

    /**
     * Batched product as {@link #matmul(Tensor, float[], int, float[], Parallel)}; when {@code xsq} is not null it
     * must hold all {@code nTokens * cols} values of {@code xs} quantized, and is used for types with an int8
     * kernel (one int8 dot product per row and token, like {@link #matvec}).
     */
    public static void matmul(Tensor w, float[] xs, Q8Activation xsq, int nTokens, float[] out, Parallel pool) {
        checkShapes(w, xs, nTokens, out);
        if (xsq != null && xsq.length() < nTokens * w.cols()) {
            throw new IllegalArgumentException("matmul " + w.name() + ": the int8 activation holds " + xsq.length()
                    + " values, needs " + nTokens + " x " + w.cols());
        }
        Job job = JOBS.get();
        job.set(w, xs, w.type() instanceof Int8DotProduct ? xsq : null, nTokens, out);
        try {
            pool.forRange(w.rows(), job);
        } finally {
            job.clear();
        }
    }

    private static void checkShapes(Tensor w, float[] xs, int nTokens, float[] out) {
        if (nTokens < 1 || (long) nTokens * w.cols() > xs.length || (long) nTokens * w.rows() > out.length) {
            throw new IllegalArgumentException("product " + w.name() + " " + w.rows() + "x" + w.cols() + " with "
                    + nTokens + " token(s) of x[" + xs.length + "] into out[" + out.length + "]");
        }
    }

    /** One product's arguments, reused by its thread for every call so dispatch allocates nothing. */
    private static final class Job implements Parallel.RangeBody {
        private TensorType type;
        private Int8DotProduct int8;
        private MemorySegment data;
        private long rowBytes;
        private int rows;
        private int cols;
        private float[] x;
        private Q8Activation xq;
        private int tokens;
        private float[] out;
        private Q8Activation scratch;

        void set(Tensor w, float[] x, Q8Activation xq, int tokens, float[] out) {
            this.type = w.type();
            this.int8 = xq != null ? (Int8DotProduct) w.type() : null;
            this.data = w.data();
            this.rowBytes = w.rowBytes();
            this.rows = w.rows();
            this.cols = w.cols();
            this.x = x;
            this.xq = xq;
            this.tokens = tokens;
            this.out = out;
        }

        void clear() {
            type = null;
            int8 = null;
            data = null;
            x = null;
            xq = null;
            out = null;
        }

        Q8Activation scratch(int n) {
            if (scratch == null || scratch.capacity() < n) scratch = new Q8Activation(n);
            return scratch;
        }

        @Override
        public void run(int from, int to) {
            if (int8 != null) {
                for (int r = from; r < to; r++) {
                    long off = r * rowBytes;
                    for (int t = 0; t < tokens; t++) out[t * rows + r] = int8.dotQ8(data, off, xq, t * cols, cols);
                }
            } else if (tokens == 1) {
                for (int r = from; r < to; r++) out[r] = type.dot(data, r * rowBytes, x, 0, cols);
            } else {
                float[] tile = ROWS.get();
                if (tile.length < TILE_ROWS * cols) {
                    tile = new float[TILE_ROWS * cols];
                    ROWS.set(tile);
                }
                for (int r = from; r < to; r += TILE_ROWS) {
                    int nRows = Math.min(TILE_ROWS, to - r);
                    java.util.Arrays.fill(tile, 0, nRows * cols, 0f);
                    for (int k = 0; k < nRows; k++) type.axpy(1f, data, (r + k) * rowBytes, tile, k * cols, cols);
                    RowDots.dots(tile, nRows, cols, x, tokens, out, rows, r);
                }
            }
        }
    }

    /** Rows decoded at a time by {@link #matmul}: a 4 x 4 (rows x tokens) register tile. */
    private static final int TILE_ROWS = 4;

    /** Per worker thread: the decoded weight rows of {@link #matmul} (the pool's threads are persistent). */
    private static final ThreadLocal<float[]> ROWS = ThreadLocal.withInitial(() -> new float[0]);
}
