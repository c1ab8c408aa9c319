package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.tensor.Tensor;

import java.util.Arrays;

/**
 * The product with a matrix stored transposed, one row per input: {@code out[t][c] = sum_i x[t][i] * wT[i][c]}.
 * PowerInfer's files store the down projection this way ({@code ffn_down_t}, one row per neuron, what a sparse
 * step reads), so a dense step over such a file adds every neuron's row, scaled by its activation, into the
 * output.
 *
 * <p>The columns are cut into fixed steps of {@link #STEP} (a multiple of every block size, so a step starts on
 * a block of every row) that the pool's threads claim; within a step each output value is the sum over the
 * rows in order, by the type's {@link TensorType#axpy}. The steps do not depend on the thread count, so neither
 * do the results. Each row's step is read once per call and added into every token's output while it is in
 * cache. Per session (it holds the call in flight); allocates nothing.
 */
public final class TransposedProduct implements Parallel.RangeBody {

    /** Columns per step. */
    static final int STEP = 256;

    private Tensor wT;
    private float[] x;
    private int xOffset;
    private int n;
    private float[] out;
    private int outOffset;

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
        this.wT = wT;
        this.x = x;
        this.xOffset = xOffset;
        this.n = n;
        this.out = out;
        this.outOffset = outOffset;
        try {
            pool.forRange((cols + STEP - 1) / STEP, (long) rows * cols * n, this);
        } finally {
            this.wT = null;
            this.x = null;
            this.out = null;
        }
    }

    @Override
    public void run(int from, int to) {
        TensorType type = wT.type();
        int rows = wT.rows(), cols = wT.cols();
        for (int k = from; k < to; k++) {
            int c0 = k * STEP;
            int width = Math.min(STEP, cols - c0);
            long skip = type.rowBytes(c0);
            for (int t = 0; t < n; t++) {
                int o = outOffset + t * cols + c0;
                Arrays.fill(out, o, o + width, 0f);
            }
            for (int i = 0; i < rows; i++) {
                long at = wT.rowOffset(i) + skip;
                for (int t = 0; t < n; t++) {
                    type.axpy(x[xOffset + t * rows + i], wT.data(), at, out, outOffset + t * cols + c0, width);
                }
            }
        }
    }
}
