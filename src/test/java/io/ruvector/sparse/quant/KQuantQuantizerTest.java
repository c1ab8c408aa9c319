package io.ruvector.sparse.quant;

import io.ruvector.sparse.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Properties of the K-quant encoders on random rows (fixed seeds); their ggml-exactness is in KQuantGoldenTest. */
class KQuantQuantizerTest {

    private static TensorType type(String name) {
        return TensorTypes.of(io.ruvector.sparse.gguf.GgmlType.valueOf(name));
    }

    private static float[] gaussianRow(Random rnd, int n) {
        // Scales 1e-2 .. 1e3: inside the fp16 range of the super-block scales (much smaller rows underflow them).
        float scale = (float) Math.pow(10, rnd.nextInt(6) - 2);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * scale);
        return x;
    }

    private static float[] roundTrip(TensorType t, float[] x, MemorySegment seg) {
        t.quantize(x, 0, seg, 0, x.length);
        float[] y = new float[x.length];
        t.dequantize(seg, 0, y, 0, x.length);
        return y;
    }

    private static double rmse(float[] a, float[] b) {
        double e = 0;
        for (int i = 0; i < a.length; i++) e += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
        return Math.sqrt(e / a.length);
    }

    /** Bounds on relative RMS error for Gaussian rows: ggml's quality (our encoders write ggml's bytes). */
    @ParameterizedTest
    @CsvSource({"Q2_K, 0.35", "Q3_K, 0.17", "Q4_K, 0.08", "Q5_K, 0.04", "Q6_K, 0.02", "Q8_K, 0.008"})
    void errorStaysWithinTheFormatsPrecision(String name, double bound) {
        TensorType t = type(name);
        Random rnd = new Random(11);
        int n = 8 * 256;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(t.rowBytes(n));
            for (int trial = 0; trial < 12; trial++) {
                float[] x = gaussianRow(rnd, n);
                double rel = rmse(x, roundTrip(t, x, seg)) / rmse(x, new float[n]);
                assertTrue(rel <= bound, name + " trial " + trial + ": relative RMS error " + rel + " > " + bound);
            }
        }
    }

    /** Requantizing decoded values moves them far less than the first quantization did. */
    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"})
    void roundTripOfDecodedValuesIsStable(String name) {
        TensorType t = type(name);
        Random rnd = new Random(7);
        int n = 8 * 256;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(t.rowBytes(n));
            for (int trial = 0; trial < 12; trial++) {
                float[] x = gaussianRow(rnd, n);
                float[] once = roundTrip(t, x, seg);
                float[] twice = roundTrip(t, once, seg);
                double first = rmse(x, once);
                double second = rmse(once, twice);
                assertTrue(second <= 0.5 * first, name + " trial " + trial + ": re-quantizing moved values by "
                        + second + " (rms), the first quantization by " + first);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"})
    void writesOnlyItsBlocksAndReadsFromOffsets(String name) {
        TensorType t = type(name);
        Random rnd = new Random(3);
        int n = 3 * 256;
        int srcOffset = 5;
        long lead = 7;
        float[] padded = new float[srcOffset + n + 4];
        float[] x = gaussianRow(rnd, n);
        System.arraycopy(x, 0, padded, srcOffset, n);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment reference = arena.allocate(t.rowBytes(n));
            t.quantize(x, 0, reference, 0, n);
            MemorySegment seg = arena.allocate(lead + t.rowBytes(n) + 9);
            seg.fill((byte) 0x7E);
            t.quantize(padded, srcOffset, seg, lead, n);
            assertEquals(-1L, seg.asSlice(lead, t.rowBytes(n)).mismatch(reference), "encoding depends on offsets");
            for (long i = 0; i < seg.byteSize(); i++) {
                if (i < lead || i >= lead + t.rowBytes(n)) {
                    assertEquals((byte) 0x7E, seg.get(ValueLayout.JAVA_BYTE, i), name + " wrote outside its blocks at " + i);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"})
    void allZeroRowDecodesToZeros(String name) {
        TensorType t = type(name);
        try (Arena arena = Arena.ofConfined()) {
            float[] y = roundTrip(t, new float[512], arena.allocate(t.rowBytes(512)));
            for (int i = 0; i < y.length; i++) assertEquals(0f, y[i], 0f, name + " value " + i);
        }
    }

    @Test
    void nonFiniteInputAndPartialBlocksAreRejectedByName() {
        try (Arena arena = Arena.ofConfined()) {
            for (TensorType t : new TensorType[] {Q2_K.INSTANCE, Q3_K.INSTANCE, Q4_K.INSTANCE, Q5_K.INSTANCE,
                    Q6_K.INSTANCE, Q8_K.INSTANCE}) {
                MemorySegment seg = arena.allocate(t.rowBytes(256));
                float[] x = new float[256];
                x[100] = Float.NaN;
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.quantize(x, 0, seg, 0, 256));
                assertTrue(e.getMessage().contains(t.ggmlType().name()) && e.getMessage().contains("NaN"), e.getMessage());
                x[100] = Float.POSITIVE_INFINITY;
                assertThrows(IllegalArgumentException.class, () -> t.quantize(x, 0, seg, 0, 256));
                assertThrows(IllegalArgumentException.class, () -> t.quantize(new float[300], 0, seg, 0, 255));
            }
        }
    }

    @Test
    void q8KRoundTripEqualsDequantizeOfQuantizeBitForBit() {
        Random rnd = new Random(9);
        int n = 4 * 256;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Q8_K.INSTANCE.rowBytes(n));
            for (int trial = 0; trial < 8; trial++) {
                float[] x = gaussianRow(rnd, n);
                if (trial == 0) java.util.Arrays.fill(x, 256, 512, 0f);
                float[] expected = roundTrip(Q8_K.INSTANCE, x, seg);
                float[] got = new float[n + 3];
                Q8_K.roundTrip(x, 0, got, 3, n);
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(got[3 + i]), "value " + i);
                }
                Q8_K.roundTrip(x, 0, x, 0, n);
                for (int i = 0; i < n; i++) assertEquals(expected[i], x[i], 0f, "in place, value " + i);
            }
        }
    }
}
