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
 * The interleaved K-quant kernels ({@link InterleavedQ2_K}, {@link InterleavedQ3_K}, {@link InterleavedQ4_K}, {@link InterleavedQ5_K}, {@link InterleavedQ6_K}) against their scalar twins
 * (bit for bit), the twins against an integer reference computed from the file's own block layout (bit for
 * bit: the repacking loses nothing), the int8 result against the exact float product (within the activation
 * rounding), and {@link MatMul} using them at any thread count.
 */
class InterleavedKQuantKernelTest {

    private static final int G = InterleavedKQuant.GROUP;
    private static final TensorType[] TYPES = {Q2_K.INSTANCE, Q3_K.INSTANCE, Q4_K.INSTANCE, Q5_K.INSTANCE, Q6_K.INSTANCE};

    /**
     * Raw rows of random bytes with random fp16 super-block scales (some zero, some tiny); some rows with every
     * code and scale byte at 0x00 or 0xFF, the extremes of the 16-bit sums.
     */
    static MemorySegment rawRows(Arena arena, Random rnd, TensorType type, int rows, int cols) {
        int blocks = cols / 256;
        int bytes = type.blockBytes();
        MemorySegment seg = arena.allocate((long) rows * blocks * bytes, 1);
        for (int r = 0; r < rows; r++) {
            int kind = rnd.nextInt(6);
            for (int b = 0; b < blocks; b++) {
                long o = ((long) r * blocks + b) * bytes;
                for (int k = 0; k < bytes; k++) {
                    int v = kind == 0 ? 0x00 : kind == 1 ? 0xFF : rnd.nextInt(256);
                    seg.set(ValueLayout.JAVA_BYTE, o + k, (byte) v);
                }
                int[] halves = type == Q6_K.INSTANCE ? new int[] {208} : type == Q3_K.INSTANCE ? new int[] {108} : type == Q2_K.INSTANCE ? new int[] {80, 82} : new int[] {0, 2};
                for (int h : halves) {
                    float d = switch (rnd.nextInt(8)) {
                        case 0 -> 0f;
                        case 1 -> (float) (rnd.nextGaussian() * 1e-6);
                        default -> (float) rnd.nextGaussian() * 0.01f;
                    };
                    seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, o + h, Float.floatToFloat16(d));
                }
            }
        }
        return seg;
    }

    /** Activations: random, or all of one sign and size so every code is +-127 (the largest products). */
    static float[] values(Random rnd, int cols, int kind) {
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = switch (kind) {
                case 0 -> 1f;
                case 1 -> -2.5f;
                default -> (float) rnd.nextGaussian();
            };
        }
        return x;
    }

    static Q8KActivation activation(float[] x) {
        Q8KActivation q = new Q8KActivation(x.length);
        q.quantize(x, 0, x.length);
        return q;
    }

    /**
     * ggml's {@code vec_dot_qX_K_q8_K} written from the file's block layout (not the repacked one), with the
     * float operations of the kernels' documented order.
     */
    private static float fileLayoutReference(Tensor w, int row, Q8KActivation x) {
        MemorySegment s = w.data();
        float sum = 0f;
        for (int b = 0; b < w.cols() / 256; b++) {
            long blk = w.rowOffset(row) + (long) b * w.type().blockBytes();
            float dx = x.scale(b);
            if (w.type() == Q2_K.INSTANCE) {
                int sumi = 0;
                int summ = 0;
                for (int sb = 0; sb < 16; sb++) {
                    int acc = 0;
                    for (int i = 0; i < 16; i++) {
                        int v = 16 * sb + i;   // value 128c + 32j + l: bits 2j of qs[32c + l]
                        int c = v / 128, j = (v % 128) / 32, l = v % 32;
                        acc += (KQuants.u8(s, blk + 16 + 32 * c + l) >>> 2 * j & 3) * x.code(b * 256 + v);
                    }
                    int scale = KQuants.u8(s, blk + sb);
                    sumi += (scale & 0xF) * acc;
                    summ += (scale >>> 4) * x.runSum(b * 16 + sb);
                }
                sum = sum + sumi * (KQuants.f16(s, blk + 80) * dx);
                sum = sum - summ * (KQuants.f16(s, blk + 82) * dx);
            } else if (w.type() == Q3_K.INSTANCE) {
                int sumi = 0;
                for (int sb = 0; sb < 16; sb++) {
                    int acc = 0;
                    for (int i = 0; i < 16; i++) {
                        int v = 16 * sb + i;   // value 128c + 32j + l: bits 2j of qs[32c + l], bit 4c + j of hmask[l]
                        int c = v / 128, j = (v % 128) / 32, l = v % 32;
                        int low = KQuants.u8(s, blk + 32 + 32 * c + l) >>> 2 * j & 3;
                        int third = KQuants.u8(s, blk + l) >>> (4 * c + j) & 1;
                        acc += (low - (third != 0 ? 0 : 4)) * x.code(b * 256 + v);
                    }
                    sumi += KQuants.scaleQ3(s, blk + 96, sb) * acc;
                }
                sum = sum + sumi * (KQuants.f16(s, blk + 108) * dx);
            } else if (w.type() != Q6_K.INSTANCE) {
                boolean five = w.type() == Q5_K.INSTANCE;
                int sumi = 0;
                int summ = 0;
                for (int j = 0; j < 8; j++) {
                    int acc = 0;
                    for (int l = 0; l < 32; l++) {
                        int c = KQuants.u8(s, blk + (five ? 48 : 16) + 32 * (j / 2) + l);
                        int fifth = five ? (KQuants.u8(s, blk + 16 + l) >>> j & 1) << 4 : 0;
                        acc += (((j & 1) == 0 ? c & 0xF : c >>> 4) | fifth) * x.code(b * 256 + 32 * j + l);
                    }
                    sumi += KQuants.scaleK4(s, blk + 4, j) * acc;
                    summ += KQuants.minK4(s, blk + 4, j) * (x.runSum(b * 16 + 2 * j) + x.runSum(b * 16 + 2 * j + 1));
                }
                sum = sum + sumi * (KQuants.f16(s, blk) * dx);
                sum = sum - summ * (KQuants.f16(s, blk + 2) * dx);
            } else {
                float[] codes = new float[256];
                int sumi = 0;
                for (int c = 0; c < 2; c++) {
                    for (int l = 0; l < 32; l++) {
                        int ql0 = KQuants.u8(s, blk + 64 * c + l);
                        int ql1 = KQuants.u8(s, blk + 64 * c + 32 + l);
                        int qh = KQuants.u8(s, blk + 128 + 32 * c + l);
                        codes[128 * c + l] = ((ql0 & 0xF) | (qh & 3) << 4) - 32;
                        codes[128 * c + 32 + l] = ((ql1 & 0xF) | (qh >>> 2 & 3) << 4) - 32;
                        codes[128 * c + 64 + l] = ((ql0 >>> 4) | (qh >>> 4 & 3) << 4) - 32;
                        codes[128 * c + 96 + l] = ((ql1 >>> 4) | (qh >>> 6) << 4) - 32;
                    }
                }
                for (int j = 0; j < 16; j++) {
                    int acc = 0;
                    for (int l = 0; l < 16; l++) acc += (int) codes[16 * j + l] * x.code(b * 256 + 16 * j + l);
                    sumi += KQuants.s8(s, blk + 192 + j) * acc;
                }
                sum = sum + sumi * (KQuants.f16(s, blk + 208) * dx);
            }
        }
        return sum;
    }

    @Test
    void vectorAndScalarEqualTheFileLayoutReferenceBitForBit() {
        for (TensorType type : TYPES) {
            for (int seed = 0; seed < 16; seed++) {
                Random rnd = new Random(seed * 7919L + type.blockBytes());
                int rows = seed % 3 == 0 ? 1 + rnd.nextInt(3 * G) : G * (1 + rnd.nextInt(3));
                int cols = 256 * (1 + rnd.nextInt(seed % 5 == 0 ? 22 : 4));
                try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1 + seed % 3)) {
                    Tensor w = new Tensor("w", type, rows, cols, rawRows(arena, rnd, type, rows, cols));
                    InterleavedKQuant m = InterleavedKQuant.repack(w.matrix(), arena, pool);
                    assertEquals((rows + G - 1) / G, m.groups());
                    Q8KActivation x = activation(values(rnd, cols, seed % 4));
                    int outOffset = seed % 2 == 0 ? 0 : 5;
                    float[] vec = new float[outOffset + rows + 3];
                    float[] sc = new float[outOffset + rows + 3];
                    java.util.Arrays.fill(vec, Float.NaN);
                    java.util.Arrays.fill(sc, Float.NaN);
                    m.dotQ8K(x, vec, outOffset, 0, m.groups());
                    m.dotQ8KScalar(x, sc, outOffset, 0, m.groups());
                    for (int r = 0; r < rows; r++) {
                        float ref = fileLayoutReference(w, r, x);
                        String where = type.ggmlType() + " row " + r + " of " + rows + "x" + cols + " seed " + seed + " bits " + Simd.bits();
                        assertEquals(Float.floatToRawIntBits(ref), Float.floatToRawIntBits(sc[outOffset + r]), where + " scalar");
                        assertEquals(Float.floatToRawIntBits(ref), Float.floatToRawIntBits(vec[outOffset + r]), where + " vector");
                    }
                    for (int i = outOffset + rows; i < vec.length; i++) {
                        assertTrue(Float.isNaN(vec[i]) && Float.isNaN(sc[i]), "padding rows are not written");
                    }
                }
            }
        }
    }

    /**
     * Against the exact product of the decoded weights with the float activation. Q8_K rounds each value to
     * the nearest multiple of its block's step {@code d = amax / 127} (the clamp at 127 only cuts values that
     * round no further than amax), so the activation moves each term by at most {@code |w_i| d / 2}. The float
     * arithmetic (one conversion and two roundings per super-block, one per addition over at most 22 blocks,
     * and the weights' own decoding roundings) adds at most 30 * 2^-24 of the sum of term magnitudes, where a
     * Q2_K/Q4_K/Q5_K term counts its scale and min parts apart ({@code d*sc*q} and {@code dmin*m} may cancel); 1e-5 is
     * a looser bound.
     */
    @Test
    void int8ResultIsWithinTheActivationRoundingOfTheExactProduct() {
        for (TensorType type : TYPES) {
            for (int seed = 0; seed < 8; seed++) {
                Random rnd = new Random(seed + 100L * type.blockBytes());
                int rows = 1 + rnd.nextInt(2 * G);
                int cols = 256 * (1 + rnd.nextInt(8));
                try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1)) {
                    Tensor w = new Tensor("w", type, rows, cols, rawRows(arena, rnd, type, rows, cols));
                    float[] x = values(rnd, cols, 2 + seed % 2);
                    for (int i = 0; i < cols; i += 1 + rnd.nextInt(40)) x[i] *= 30f;   // outliers widen the step
                    Q8KActivation xq = activation(x);
                    InterleavedKQuant m = InterleavedKQuant.repack(w.matrix(), arena, pool);
                    float[] out = new float[rows];
                    m.dotQ8K(xq, out, 0, 0, m.groups());
                    float[] wr = new float[cols];
                    for (int r = 0; r < rows; r++) {
                        w.dequantizeRow(r, wr, 0);
                        double exact = 0;
                        double rounding = 0;
                        double magnitude = 0;
                        for (int i = 0; i < cols; i++) {
                            exact += (double) wr[i] * x[i];
                            rounding += Math.abs(wr[i]) * Math.abs(xq.scale(i / 256)) / 2;
                            double min = 0;
                            long blk = w.rowOffset(r) + (long) (i / 256) * type.blockBytes();
                            if (type == Q2_K.INSTANCE) {
                                min = Math.abs(KQuants.f16(w.data(), blk + 82) * (KQuants.u8(w.data(), blk + (i % 256) / 16) >>> 4));
                            } else if (type != Q6_K.INSTANCE && type != Q3_K.INSTANCE) {
                                min = Math.abs(KQuants.f16(w.data(), blk + 2) * KQuants.minK4(w.data(), blk + 4, (i % 256) / 32));
                            }
                            magnitude += (Math.abs(wr[i]) + 2 * min) * (Math.abs(x[i]) + Math.abs(xq.scale(i / 256)));
                        }
                        double bound = rounding + 1e-5 * magnitude + 1e-30;
                        assertTrue(Math.abs(out[r] - exact) <= bound, type.ggmlType() + " row " + r + ": " + out[r]
                                + " vs exact " + exact + ", bound " + bound);
                    }
                }
            }
        }
    }

    @Test
    void activationMatchesGgmlQ8K() {
        Random rnd = new Random(5);
        for (int kind = 0; kind < 5; kind++) {
            int n = 256 * (1 + rnd.nextInt(6));
            float[] x = kind == 4 ? new float[n] : values(rnd, n, kind);
            if (kind == 3) x[7] = -x[7] * 100;   // a negative largest value
            Q8KActivation a = activation(x);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment blocks = arena.allocate((long) n / 256 * Q8_K.BYTES);
                Q8_K.INSTANCE.quantize(x, 0, blocks, 0, n);
                float[] viaBlocks = new float[n];
                Q8_K.INSTANCE.dequantize(blocks, 0, viaBlocks, 0, n);
                float[] ours = new float[n];
                a.dequantize(ours, 0);
                assertArrayEquals(viaBlocks, ours, "values d * q");
                for (int i = 0; i < n; i++) assertEquals(KQuants.s8(blocks, (i / 256) * (long) Q8_K.BYTES + 4 + i % 256), a.code(i));
                for (int r = 0; r < n / 16; r++) {
                    assertEquals(blocks.get(KQuants.SHORT, (r / 16) * (long) Q8_K.BYTES + 260 + 2 * (r % 16)), a.runSum(r));
                }
            }
        }
        Q8KActivation a = new Q8KActivation(256);
        float[] bad = new float[256];
        bad[3] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> a.quantize(bad, 0, 256));
        assertThrows(IllegalArgumentException.class, () -> a.quantize(new float[512], 0, 512));
        assertThrows(IllegalArgumentException.class, () -> new Q8KActivation(100));
    }

    @Test
    void groupRangesComputeOnlyTheirRowsAndBadArgumentsFail() {
        Random rnd = new Random(3);
        for (TensorType type : TYPES) {
            try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1)) {
                Tensor w = new Tensor("w", type, 4 * G, 256, rawRows(arena, rnd, type, 4 * G, 256));
                InterleavedKQuant m = InterleavedKQuant.repack(w.matrix(), arena, pool);
                Q8KActivation x = activation(values(rnd, 256, 2));
                float[] out = new float[4 * G];
                java.util.Arrays.fill(out, Float.NaN);
                m.dotQ8K(x, out, 0, 1, 3);
                for (int r = 0; r < 4 * G; r++) assertEquals(r >= G && r < 3 * G, !Float.isNaN(out[r]), "row " + r);
                assertThrows(IndexOutOfBoundsException.class, () -> m.dotQ8K(x, out, 0, 2, 5));
                assertThrows(IllegalArgumentException.class, () -> m.dotQ8K(x, new float[4 * G - 1], 0, 0, 4));
                Tensor wide = new Tensor("w", type, G, 512, rawRows(arena, rnd, type, G, 512));
                assertThrows(IllegalArgumentException.class,
                        () -> InterleavedKQuant.repack(wide.matrix(), arena, pool).dotQ8K(x, out, 0, 0, 1));
                assertThrows(IllegalArgumentException.class, () -> InterleavedKQuant.repack(
                        new Tensor("q", Q8_0.INSTANCE, G, 256, arena.allocate(G * 272L)).matrix(), arena, pool));
            }
        }
    }

    @Test
    void nonFiniteScalesAreRefused() {
        for (TensorType type : TYPES) {
            try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1)) {
                MemorySegment seg = rawRows(arena, new Random(1), type, G, 256);
                seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, 5L * type.blockBytes() + (type == Q6_K.INSTANCE ? 208 : type == Q3_K.INSTANCE ? 108 : type == Q2_K.INSTANCE ? 82 : 2),
                        Float.floatToFloat16(Float.POSITIVE_INFINITY));
                assertNull(InterleavedKQuant.repack(new Tensor("w", type, G, 256, seg).matrix(), arena, pool));
            }
        }
    }

    @Test
    void matMulDecodesFromTheCopyForAnyThreadCount() {
        for (TensorType type : TYPES) {
            for (int seed = 0; seed < 4; seed++) {
                Random rnd = new Random(seed * 31L + 1);
                int rows = G * (2 + rnd.nextInt(9)) + (seed == 0 ? 0 : rnd.nextInt(G));
                int cols = 256 * (1 + rnd.nextInt(6));
                try (Arena arena = Arena.ofShared(); RepackedWeights repacked = new RepackedWeights()) {
                    Tensor w = new Tensor("blk.0.w", type, rows, cols, rawRows(arena, rnd, type, rows, cols));
                    float[] x = new float[3 + cols];
                    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                    Q8KActivation xq = new Q8KActivation(cols);
                    xq.quantize(x, 3, cols);
                    float[] expected = new float[2 + rows];
                    for (int r = 0; r < rows; r++) expected[2 + r] = fileLayoutReference(w, r, xq);
                    for (int threads = 1; threads <= 3; threads++) {
                        try (Parallel pool = new Parallel(threads)) {
                            MatMul mm = new MatMul(pool, false, true, repacked);
                            float[] out = new float[2 + rows];
                            mm.multiply(w, x, 3, 1, out, 2);
                            assertArrayEquals(expected, out, type.ggmlType() + " rows " + rows + ", threads " + threads + ", bits " + Simd.bits());
                            assertSame(repacked.interleavedK(w, pool), repacked.interleavedK(w, pool), "repacked once");
                            MatMul exact = new MatMul(pool, false, false, repacked);
                            float[] plain = new float[2 + rows];
                            exact.multiply(w, x, 3, 1, plain, 2);
                            for (int r = 0; r < rows; r++) {
                                assertEquals(Float.floatToRawIntBits(w.type().dot(w.data(), w.rowOffset(r), x, 3, cols)),
                                        Float.floatToRawIntBits(plain[2 + r]), "F32 precision keeps the float kernel");
                            }
                        }
                    }
                    long rowBytes = w.rowBytes();
                    long size = repacked.byteSize();
                    long padded = (long) (rows + G - 1) / G * G * rowBytes;
                    assertTrue(size >= padded && size <= padded * 1.04, "about as large as the rows: " + size + " for " + padded);
                }
            }
        }
    }

    @Test
    void batchesAndUnrepackedModelsKeepTheFloatPath() {
        try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1); RepackedWeights repacked = new RepackedWeights()) {
            Tensor w = new Tensor("w", Q4_K.INSTANCE, G, 256, rawRows(arena, new Random(2), Q4_K.INSTANCE, G, 256));
            var withCopies = new io.ruvector.sparse.kernels.ActivationRounding(false, true, true);
            var without = new io.ruvector.sparse.kernels.ActivationRounding(false, true, false);
            var exact = new io.ruvector.sparse.kernels.ActivationRounding(false, false, true);
            assertTrue(withCopies.usesQ8K(w, 1));
            assertFalse(withCopies.usesQ8K(w, 2), "batches");
            assertFalse(without.usesQ8K(w, 1), "no repacked copies");
            assertFalse(exact.usesQ8K(w, 1), "F32 precision");
            assertFalse(withCopies.usesQ8K(new Tensor("v", Q8_0.INSTANCE, G, 256, arena.allocate(G * 272L)), 1));
        }
    }
}
