package io.ruvector.sparse.quant;

import io.ruvector.sparse.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round trips through our quantizers stay within each format's error bound. */
class QuantizerTest {

    /** Largest error a value of a 32-block may get, from the block's largest magnitude and its range. */
    private static double bound(String type, double amax, double range, double min) {
        double h = 0x1p-11; // fp16 relative rounding of a stored scale or min
        return switch (type) {
            case "Q8_0" -> amax * (0.5 / 127 + h);
            // Codes run from -8 to 7: the value opposite the largest one may be clamped a whole step.
            case "Q4_0" -> amax * (1.0 / 8 + h);
            case "Q5_0" -> amax * (1.0 / 16 + h);
            case "Q4_1" -> range * (0.5 / 15 + 2 * h) + Math.abs(min) * h;
            case "Q5_1" -> range * (0.5 / 31 + 2 * h) + Math.abs(min) * h;
            // Widest gap between levels is 23 of 127; the fitted scale may shrink a little below amax/127.
            case "IQ4_NL" -> amax * (12.0 / 113);
            default -> throw new IllegalArgumentException(type);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0", "Q5_0", "Q4_1", "Q5_1", "IQ4_NL"})
    void blockFormatsStayWithinTheirStep(String name) {
        TensorType t = TensorTypes.of(io.ruvector.sparse.gguf.GgmlType.valueOf(name));
        for (int seed = 0; seed < 20; seed++) {
            Random rnd = new Random(seed);
            int n = 32 * (1 + rnd.nextInt(64));
            float[] v = QuantTestData.values(rnd, n);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = QuantTestData.quantized(arena, t, v, n, 0);
                double[] back = QuantTestData.decoded(t, seg, 0, n);
                for (int b = 0; b < n / 32; b++) {
                    double amax = 0;
                    double lo = Double.MAX_VALUE;
                    double hi = -Double.MAX_VALUE;
                    for (int j = 32 * b; j < 32 * b + 32; j++) {
                        amax = Math.max(amax, Math.abs(v[j]));
                        lo = Math.min(lo, v[j]);
                        hi = Math.max(hi, v[j]);
                    }
                    double limit = bound(name, amax, hi - lo, lo) * 1.001 + 1e-30;
                    // fp16 scales below 2^-14 are subnormal and coarser; the generator's smallest blocks get there.
                    limit += 0x1p-24 * 32;
                    for (int j = 32 * b; j < 32 * b + 32; j++) {
                        assertTrue(Math.abs(back[j] - v[j]) <= limit,
                                name + " seed " + seed + " value " + j + ": " + v[j] + " -> " + back[j] + " (limit " + limit + ")");
                    }
                }
            }
        }
    }

    @Test
    void halfFormatsRoundToNearestEven() {
        Random rnd = new Random(3);
        float[] v = QuantTestData.values(rnd, 1024);
        v[0] = Float.NaN;
        v[1] = Float.POSITIVE_INFINITY;
        v[2] = 1f + 0x1p-8f;                 // halfway between two bf16 values, even one below
        v[3] = 1f + 3 * 0x1p-8f;             // halfway, even one above
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = QuantTestData.quantized(arena, F16.INSTANCE, v, v.length, 0);
            MemorySegment b = QuantTestData.quantized(arena, BF16.INSTANCE, v, v.length, 0);
            float[] hv = new float[v.length];
            float[] bv = new float[v.length];
            F16.INSTANCE.dequantize(h, 0, hv, 0, v.length);
            BF16.INSTANCE.dequantize(b, 0, bv, 0, v.length);
            assertTrue(Float.isNaN(hv[0]) && Float.isNaN(bv[0]));
            assertEquals(Float.POSITIVE_INFINITY, hv[1]);
            assertEquals(Float.POSITIVE_INFINITY, bv[1]);
            assertEquals(1f, bv[2]);
            assertEquals(1f + 4 * 0x1p-8f, bv[3]);
            for (int i = 4; i < v.length; i++) {
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), hv[i], 0f);
                double ulp = Math.ulp(v[i]) * 0x1p16;
                assertTrue(Math.abs(bv[i] - v[i]) <= ulp / 2, "bf16 " + v[i] + " -> " + bv[i]);
            }
        }
    }

    @Test
    void roundingHelpersMatchC() {
        assertEquals(3, Rounding.roundHalfAway(2.5f));
        assertEquals(-3, Rounding.roundHalfAway(-2.5f));
        assertEquals(0, Rounding.roundHalfAway(0.49999997f));
        assertEquals(2, Rounding.nearestInt(2.5f));
        assertEquals(4, Rounding.nearestInt(3.5f));
        assertEquals(-2, Rounding.nearestInt(-2.5f));
    }
}
