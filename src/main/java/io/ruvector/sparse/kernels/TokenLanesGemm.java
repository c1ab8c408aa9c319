package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.tensor.Tensor;

import java.util.Arrays;

/**
 * Batched product of a weight matrix with many tokens (a prompt chunk), as a float matrix-matrix product
 * blocked for the caches: weights are decoded once per batch with the type's vector decoder and multiplied
 * with every token by {@link TokenLanesTile}, tokens in vector lanes.
 *
 * <p>Blocking, per thread over its slice of rows: a panel of {@link #PANEL_ROWS} rows keeps its running sums
 * (panel rows x tokens floats) in scratch; the columns are walked in blocks of {@link #BLOCK_COLUMNS}, and
 * within a column block every 6-row tile of the panel is decoded and multiplied, so the block of packed
 * activations ({@code columns x tokens} floats) is reused from cache by the whole panel.
 *
 * <p>The activations must first be packed column-major by {@link #pack}: once per product, shared by the
 * threads. Each output is a fixed sequence of FMA chains over the columns (see {@link TokenLanesTile}),
 * so results never depend on the thread count.
 */
final class TokenLanesGemm {

    /** Rows whose running sums stay in scratch while the columns are walked; a multiple of {@link TokenLanesTile#ROWS}. */
    static final int PANEL_ROWS = 2 * TokenLanesTile.ROWS;
    /**
     * Columns decoded and multiplied per step (a multiple of every type's block and of
     * {@link TokenLanesTile#CHAIN}). Long steps read each weight row in long contiguous runs, which the
     * hardware prefetchers follow from DRAM: 256-column steps (48 rows x 272 bytes, then the next 272 of
     * each) measured 10% slower end to end, though faster with the weights in L3. The decoded tile (48 KB)
     * is then read from L2, and the packed activations of a step (512 KB at 64 tokens) from L2/L3, which
     * measured fast enough here.
     */
    static final int BLOCK_COLUMNS = 2048;

    /**
     * Per-thread scratch: decoded weights of one tile, then the panel's running sums. Made at once at the size of
     * the longest step and of a 64-token batch (50 KB): grown on a thread's first call instead, the growing branch
     * ran on the pool's fresh threads at the first real prompt but never in the code the JIT had profiled on the
     * warm-up's thread, and C2's code of {@link #rows} was thrown away there (an {@code unstable_if} trap).
     */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(
            () -> new float[][] {new float[TokenLanesTile.ROWS * BLOCK_COLUMNS], new float[PANEL_ROWS * stride(64)]});

    private TokenLanesGemm() {}

    /** Tokens per packed column for {@code n} tokens: {@code n} rounded up to whole vectors. */
    static int stride(int n) {
        int len = Simd.F.length();
        return (n + len - 1) / len * len;
    }

    /**
     * Packs {@code n} token rows of {@code cols} floats, {@code x[xOffset + t*cols + k]}, column-major into
     * {@code xt[k * stride(n) + t]}, padding each column with zeros up to the stride; columns [from, to) only.
     */
    static void pack(float[] x, int xOffset, int n, int cols, float[] xt, int from, int to) {
        int stride = stride(n);
        int k = from;
        // Eight columns per pass over the tokens: one column at a time read each token row in a different cache
        // line per element (2.0 ns per element measured at 5632 columns, 0.8 ns this way).
        for (; k + 8 <= to; k += 8) {
            int o = k * stride;
            for (int t = 0; t < n; t++) {
                int s = xOffset + t * cols + k;
                int d = o + t;
                xt[d] = x[s];
                xt[d + stride] = x[s + 1];
                xt[d + 2 * stride] = x[s + 2];
                xt[d + 3 * stride] = x[s + 3];
                xt[d + 4 * stride] = x[s + 4];
                xt[d + 5 * stride] = x[s + 5];
                xt[d + 6 * stride] = x[s + 6];
                xt[d + 7 * stride] = x[s + 7];
            }
            for (int j = 0; j < 8; j++) Arrays.fill(xt, o + j * stride + n, o + (j + 1) * stride, 0f);
        }
        for (; k < to; k++) {
            int o = k * stride;
            for (int t = 0; t < n; t++) xt[o + t] = x[xOffset + t * cols + k];
            Arrays.fill(xt, o + n, o + stride, 0f);
        }
    }

    /**
     * Rows [from, to) of {@code w} times the {@code n} packed tokens:
     * {@code out[outOffset + t*rows + r] = row r . token t}.
     */
    static void rows(Tensor w, float[] xt, int n, float[] out, int outOffset, int from, int to) {
        TensorType type = w.type();
        int cols = w.cols();
        int rows = w.rows();
        int stride = stride(n);
        int block = Math.min(cols, Math.max(type.blockSize(), BLOCK_COLUMNS / type.blockSize() * type.blockSize()));
        float[][] scratch = SCRATCH.get();
        if (scratch[0].length < TokenLanesTile.ROWS * block) scratch[0] = new float[TokenLanesTile.ROWS * block];
        if (scratch[1].length < PANEL_ROWS * stride) scratch[1] = new float[PANEL_ROWS * stride];
        float[] decoded = scratch[0];
        float[] sums = scratch[1];
        for (int p = from; p < to; p += PANEL_ROWS) {
            int panelRows = Math.min(PANEL_ROWS, to - p);
            Arrays.fill(sums, 0, panelRows * stride, 0f);
            for (int k = 0; k < cols; k += block) {
                int kc = Math.min(block, cols - k);
                long skip = type.rowBytes(k);   // k is a whole number of the type's blocks
                for (int g = 0; g < panelRows; g += TokenLanesTile.ROWS) {
                    int tileRows = Math.min(TokenLanesTile.ROWS, panelRows - g);
                    for (int i = 0; i < tileRows; i++) {
                        type.dequantizeVector(w.data(), w.rowOffset(p + g + i) + skip, decoded, i * kc, kc);
                    }
                    TokenLanesTile.multiply(decoded, kc, tileRows, xt, k * stride, stride, sums, g * stride);
                }
            }
            for (int t = 0; t < n; t++) {   // token-major, so the writes are contiguous
                int o = outOffset + t * rows + p;
                for (int i = 0; i < panelRows; i++) out[o + i] = sums[i * stride + t];
            }
        }
    }
}
