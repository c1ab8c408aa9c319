package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.VectorMath;

/**
 * RMS norms of the rows of a batch (one token or one sequence per row), split by rows over the model's pool, and
 * the residual add with an optional post norm. Shared by {@link Forward} (a session's tokens) and
 * {@link BatchForward} (one token of each of several sessions). The arguments of the call in flight sit in fields,
 * so a call allocates nothing; one call at a time.
 */
final class RowNorms {

    private final Parallel pool;
    private final int dim;
    private final float eps;
    private final Parallel.RangeBody body = this::rows;
    private float[] in;
    private float[] weight;
    private float[] out;

    RowNorms(Parallel pool, ModelConfig c) {
        this.pool = pool;
        this.dim = c.dim();
        this.eps = c.rmsEps();
    }

    /** {@code out[t] = rmsNorm(in[t]) * weight} for the first {@code n} rows; on one thread it idled the others ~2% of a prompt batch. */
    void normalize(float[] in, float[] weight, float[] out, int n) {
        this.in = in;
        this.weight = weight;
        this.out = out;
        try {
            pool.forRange(n, (long) n * dim, body);
        } finally {
            this.in = null;
            this.weight = null;
            this.out = null;
        }
    }

    /**
     * {@code x += delta} over {@code n} rows, {@code delta} RMS-normalized first (into {@code scratch}) when the
     * block has a post norm (gemma).
     */
    void addToResidual(float[] delta, float[] postNorm, float[] scratch, float[] x, int n) {
        if (postNorm == null) {
            VectorMath.add(delta, 0, x, 0, n * dim);
        } else {
            normalize(delta, postNorm, scratch, n);
            VectorMath.add(scratch, 0, x, 0, n * dim);
        }
    }

    private void rows(int from, int to) {
        for (int t = from; t < to; t++) VectorMath.rmsNorm(in, t * dim, weight, eps, out, t * dim, dim);
    }
}
