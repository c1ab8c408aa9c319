package io.ruvector.sparse.quant;

import java.lang.foreign.MemorySegment;

/**
 * A K-quant type whose rows, in the file's own layout, multiply a Q8_K activation ({@link Q8KActivation}) in
 * integers, one row at a time: ggml-cpu's {@code vec_dot_qX_K_q8_K}. For the sparse feed-forward block, which
 * reads scattered gate and up rows where the dense product reads the matrix's interleaved copy
 * ({@link InterleavedKQuant}).
 *
 * <p>The arithmetic is the interleaved kernels' own, in the same order (integer sub-block sums times integer
 * scales, minus integer mins times the activation's sums of 16, then per super-block in ascending order
 * {@code acc = acc + sumi * (d * dx)} and, with mins, {@code acc = acc - summ * (dmin * dx)}), so a row's
 * result equals the interleaved product's for that row bit for bit, at every vector width.
 */
public interface Q8KDotProduct {

    /** Vector kernel: row {@code [offset, ...)} of {@code n} values (whole super-blocks) times {@code x[0, n)}. */
    float dotQ8K(MemorySegment src, long offset, Q8KActivation x, int n);

    /** Scalar twin of {@link #dotQ8K}: the same integers and float steps, one value at a time. */
    float dotQ8KScalar(MemorySegment src, long offset, Q8KActivation x, int n);
}
