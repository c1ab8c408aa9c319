package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.kernels.MatMul;
import io.ruvector.sparse.kernels.RepackedWeights;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The interleaved Q4_0 kernel against its scalar twin and against the per-row int8 reference on the file's
 * layout ({@link Q4_0#dotQ8Scalar}), which it must equal bit for bit; and {@link MatMul} using it.
 */
class InterleavedQ4_0KernelTest {

    private static final int G = InterleavedQ4_0.GROUP;

    /**
     * Raw Q4_0 rows: random fp16 scales (some zero, some tiny) and random codes, with whole rows of code 0 and
     * code 15 among them, the extremes of the 16-bit sums.
     */
    private static MemorySegment rawRows(Arena arena, Random rnd, int rows, int cols) {
        int blocks = cols / 32;
        MemorySegment seg = arena.allocate((long) rows * blocks * 18, 1);
        for (int r = 0; r < rows; r++) {
            int kind = rnd.nextInt(6);
            for (int b = 0; b < blocks; b++) {
                long o = ((long) r * blocks + b) * 18;
                float d = switch (rnd.nextInt(8)) {
                    case 0 -> 0f;
                    case 1 -> (float) (rnd.nextGaussian() * 1e-6);
                    default -> (float) rnd.nextGaussian();
                };
                seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, o, Float.floatToFloat16(d));
                for (int k = 0; k < 16; k++) {
                    int code = kind == 0 ? 0x00 : kind == 1 ? 0xFF : rnd.nextInt(256);
                    seg.set(ValueLayout.JAVA_BYTE, o + 2 + k, (byte) code);
                }
            }
        }
        return seg;
    }

    /** Activations: random, or all of one sign and size so every code is +-127 (the largest products). */
    private static Q8Activation activation(Random rnd, int cols, int kind) {
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = switch (kind) {
                case 0 -> 1f;
                case 1 -> -2.5f;
                default -> (float) rnd.nextGaussian();
            };
        }
        Q8Activation q = new Q8Activation(cols);
        q.quantize(x, 0, cols);
        return q;
    }

    @Test
    void vectorAndScalarEqualThePerRowReferenceBitForBit() {
        for (int seed = 0; seed < 24; seed++) {
            Random rnd = new Random(seed * 7919L);
            int rows = G * (1 + rnd.nextInt(4)) + (seed % 3 == 0 ? rnd.nextInt(G) : 0);
            int cols = 32 * (seed % 5 == 0 ? 64 + rnd.nextInt(8) : 1 + rnd.nextInt(12));
            try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1 + seed % 3)) {
                Tensor w = new Tensor("w", Q4_0.INSTANCE, rows, cols, rawRows(arena, rnd, rows, cols));
                InterleavedQ4_0 m = InterleavedQ4_0.repack(w.name(), w.rows(), w.cols(), w.data(), arena, pool);
                assertEquals(rows / G, m.groups());
                Q8Activation x = activation(rnd, cols, seed % 4);
                int outOffset = seed % 2 == 0 ? 0 : 5;
                float[] vec = new float[outOffset + rows];
                float[] sc = new float[outOffset + rows];
                m.dotQ8(x, vec, outOffset, 0, m.groups());
                m.dotQ8Scalar(x, sc, outOffset, 0, m.groups());
                for (int r = 0; r < m.groups() * G; r++) {
                    float ref = Q4_0.INSTANCE.dotQ8Scalar(w.data(), w.rowOffset(r), x, 0, cols);
                    String where = "row " + r + " of " + rows + "x" + cols + " seed " + seed + " bits " + Simd.bits();
                    assertEquals(Float.floatToRawIntBits(ref), Float.floatToRawIntBits(sc[outOffset + r]), where + " scalar");
                    assertEquals(Float.floatToRawIntBits(ref), Float.floatToRawIntBits(vec[outOffset + r]), where + " vector");
                }
                for (int r = m.groups() * G; r < rows; r++) assertEquals(0f, vec[outOffset + r], "rows past the groups are left alone");
            }
        }
    }

    @Test
    void groupRangesComputeOnlyTheirRows() {
        Random rnd = new Random(3);
        try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1)) {
            Tensor w = new Tensor("w", Q4_0.INSTANCE, 4 * G, 64, rawRows(arena, rnd, 4 * G, 64));
            InterleavedQ4_0 m = InterleavedQ4_0.repack(w.name(), w.rows(), w.cols(), w.data(), arena, pool);
            Q8Activation x = activation(rnd, 64, 2);
            float[] out = new float[4 * G];
            java.util.Arrays.fill(out, Float.NaN);
            m.dotQ8(x, out, 0, 1, 3);
            for (int r = 0; r < 4 * G; r++) assertEquals(r >= G && r < 3 * G, !Float.isNaN(out[r]), "row " + r);
            assertThrows(IndexOutOfBoundsException.class, () -> m.dotQ8(x, out, 0, 2, 5));
            assertThrows(IllegalArgumentException.class, () -> m.dotQ8(x, new float[4 * G - 1], 0, 0, 4));
            assertThrows(IllegalArgumentException.class, () -> m.dotQ8(activation(rnd, 32, 2), out, 0, 0, 4));
        }
    }

    @Test
    void matMulDecodesFromTheCopyForAnyThreadCount() {
        for (int seed = 0; seed < 6; seed++) {
            Random rnd = new Random(seed * 31L + 1);
            int rows = seed == 0 ? 40 : G * (2 + rnd.nextInt(9)) + rnd.nextInt(G);
            int cols = 32 * (2 + rnd.nextInt(20));
            try (Arena arena = Arena.ofShared(); RepackedWeights repacked = new RepackedWeights()) {
                Tensor w = new Tensor("blk.0.w", Q4_0.INSTANCE, rows, cols, rawRows(arena, rnd, rows, cols));
                float[] x = new float[3 + cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                Q8Activation xq = new Q8Activation(cols);
                xq.quantize(x, 3, cols);
                float[] expected = new float[2 + rows];
                int full = rows / G * G;
                for (int r = 0; r < rows; r++) {
                    expected[2 + r] = r < full ? Q4_0.INSTANCE.dotQ8Scalar(w.data(), w.rowOffset(r), xq, 0, cols)
                            : Q4_0.INSTANCE.dotQ8(w.data(), w.rowOffset(r), xq, 0, cols);
                }
                for (int threads = 1; threads <= 3; threads++) {
                    try (Parallel pool = new Parallel(threads)) {
                        MatMul mm = new MatMul(pool, false, true, repacked);
                        assertTrue(mm.usesInt8(w, 1), "AUTO takes int8 activations for an interleaved Q4_0 matrix");
                        assertFalse(mm.usesInt8(w, 2), "but not for batches");
                        float[] out = new float[2 + rows];
                        mm.multiply(w, x, 3, 1, out, 2);
                        assertArrayEquals(expected, out, "rows " + rows + ", threads " + threads + ", bits " + Simd.bits());
                        assertSame(repacked.interleavedQ4_0(w, pool), repacked.interleavedQ4_0(w, pool), "repacked once");
                    }
                }
                assertEquals((long) full * w.rowBytes(), repacked.byteSize(), "as large as the rows it covers");
            }
        }
    }

    @Test
    void onlyQ4_0MatricesWithAWholeGroupAreRepacked() {
        try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1); RepackedWeights repacked = new RepackedWeights()) {
            Random rnd = new Random(5);
            Tensor small = new Tensor("small", Q4_0.INSTANCE, G - 1, 64, rawRows(arena, rnd, G - 1, 64));
            Tensor q8 = new Tensor("q8", Q8_0.INSTANCE, G, 64, arena.allocate(G * 2 * 34L));
            assertFalse(InterleavedQ4_0.supports(small.ggmlType(), small.rows(), small.cols()));
            assertFalse(InterleavedQ4_0.supports(q8.ggmlType(), q8.rows(), q8.cols()));
            assertNull(repacked.interleavedQ4_0(small, pool));
            assertNull(repacked.interleavedQ4_0(q8, pool));
            assertThrows(IllegalArgumentException.class,
                    () -> InterleavedQ4_0.repack(small.name(), small.rows(), small.cols(), small.data(), arena, pool));
            assertThrows(IllegalArgumentException.class,   // too few bytes for G rows of Q4_0
                    () -> InterleavedQ4_0.repack("short", G, 64, arena.allocate(G * 2 * 18L - 1), arena, pool));
            Tensor ok = new Tensor("ok", Q4_0.INSTANCE, G, 64, rawRows(arena, rnd, G, 64));
            // A non-finite scale: left to the per-row kernel, and remembered (not scanned again).
            MemorySegment bad = rawRows(arena, rnd, 2 * G, 64);
            bad.set(ValueLayout.JAVA_SHORT_UNALIGNED, 18L * 2 * 37 + 18, (short) 0x7C00);
            Tensor inf = new Tensor("inf", Q4_0.INSTANCE, 2 * G, 64, bad);
            assertNull(InterleavedQ4_0.repack(inf.name(), inf.rows(), inf.cols(), inf.data(), arena, pool));
            assertNull(repacked.interleavedQ4_0(inf, pool));
            assertNull(repacked.interleavedQ4_0(inf, pool));
            assertEquals(0, repacked.byteSize());
            repacked.close();
            assertThrows(IllegalStateException.class, () -> repacked.interleavedQ4_0(ok, pool));
        }
    }
}
