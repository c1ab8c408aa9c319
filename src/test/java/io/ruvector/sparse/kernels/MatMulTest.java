package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.quant.F32;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Batched and single products against float64, and bitwise independent of thread count and tiling. */
class MatMulTest {

    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(Simd.LE);

    @Test
    void productsMatchFloat64AndNeverDependOnThreadCount() {
        Random rnd = new Random(11);
        int[][] shapes = {{1, 1}, {5, 3}, {37, 70}, {64, 256}, {301, 129}, {1024, 64}};
        try (Arena arena = Arena.ofShared()) {
            for (int[] shape : shapes) {
                int rows = shape[0];
                int cols = shape[1];
                float[] wv = new float[rows * cols];
                MemorySegment seg = arena.allocate(4L * wv.length);
                for (int i = 0; i < wv.length; i++) {
                    wv[i] = (float) rnd.nextGaussian();
                    seg.setAtIndex(LE, i, wv[i]);
                }
                Tensor w = new Tensor("w", F32.INSTANCE, rows, cols, seg);
                for (int n : new int[]{1, 2, 3, 7, 9, 33}) {
                    float[] x = new float[3 + n * cols];   // offset 3: the kernels must honour offsets
                    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                    float[] reference = null;
                    for (int threads = 1; threads <= 3; threads++) {
                        float[] out = new float[2 + n * rows];
                        try (Parallel pool = new Parallel(threads)) {
                            new MatMul(pool).multiply(w, x, 3, n, out, 2);
                        }
                        if (reference == null) {
                            reference = out;
                            for (int t = 0; t < n; t++) {
                                for (int r = 0; r < rows; r++) {
                                    double exact = 0;
                                    for (int c = 0; c < cols; c++) exact += (double) wv[r * cols + c] * x[3 + t * cols + c];
                                    assertEquals(exact, out[2 + t * rows + r], 1e-5 * Math.sqrt(cols) + 1e-6,
                                            rows + "x" + cols + " n=" + n + " row " + r + " token " + t);
                                }
                            }
                        } else {
                            assertArrayEquals(reference, out, rows + "x" + cols + " n=" + n + " threads=" + threads);
                        }
                    }
                }
            }
        }
    }

    @Test
    void shapeMismatchIsNamed() {
        try (Arena arena = Arena.ofConfined(); Parallel pool = new Parallel(1)) {
            Tensor w = new Tensor("blk.0.attn_q.weight", F32.INSTANCE, 4, 8, arena.allocate(128));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new MatMul(pool).multiply(w, new float[7], 0, 1, new float[4], 0));
            assertEquals(true, e.getMessage().contains("blk.0.attn_q.weight"), e.getMessage());
        }
    }
}
