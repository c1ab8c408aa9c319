package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Vector API kernels of every registered tensor type against their scalar twins, over random shapes, seeds,
 * unaligned segment offsets and activation offsets. Runs at the default width and at 128/256/512 bits.
 */
class TensorTypeKernelTest {

    static Stream<TensorType> types() { return TensorTypes.all().stream(); }

    static Stream<TensorType> exactTypes() { return types().filter(t -> QuantTestData.hasExactRows(t.ggmlType())); }

    /** Values per row for a random shape: 1..maxBlocks blocks, a few large rows. */
    private static int randomLength(Random rnd, TensorType t, int seed) {
        int block = Math.max(32, t.blockSize());
        int maxBlocks = Math.max(1, 4096 / block);
        int blocks = seed % 4 == 0 ? maxBlocks - rnd.nextInt(Math.max(1, maxBlocks / 4)) : 1 + rnd.nextInt(Math.min(12, maxBlocks));
        return blocks * block;
    }

    @ParameterizedTest
    @MethodSource("types")
    void dotMatchesScalarAndDoubleReference(TensorType t) {
        for (int seed = 0; seed < 40; seed++) {
            Random rnd = new Random(seed * 7919L + t.ggmlType().id());
            int n = randomLength(rnd, t, seed);
            long off = rnd.nextInt(9);
            int xOff = rnd.nextInt(5);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = QuantTestData.quantized(arena, t, QuantTestData.values(rnd, n), n, off);
                float[] x = new float[xOff + n];
                System.arraycopy(QuantTestData.values(rnd, n), 0, x, xOff, n);
                double[] w = QuantTestData.decoded(t, seg, off, n);
                double ref = 0;
                double mag = 0;
                for (int i = 0; i < n; i++) {
                    ref += w[i] * x[xOff + i];
                    mag += Math.abs(w[i] * x[xOff + i]);
                }
                double tol = 1e-6 * (8 + Math.sqrt(n)) * mag + 1e-30;
                float vec = t.dot(seg, off, x, xOff, n);
                float sc = t.dotScalar(seg, off, x, xOff, n);
                String where = t.ggmlType() + " n=" + n + " seed=" + seed + " bits=" + Simd.bits();
                assertTrue(Math.abs(vec - ref) <= tol, where + ": vector " + vec + " vs " + ref + " (tol " + tol + ")");
                assertTrue(Math.abs(sc - ref) <= tol, where + ": scalar " + sc + " vs " + ref + " (tol " + tol + ")");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("exactTypes")
    void dotEqualsScalarExactlyWhenArithmeticIsExact(TensorType t) {
        for (int seed = 0; seed < 30; seed++) {
            Random rnd = new Random(seed * 31L + t.ggmlType().id());
            int n = 32 * (1 + rnd.nextInt(seed % 3 == 0 ? 64 : 6));
            long off = rnd.nextInt(5);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = QuantTestData.exactRow(arena, t, rnd, n, off);
                float[] x = QuantTestData.smallIntegers(rnd, n + 3);
                double[] w = QuantTestData.decoded(t, seg, off, n);
                double ref = 0;
                for (int i = 0; i < n; i++) ref += w[i] * x[3 + i];
                String where = t.ggmlType() + " n=" + n + " seed=" + seed + " bits=" + Simd.bits();
                assertEquals((float) ref, t.dotScalar(seg, off, x, 3, n), 0f, where + " scalar");
                assertEquals((float) ref, t.dot(seg, off, x, 3, n), 0f, where + " vector");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void dequantizeVectorEqualsScalarBitForBit(TensorType t) {
        for (int seed = 0; seed < 30; seed++) {
            Random rnd = new Random(seed * 17L + t.ggmlType().id());
            int n = randomLength(rnd, t, seed);
            long off = rnd.nextInt(9);
            int dstOff = rnd.nextInt(5);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = QuantTestData.quantized(arena, t, QuantTestData.values(rnd, n), n, off);
                float[] scalar = new float[dstOff + n + 3];
                float[] vector = new float[dstOff + n + 3];
                java.util.Arrays.fill(scalar, 42f);
                java.util.Arrays.fill(vector, 42f);
                t.dequantize(seg, off, scalar, dstOff, n);
                t.dequantizeVector(seg, off, vector, dstOff, n);
                String where = t.ggmlType() + " n=" + n + " seed=" + seed + " bits=" + Simd.bits();
                for (int i = 0; i < scalar.length; i++) {
                    assertEquals(Float.floatToRawIntBits(scalar[i]), Float.floatToRawIntBits(vector[i]), where + " index " + i);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void axpyMatchesScalar(TensorType t) {
        boolean exact = QuantTestData.hasExactRows(t.ggmlType());
        for (int seed = 0; seed < 30; seed++) {
            Random rnd = new Random(seed * 131L + t.ggmlType().id());
            int n = randomLength(rnd, t, seed);
            long off = rnd.nextInt(9);
            int yOff = rnd.nextInt(5);
            float a = (float) rnd.nextGaussian();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = QuantTestData.quantized(arena, t, QuantTestData.values(rnd, n), n, off);
                float[] y0 = QuantTestData.values(rnd, n + yOff);
                float[] yv = y0.clone();
                float[] ys = y0.clone();
                t.axpy(a, seg, off, yv, yOff, n);
                t.axpyScalar(a, seg, off, ys, yOff, n);
                double[] w = QuantTestData.decoded(t, seg, off, n);
                for (int i = 0; i < yOff; i++) assertEquals(y0[i], yv[i], 0f, "untouched prefix");
                int block = Math.max(32, t.blockSize());
                for (int i = 0; i < n; i++) {
                    double expect = y0[yOff + i] + (double) a * w[i];
                    // Relative to the block's largest value: formats with a min (value = q*d + m) cancel.
                    double blockMax = 0;
                    for (int j = i / block * block; j < Math.min(n, i / block * block + block); j++) blockMax = Math.max(blockMax, Math.abs(w[j]));
                    double tol = 1e-6 * (Math.abs(y0[yOff + i]) + 4 * Math.abs(a) * blockMax) + 1e-30;
                    String where = t.ggmlType() + " n=" + n + " i=" + i + " seed=" + seed + " bits=" + Simd.bits();
                    assertTrue(Math.abs(ys[yOff + i] - expect) <= tol, where + ": scalar " + ys[yOff + i] + " vs " + expect);
                    if (exact) assertEquals(ys[yOff + i], yv[yOff + i], 0f, where + ": vector differs from scalar");
                    else assertTrue(Math.abs(yv[yOff + i] - expect) <= tol, where + ": vector " + yv[yOff + i] + " vs " + expect);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void partialBlocksAreRejected(TensorType t) {
        if (t.blockSize() == 1) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(t.blockBytes() * 2L);
            float[] x = new float[t.blockSize() * 2];
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> t.dot(seg, 0, x, 0, t.blockSize() + 1));
        }
    }
}
