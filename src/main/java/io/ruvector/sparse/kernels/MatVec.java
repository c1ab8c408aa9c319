package io.ruvector.sparse.kernels;

import io.ruvector.sparse.tensor.Tensor;

/** Matrix-vector products over tensors of any type, parallel over output rows. */
public final class MatVec {

    private MatVec() {}

    /** {@code out[r] = row r of w . x} for every row of {@code w}. */
    public static void matvec(Tensor w, float[] x, float[] out, Parallel pool) {
        if (x.length < w.cols() || out.length < w.rows()) {
            throw new IllegalArgumentException("matvec " + w.name() + " " + w.rows() + "x" + w.cols()
                    + " with x[" + x.length + "] into out[" + out.length + "]");
        }
        pool.forRange(w.rows(), (from, to) -> {
            for (int r = from; r < to; r++) out[r] = w.dotRow(r, x);
        });
    }
}
