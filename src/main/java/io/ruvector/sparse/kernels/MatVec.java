package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.quant.Int8DotProduct;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * Matrix-vector products over tensors of any type, parallel over output rows, with float activations
 * (exact) or with activations quantized to int8 blocks ({@link Q8Activation}) as ggml-cpu does, for types that
 * implement {@link Int8DotProduct}; types without an int8 kernel always use the float path. The int8 path
 * matches llama.cpp's arithmetic (~1e-2 relative per dot product); it is faster only for some types
 * ({@link Int8DotProduct#preferredForSingleVectors()}). (Batched products for prompts: {@link MatMul}.)
 *
 * <p>Every output element is one whole dot product computed by one thread, so results are identical for
 * any thread count. Nothing is allocated per call once a thread has made its first call.
 */
public final class MatVec {

    /** Per calling thread: the reusable job handed to the pool. */
    private static final ThreadLocal<Job> JOBS = ThreadLocal.withInitial(Job::new);

    private MatVec() {}

    /** {@code out[r] = row r of w . x} for every row of {@code w}, with float activations. */
    public static void matvec(Tensor w, float[] x, float[] out, Parallel pool) {
        matvec(w, x, null, out, pool);
    }

    /**
     * {@code out[r] = row r of w . x}. When {@code xq} is not null it must hold {@code x[0..cols)} quantized
     * ({@link Q8Activation#quantize}); it is used when the weight type has an int8 kernel, else {@code x} is.
     * Quantize once and pass the same activation to every matrix that multiplies it (q, k, v; gate, up).
     */
    public static void matvec(Tensor w, float[] x, Q8Activation xq, float[] out, Parallel pool) {
        checkShapes(w, x, out);
        Int8DotProduct int8 = xq != null && w.type() instanceof Int8DotProduct k ? k : null;
        if (int8 != null && xq.length() < w.cols()) {
            throw new IllegalArgumentException("matvec " + w.name() + ": the int8 activation holds " + xq.length()
                    + " values, needs " + w.cols());
        }
        Job job = JOBS.get();
        job.set(w, x, int8, xq, out);
        try {
            pool.forRange(w.rows(), job);
        } finally {
            job.clear();
        }
    }

    private static void checkShapes(Tensor w, float[] x, float[] out) {
        if (x.length < w.cols() || out.length < w.rows()) {
            throw new IllegalArgumentException("matvec " + w.name() + " " + w.rows() + "x" + w.cols()
                    + " with x[" + x.length + "] into out[" + out.length + "]");
        }
    }

    /** One product's arguments, reused by its thread for every call so dispatch allocates nothing. */
    private static final class Job implements Parallel.RangeBody {
        private TensorType type;
        private Int8DotProduct int8;
        private MemorySegment data;
        private long rowBytes;
        private int cols;
        private float[] x;
        private Q8Activation xq;
        private float[] out;

        void set(Tensor w, float[] x, Int8DotProduct int8, Q8Activation xq, float[] out) {
            this.type = w.type();
            this.int8 = int8;
            this.data = w.data();
            this.rowBytes = w.rowBytes();
            this.cols = w.cols();
            this.x = x;
            this.xq = xq;
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

        @Override
        public void run(int from, int to) {
            if (int8 != null) {
                for (int r = from; r < to; r++) out[r] = int8.dotQ8(data, r * rowBytes, xq, 0, cols);
            } else {
                for (int r = from; r < to; r++) out[r] = type.dot(data, r * rowBytes, x, 0, cols);
            }
        }
    }
}
