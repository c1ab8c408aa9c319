package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.tensor.Tensor;

import java.util.Arrays;

/**
 * The product with a matrix stored transposed, one row per input: {@code out[t][c] = sum_i x[t][i] * wT[i][c]}.
 * PowerInfer's files store the down projection this way ({@code ffn_down_t}, one row per neuron, what a sparse
 * step reads), so a dense step over such a file adds every neuron's row, scaled by its activation, into the
 * output.
 *
 * <p>Per vector, two parallel passes. First the rows are cut into fixed stripes of {@link #STRIPE}; each stripe,
 * whole on one thread, sums its rows' scaled copies into a partial output of its own, a whole row per
 * {@link TensorType#axpy} call (per-call overhead made 256-column pieces of rows 1.5-3x slower in a scratch
 * benchmark). Then each output value is the sum of the stripes' partials in stripe order, as the sparse layer
 * sums its stripes (there over the selected neurons only). Stripes and order are
 * fixed, so results do not depend on the thread count. Per session (it holds the call in flight and the
 * partials); allocates only when a larger matrix comes along.
 */
public final class TransposedProduct {

    /** Rows per stripe. */
    static final int STRIPE = 256;

    /** Output values per part of the second pass. */
    private static final int COLUMNS = 256;

    private final Parallel.RangeBody stripeBody = this::stripes;
    private final Parallel.RangeBody sumBody = this::sums;
    private float[] partials = new float[0];
    private Tensor wT;
    private float[] x;
    private int xAt;
    private float[] out;
    private int outAt;

    /**
     * {@code out[outOffset + t * wT.cols() + c] = sum_i x[xOffset + t * wT.rows() + i] * wT[i][c]} for the
     * {@code n} vectors {@code t}.
     */
    public void multiply(Tensor wT, float[] x, int xOffset, int n, float[] out, int outOffset, Parallel pool) {
        int rows = wT.rows(), cols = wT.cols();
        if (n < 1 || xOffset < 0 || outOffset < 0 || xOffset + (long) n * rows > x.length || outOffset + (long) n * cols > out.length) {
            throw new IllegalArgumentException("transposed product " + wT.name() + " " + rows + "x" + cols + " by " + n
                    + " vectors: x[" + x.length + "] from " + xOffset + ", out[" + out.length + "] from " + outOffset);
        }
        int stripes = (rows + STRIPE - 1) / STRIPE;
        if (partials.length < stripes * cols) partials = new float[stripes * cols];
        this.wT = wT;
        this.x = x;
        this.out = out;
        try {
            for (int t = 0; t < n; t++) {
                xAt = xOffset + t * rows;
                outAt = outOffset + t * cols;
                pool.forRange(stripes, (long) rows * cols, stripeBody);
                pool.forRange((cols + COLUMNS - 1) / COLUMNS, (long) stripes * cols, sumBody);
            }
        } finally {
            this.wT = null;
            this.x = null;
            this.out = null;
        }
    }

    /** Stripes [from, to): each stripe's partial, its rows scaled and added in order. */
    private void stripes(int from, int to) {
        TensorType type = wT.type();
        int rows = wT.rows(), cols = wT.cols();
        for (int s = from; s < to; s++) {
            int p = s * cols;
            Arrays.fill(partials, p, p + cols, 0f);
            for (int i = s * STRIPE, end = Math.min(rows, i + STRIPE); i < end; i++) {
                type.axpy(x[xAt + i], wT.data(), wT.rowOffset(i), partials, p, cols);
            }
        }
    }

    /** Output parts [from, to): the stripes' partials summed in stripe order. */
    private void sums(int from, int to) {
        int cols = wT.cols();
        int stripes = (wT.rows() + STRIPE - 1) / STRIPE;
        int c0 = from * COLUMNS, c1 = Math.min(cols, to * COLUMNS);
        System.arraycopy(partials, c0, out, outAt + c0, c1 - c0);
        for (int s = 1; s < stripes; s++) VectorMath.add(partials, s * cols + c0, out, outAt + c0, c1 - c0);
    }
}
