package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.quant.QuantTestData;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batched products (both GEMM layouts) of quantized matrices: close to float64 over the decoded weights, and
 * bitwise the same for any thread count, whatever tile, panel, column step or edge an output falls in. Runs
 * at the default width and at 128/256/512 bits, which changes which layout a batch size takes.
 */
class GemmKernelTest {

    private static final int[] THREADS = {1, 2, 3};
    private static Parallel[] pools;

    @BeforeAll
    static void pools() {
        pools = new Parallel[THREADS.length];
        for (int i = 0; i < THREADS.length; i++) pools[i] = new Parallel(THREADS[i]);
    }

    @AfterAll
    static void close() {
        for (Parallel p : pools) p.close();
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void batchedProductsMatchFloat64AndNeverDependOnThreadCount(GgmlType g) {
        TensorType t = TensorTypes.of(g);
        Random rnd = new Random(g.id());
        int block = Math.max(32, t.blockSize());
        // Past one 2048-column step (TokenLanesGemm) and one 1024-column step (ColumnLanesGemm), and short rows.
        int[] widths = {block, 2048 + block, 3 * block + (t.blockSize() == 1 ? 5 : 0)};
        int[] batches = {2, 3, 5, 8, 17, 64, 71};
        try (Arena arena = Arena.ofShared()) {
            for (int cols : widths) {
                int rows = 1 + rnd.nextInt(40);
                long rowBytes = t.rowBytes(cols);
                MemorySegment data = arena.allocate(rowBytes * rows);
                for (int r = 0; r < rows; r++) t.quantize(QuantTestData.values(rnd, cols), 0, data, r * rowBytes, cols);
                Tensor w = new Tensor("w", t, rows, cols, data);
                float[] decoded = w.toFloatArray();
                for (int n : batches) {
                    float[] x = new float[5 + n * cols];   // offset 5: the kernels must honour offsets
                    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                    float[] first = null;
                    for (Parallel pool : pools) {
                        float[] out = new float[3 + n * rows + 1];
                        out[out.length - 1] = 42f;
                        new MatMul(pool).multiply(w, x, 5, n, out, 3);
                        assertEquals(42f, out[out.length - 1], "wrote past the outputs");
                        String where = g + " " + rows + "x" + cols + " n=" + n + " threads=" + pool.threads() + " bits=" + Simd.bits();
                        if (first == null) {
                            first = out;
                            checkAgainstFloat64(decoded, x, out, rows, cols, n, where);
                        } else {
                            for (int i = 0; i < out.length; i++) {
                                assertEquals(Float.floatToRawIntBits(first[i]), Float.floatToRawIntBits(out[i]), where + " index " + i);
                            }
                        }
                    }
                }
            }
        }
    }

    private static void checkAgainstFloat64(float[] w, float[] x, float[] out, int rows, int cols, int n, String where) {
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                double exact = 0;
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    double p = (double) w[r * cols + c] * x[5 + t * cols + c];
                    exact += p;
                    magnitude += Math.abs(p);
                }
                double tol = 1e-6 * (8 + Math.sqrt(cols)) * magnitude + 1e-30;
                float got = out[3 + t * rows + r];
                assertTrue(Math.abs(got - exact) <= tol, where + " row " + r + " token " + t + ": " + got + " vs " + exact);
            }
        }
    }

    @Test
    void packingPutsTokensInLanesColumnByColumnForAnyColumnRange() {
        for (int seed = 0; seed < 30; seed++) {
            Random rnd = new Random(9100 + seed);
            int n = 1 + rnd.nextInt(80);
            int cols = 1 + rnd.nextInt(100);
            int xOffset = rnd.nextInt(7);
            float[] x = new float[xOffset + n * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            int stride = TokenLanesGemm.stride(n);
            float[] xt = new float[stride * cols];
            Arrays.fill(xt, Float.NaN);
            int cut = rnd.nextInt(cols + 1);   // any split, as the pool's parts fall
            TokenLanesGemm.pack(x, xOffset, n, cols, xt, cut, cols);
            TokenLanesGemm.pack(x, xOffset, n, cols, xt, 0, cut);
            for (int k = 0; k < cols; k++) {
                for (int t = 0; t < stride; t++) {
                    float expected = t < n ? x[xOffset + t * cols + k] : 0f;
                    assertEquals(expected, xt[k * stride + t], 0f, "column " + k + " token " + t + " seed " + seed);
                }
            }
        }
    }
}
