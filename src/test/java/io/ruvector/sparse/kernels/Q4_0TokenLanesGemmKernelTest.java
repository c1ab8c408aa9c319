package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.quant.Q4_0;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The batched int8 Q4_0 product (through {@link MatMul} with AUTO activations) against the per-row scalar
 * reference {@link Q4_0#dotQ8Scalar}, which every output must equal bit for bit, for any shape, tiling, step,
 * vector width and thread count.
 */
class Q4_0TokenLanesGemmKernelTest {

    @Test
    void everyOutputEqualsTheScalarReference() {
        int min = Q4_0TokenLanesGemm.MIN_TOKENS;
        for (int seed = 0; seed < 9; seed++) {
            Random rnd = new Random(seed * 131L + 7);
            int rows = 1 + rnd.nextInt(40) + (seed % 2 == 0 ? 12 : 0);
            int cols = 32 * (seed == 3 ? 2048 / 32 + 3 : 1 + rnd.nextInt(24));
            int n = seed == 8 ? Q4_0TokenLanesGemm.MIN_BATCH : switch (seed % 3) {
                case 0 -> min;
                case 1 -> min + 1 + rnd.nextInt(min);
                default -> 2 * min + 3;
            };
            try (Arena arena = Arena.ofShared()) {
                MemorySegment seg = arena.allocate((long) rows * cols / 32 * 18, 1);
                float[] row = new float[cols];
                for (int r = 0; r < rows; r++) {
                    for (int i = 0; i < cols; i++) row[i] = (float) (rnd.nextGaussian() * (r % 5 == 0 ? 1e-5 : 1));
                    Q4_0.INSTANCE.quantize(row, 0, seg, (long) r * cols / 32 * 18, cols);
                }
                Tensor w = new Tensor("w", Q4_0.INSTANCE, rows, cols, seg);
                int xOffset = 5;
                float[] x = new float[xOffset + n * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * (i % 97 == 0 ? 50 : 1));
                Q8Activation xq = new Q8Activation(n * cols);
                xq.quantize(x, xOffset, n * cols);
                for (int threads = 1; threads <= 3; threads++) {
                    try (Parallel pool = new Parallel(threads)) {
                        MatMul mm = new MatMul(pool, false, true);
                        assertTrue(mm.usesInt8(w, n), "AUTO batches of Q4_0 take int8 activations");
                        assertFalse(mm.usesInt8(w, 2), "but not a few tokens");
                        assertFalse(mm.usesInt8(w, Q4_0TokenLanesGemm.MIN_BATCH - 1), "nor half a tile");
                        int outOffset = 3;
                        float[] out = new float[outOffset + n * rows];
                        mm.multiply(w, x, xOffset, n, out, outOffset);
                        for (int t = 0; t < n; t++) {
                            for (int r = 0; r < rows; r++) {
                                float ref = Q4_0.INSTANCE.dotQ8Scalar(seg, w.rowOffset(r), xq, t * cols, cols);
                                assertEquals(Float.floatToRawIntBits(ref), Float.floatToRawIntBits(out[outOffset + t * rows + r]),
                                        "row " + r + " token " + t + " of " + rows + "x" + cols + ", n " + n + ", threads "
                                                + threads + ", bits " + Simd.bits());
                            }
                        }
                    }
                }
            }
        }
    }
}
