package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.quant.Fp16;
import io.ruvector.sparse.quant.KQuantCodes;
import io.ruvector.sparse.quant.Q2_K;
import io.ruvector.sparse.quant.Q3_K;
import io.ruvector.sparse.quant.Q4_K;
import io.ruvector.sparse.quant.Q8KActivation;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The batched Q8_K product of Q2_K, Q3_K and Q4_K matrices (through {@link MatMul} with AUTO activations): every
 * output equals the scalar twin {@link KQuantCodes#dotQ8KScalar} bit for bit, for any shape, ragged batch, tiling,
 * column step, vector width (the suite runs this at 128, 256 and 512 bits) and thread count; and lies within the
 * activation rounding bound of the exact product of the stored weights with the float activations.
 */
class KQuantTokenLanesGemmKernelTest {

    private static final TensorType[] TYPES = {Q4_K.INSTANCE, Q2_K.INSTANCE, Q3_K.INSTANCE};

    @Test
    void everyOutputEqualsTheScalarTwinAndTheExactProductWithinTheRoundingBound() {
        int min = KQuantTokenLanesGemm.MIN_TOKENS;
        for (int seed = 0; seed < 12; seed++) {
            TensorType type = TYPES[seed % 3];
            Random rnd = new Random(seed * 977L + 3);
            int rows = 1 + rnd.nextInt(30) + (seed % 2 == 0 ? 12 : 0);
            int cols = 256 * (seed == 3 || seed == 7 ? 9 : 1 + rnd.nextInt(4));   // 9 super-blocks: two column steps
            int n = switch (seed % 4) {
                case 0 -> KQuantTokenLanesGemm.MIN_BATCH;
                case 1 -> min;
                case 2 -> min + 1 + rnd.nextInt(min - 1);
                default -> 2 * min + 3;
            };
            check(type, rows, cols, n, rnd, seed % 3 == 1);
        }
    }

    /** Rows of random bytes (every code pattern, scales and mins at their extremes) and saturated rows. */
    @Test
    void extremeCodesDoNotOverflowTheSixteenBitSums() {
        for (TensorType type : TYPES) check(type, 13, 512, KQuantTokenLanesGemm.MIN_TOKENS + 5, new Random(42), true);
    }

    private static void check(TensorType type, int rows, int cols, int n, Random rnd, boolean rawBytes) {
        long rowBytes = type.rowBytes(cols);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(rows * rowBytes, 1);
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                if (rawBytes) {
                    for (long i = 0; i < rowBytes; i++) {
                        int v = r == 0 ? 0xFF : r == 1 ? 0 : rnd.nextInt(256);
                        seg.set(ValueLayout.JAVA_BYTE, r * rowBytes + i, (byte) v);
                    }
                    for (int b = 0; b < cols / 256; b++) setScales(type, seg, r * rowBytes + b * type.blockBytes(), rnd);
                } else {
                    for (int i = 0; i < cols; i++) row[i] = (float) (rnd.nextGaussian() * (r % 5 == 0 ? 1e-3 : 1));
                    type.quantize(row, 0, seg, r * rowBytes, cols);
                }
            }
            Tensor w = new Tensor("w", type, rows, cols, seg);
            int xOffset = 7;
            float[] x = new float[xOffset + n * cols];
            for (int i = 0; i < x.length; i++) {
                // saturated rows' products peak with activations of one sign at full scale
                x[i] = rawBytes ? (i / (n * cols / 2 + 1) == 0 ? 1f : -1f)
                        : (float) (rnd.nextGaussian() * (i % 97 == 0 ? 30 : 1));
            }
            Q8KActivation xq = new Q8KActivation(n * cols);
            xq.quantize(x, xOffset, n * cols);
            float[] exact = exactBound(type, seg, rows, cols, n, x, xOffset, xq);
            for (int threads = 1; threads <= 3; threads++) {
                try (Parallel pool = new Parallel(threads)) {
                    MatMul mm = new MatMul(pool, false, true);
                    assertTrue(mm.rounding().usesQ8KBatch(w, n), "AUTO batches of " + type.ggmlType() + " take Q8_K codes");
                    assertFalse(mm.rounding().usesQ8KBatch(w, KQuantTokenLanesGemm.MIN_BATCH - 1), "not below the threshold");
                    assertFalse(new MatMul(pool).rounding().usesQ8KBatch(w, n), "float32 activations stay exact");
                    assertFalse(new MatMul(pool, true).rounding().usesQ8KBatch(w, n), "ggml batches keep the float GEMM");
                    int outOffset = 3;
                    float[] out = new float[outOffset + n * rows];
                    mm.multiply(w, x, xOffset, n, out, outOffset);
                    for (int t = 0; t < n; t++) {
                        for (int r = 0; r < rows; r++) {
                            String where = type.ggmlType() + " row " + r + " token " + t + " of " + rows + "x" + cols
                                    + ", n " + n + ", threads " + threads + ", bits " + Simd.bits();
                            float got = out[outOffset + t * rows + r];
                            float ref = KQuantCodes.dotQ8KScalar(type.ggmlType(), seg, w.rowOffset(r), xq, t * cols, cols);
                            assertEquals(Float.floatToRawIntBits(ref), Float.floatToRawIntBits(got), where);
                            int e = 2 * (t * rows + r);
                            assertEquals(exact[e], got, exact[e + 1], where + ": against the exact product");
                        }
                    }
                }
            }
        }
    }

    /** Finite fp16 super-block scales over raw bytes. */
    private static void setScales(TensorType type, MemorySegment seg, long blk, Random rnd) {
        float d = (float) (0.001 + rnd.nextDouble() * 0.05);
        float dmin = (float) (rnd.nextDouble() * 0.05);
        switch (type.ggmlType()) {
            case Q4_K -> { Fp16.write(seg, blk, d); Fp16.write(seg, blk + 2, dmin); }
            case Q2_K -> { Fp16.write(seg, blk + 80, d); Fp16.write(seg, blk + 82, dmin); }
            default -> Fp16.write(seg, blk + 108, d);
        }
    }

    /**
     * Per output (token-major): the exact product of the stored weights ({@code d * scale * (code + offset) - dmin * min}, in
     * double) with the float activations, and the bound the Q8_K result must keep to it: each activation moves by
     * at most half its block's step |dx| (a hair more for the float rounding of the scale), times |w|; plus the
     * float rounding of {@code dx * (d * I - dmin * M)} and of the sum over super-blocks, a few units in the last
     * place of the integer terms' magnitudes each.
     */
    private static float[] exactBound(TensorType type, MemorySegment seg, int rows, int cols, int n, float[] x, int xOffset,
                                      Q8KActivation xq) {
        int nb = cols / 256;
        short[] codes = new short[cols];
        int[] scales = new int[cols / 16];
        int[] mins = new int[cols / 16];
        float[] d = new float[nb];
        float[] dmin = new float[nb];
        float[] result = new float[2 * n * rows];
        for (int r = 0; r < rows; r++) {
            KQuantCodes.decode(type.ggmlType(), seg, r * type.rowBytes(cols), cols, codes, 0, scales, mins, 0, d, dmin, 0);
            for (int t = 0; t < n; t++) {
                double sum = 0, bound = 0, magnitude = 0;
                int len = KQuantCodes.runLength(type.ggmlType());
                int offset = KQuantCodes.offset(type.ggmlType());
                for (int i = 0; i < cols; i++) {
                    int b = i / 256, j = i / len;
                    double big = (double) d[b] * scales[j] * (codes[i] + offset);
                    double small = (double) dmin[b] * mins[j];
                    double wv = big - small;
                    int xi = t * cols + i;
                    double dx = Math.abs((double) xq.scale(xi / 256));
                    sum += wv * x[xOffset + xi];
                    bound += Math.abs(wv) * dx * 0.5001;
                    magnitude += (Math.abs(big) + Math.abs(small)) * Math.abs(xq.code(xi)) * dx;
                }
                result[2 * (t * rows + r)] = (float) sum;
                result[2 * (t * rows + r) + 1] = (float) (bound + magnitude * (nb + 4) * 0x1p-23 + 1e-30);
            }
        }
        return result;
    }
}
