package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API kernels of the K-quant types against their scalar twins, at whatever width this JVM runs
 * (surefire repeats this class at 128, 256 and 512 bits).
 *
 * <p>Blocks are random bytes (every bit pattern of quants and packed scales) with finite random fp16 / f32
 * super-block scales. Tolerances come from float error bounds, not from observed differences:
 * a sum of k rounded terms is within (k + c) * 2^-24 * sum|term| of the exact sum.
 */
class KQuantKernelTest {

    private static final float U = 0x1p-24f;

    /** A type plus where its super-block scales live (byte offsets in the block, per ggml-common.h). */
    private record Layout(TensorType type, int[] f16Fields, int dminField, boolean f32Scale) {}

    private static Layout layout(String name) {
        return switch (name) {
            case "Q2_K" -> new Layout(Q2_K.INSTANCE, new int[] {80, 82}, 82, false);
            case "Q3_K" -> new Layout(Q3_K.INSTANCE, new int[] {108}, -1, false);
            case "Q4_K" -> new Layout(Q4_K.INSTANCE, new int[] {0, 2}, 2, false);
            case "Q5_K" -> new Layout(Q5_K.INSTANCE, new int[] {0, 2}, 2, false);
            case "Q6_K" -> new Layout(Q6_K.INSTANCE, new int[] {208}, -1, false);
            case "Q8_K" -> new Layout(Q8_K.INSTANCE, new int[] {}, -1, true);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** {@code blocks} random blocks starting at byte {@code lead} of a fresh segment. */
    private static MemorySegment randomBlocks(Arena arena, Layout l, int blocks, int lead, Random rnd) {
        int bytes = l.type().blockBytes();
        MemorySegment seg = arena.allocate(lead + (long) blocks * bytes);
        byte[] raw = new byte[(int) seg.byteSize()];
        rnd.nextBytes(raw);
        MemorySegment.copy(raw, 0, seg, ValueLayout.JAVA_BYTE, 0, raw.length);
        for (int b = 0; b < blocks; b++) {
            long blk = lead + (long) b * bytes;
            for (int f : l.f16Fields()) KQuants.putF16(seg, blk + f, scale(rnd));
            if (l.f32Scale()) seg.set(KQuants.FLOAT, blk, scale(rnd) * 1e-2f);
        }
        return seg;
    }

    private static float scale(Random rnd) {
        float m = (float) Math.pow(2, -12 + 12 * rnd.nextDouble());
        return rnd.nextBoolean() ? m : -m;
    }

    /**
     * For each value, |scale*q| + |min term|: the magnitude the fused kernels round against. Decoding a copy
     * whose {@code dmin} has its sign flipped gives scale*q + min, so max(|v|, |v'|) is that sum.
     */
    private static float[] magnitudes(Layout l, MemorySegment seg, long offset, int n, float[] values) {
        if (l.dminField() < 0) {
            float[] m = new float[n];
            for (int i = 0; i < n; i++) m[i] = Math.abs(values[i]);
            return m;
        }
        int bytes = l.type().blockBytes();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flipped = arena.allocate(n / 256 * (long) bytes);
            MemorySegment.copy(seg, offset, flipped, 0, flipped.byteSize());
            for (long blk = 0; blk < flipped.byteSize(); blk += bytes) {
                long at = blk + l.dminField() + 1;
                flipped.set(ValueLayout.JAVA_BYTE, at, (byte) (flipped.get(ValueLayout.JAVA_BYTE, at) ^ 0x80));
            }
            float[] other = new float[n];
            l.type().dequantize(flipped, 0, other, 0, n);
            float[] m = new float[n];
            for (int i = 0; i < n; i++) m[i] = Math.max(Math.abs(values[i]), Math.abs(other[i]));
            return m;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"})
    void dotMatchesScalarTwinOverRandomShapes(String name) {
        Layout l = layout(name);
        TensorType t = l.type();
        Random rnd = new Random(0xD07 + name.hashCode());
        for (int trial = 0; trial < 24; trial++) {
            int blocks = 1 + rnd.nextInt(9);
            int n = blocks * 256;
            int lead = rnd.nextInt(8);
            int xOffset = rnd.nextInt(40);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = randomBlocks(arena, l, blocks, lead, rnd);
                float[] x = new float[xOffset + n + rnd.nextInt(5)];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                float[] w = new float[n];
                t.dequantize(seg, lead, w, 0, n);
                float[] m = magnitudes(l, seg, lead, n, w);
                double exact = 0;
                double magnitude = 0;
                for (int i = 0; i < n; i++) {
                    exact += (double) w[i] * x[xOffset + i];
                    magnitude += (double) m[i] * Math.abs(x[xOffset + i]);
                }
                float scalar = t.dotScalar(seg, lead, x, xOffset, n);
                float vector = t.dot(seg, lead, x, xOffset, n);
                // Scalar: one chain of n terms. Vector: chains of n / lanes terms, a lane reduction, fused weights.
                double scalarTol = (n + 2) * U * magnitude;
                double vectorTol = (n / Simd.F.length() + 2 * Simd.F.length() + 8) * U * magnitude;
                String where = name + " trial " + trial + " blocks " + blocks + " lead " + lead + " xOffset " + xOffset;
                assertEquals(exact, scalar, scalarTol, "scalar " + where);
                assertEquals(exact, vector, vectorTol, "vector " + where);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"})
    void axpyMatchesScalarTwinOverRandomShapes(String name) {
        Layout l = layout(name);
        TensorType t = l.type();
        Random rnd = new Random(0xA9 + name.hashCode());
        for (int trial = 0; trial < 16; trial++) {
            int blocks = 1 + rnd.nextInt(6);
            int n = blocks * 256;
            int lead = rnd.nextInt(8);
            int yOffset = rnd.nextInt(40);
            float a = (float) rnd.nextGaussian();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = randomBlocks(arena, l, blocks, lead, rnd);
                float[] y0 = new float[yOffset + n + 3];
                for (int i = 0; i < y0.length; i++) y0[i] = (float) rnd.nextGaussian();
                float[] scalar = y0.clone();
                float[] vector = y0.clone();
                t.axpyScalar(a, seg, lead, scalar, yOffset, n);
                t.axpy(a, seg, lead, vector, yOffset, n);
                float[] w = new float[n];
                t.dequantize(seg, lead, w, 0, n);
                float[] m = magnitudes(l, seg, lead, n, w);
                for (int i = 0; i < y0.length; i++) {
                    int k = i - yOffset;
                    if (k < 0 || k >= n) {
                        assertEquals(y0[i], vector[i], name + ": axpy wrote outside its range at " + i);
                        continue;
                    }
                    // Both round a*w and the sum; the vector side may fuse them or fold a into the scale.
                    double tol = 4 * U * (Math.abs(y0[i]) + Math.abs(a) * m[k]) + Float.MIN_NORMAL;
                    assertEquals(scalar[i], vector[i], tol, name + " trial " + trial + " value " + k);
                }
            }
        }
    }

    /**
     * Each value reached through the vector kernels alone: dot with a unit vector and axpy of 1 onto zeros
     * must reproduce the decoded value (to one rounding where the kernel fuses scale and min), so a lane
     * mapped to the wrong value cannot hide in a sum.
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"})
    void everyValueThroughUnitVectors(String name) {
        Layout l = layout(name);
        TensorType t = l.type();
        Random rnd = new Random(0x1D + name.hashCode());
        int n = 2 * 256;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = randomBlocks(arena, l, 2, 3, rnd);
            float[] w = new float[n];
            t.dequantize(seg, 3, w, 0, n);
            float[] m = magnitudes(l, seg, 3, n, w);
            float[] axpy = new float[n];
            t.axpy(1f, seg, 3, axpy, 0, n);
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = 1f;
                float dot = t.dot(seg, 3, x, 0, n);
                x[i] = 0f;
                float tol = l.dminField() < 0 ? 0f : 2 * Math.ulp(m[i]);
                assertEquals(w[i], dot, tol, name + " dot with unit vector " + i);
                assertEquals(w[i], axpy[i], tol, name + " axpy value " + i);
            }
        }
    }

    @Test
    void badArgumentsAreRejectedByName() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(1024);
            for (TensorType t : new TensorType[] {Q2_K.INSTANCE, Q3_K.INSTANCE, Q4_K.INSTANCE, Q5_K.INSTANCE,
                    Q6_K.INSTANCE, Q8_K.INSTANCE}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> t.dot(seg, 0, new float[300], 0, 300));
                assertTrue(e.getMessage().contains(t.ggmlType().name()), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> t.axpy(1f, seg, 0, new float[300], 0, 300));
                assertThrows(IllegalArgumentException.class, () -> t.dequantize(seg, 0, new float[300], 0, 300));
                // 1024 bytes hold fewer than 16 blocks of any K-quant; then an activation shorter than the row.
                IndexOutOfBoundsException e2 = assertThrows(IndexOutOfBoundsException.class,
                        () -> t.dot(seg, 0, new float[4096], 0, 4096));
                assertTrue(e2.getMessage().contains(t.ggmlType().name()), e2.getMessage());
                assertThrows(IndexOutOfBoundsException.class, () -> t.dot(seg, 0, new float[256], 1, 256));
                assertThrows(IndexOutOfBoundsException.class, () -> t.axpy(1f, seg, -1, new float[256], 0, 256));
                assertThrows(IndexOutOfBoundsException.class, () -> t.dotScalar(seg, 0, new float[255 + 256], 256, 256));
            }
        }
    }
}
