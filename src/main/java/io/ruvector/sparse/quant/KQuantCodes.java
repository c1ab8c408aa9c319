package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static io.ruvector.sparse.quant.KQuants.f16;
import static io.ruvector.sparse.quant.KQuants.u8;

/**
 * K-quant super-blocks (Q2_K, Q3_K, Q4_K) as small integers, the form a batched kernel multiplies with Q8_K
 * activation codes in 16-bit lanes: every value of run j of a super-block is
 * {@code d * scale_j * (code + offset) - dmin * min_j}, with
 * <ul>
 *   <li>Q2_K: runs of 16, code in [0, 3], offset 0, scale and min the 4-bit fields of the run;</li>
 *   <li>Q3_K: runs of 16, code in [-4, 3], offset 0, scale the signed 6-bit field (-32..31), no min
 *       ({@code dmin = 0});</li>
 *   <li>Q4_K: runs of 32 (its sub-blocks), code {@code q - 8} in [-8, 7], offset 8, scale and min the 6-bit
 *       fields.</li>
 * </ul>
 * A run's products with int8 codes (|q| &le; 127) then sum exactly in 16 bits: at most 16 * 4 * 127 = 8128 for
 * Q2_K and Q3_K, 32 * 8 * 127 = 32512 for Q4_K (its codes are centred for this: uncentred, 32 * 15 * 127 would
 * not fit). With the offset added back ({@code S + offset * B}, B the run's activation code sum) and weighted by
 * the run scales in 32 bits, the super-block's sum stays below 2^26.
 *
 * <p>{@link #dotQ8KScalar} is the scalar specification the batched kernel must equal bit for bit: per super-block
 * the integers {@code I = sum_j scale_j * sum_i code_i * q_i} and {@code M = sum_j min_j * sum_i q_i}, then
 * {@code sum += dx * (d * I - dmin * M)} in float, super-blocks in order (ggml's {@code vec_dot_qX_K_q8_K} keeps
 * the same integer sums).
 */
public final class KQuantCodes {

    /** Values per super-block. */
    public static final int BLOCK = KQuants.QK;
    /** Values per run of Q2_K and Q3_K, and per activation run sum; Q4_K's runs are twice as long. */
    public static final int RUN = 16;
    /** Most runs per super-block. */
    public static final int RUNS = BLOCK / RUN;

    // The species and widening of the interleaved decode kernels (InterleavedKQuant): full-width shorts from as
    // many bytes. This runs in prompt batches, before decoding in the same JVM, and the JDK methods behind every
    // vector operation keep one type profile for all their callers. The half-width short species loaded from 16
    // bytes, used here first, put a second short vector class into those profiles, where the decode kernels see
    // one; with this change the prompt and the decode after it stopped boxing in the runs measured
    // (docs/PERFORMANCE.md, "K-quant prompts in 16-bit integers").
    private static final VectorSpecies<Short> S = Simd.S;
    private static final int L = S.length();
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));

    private KQuantCodes() {}

    /** Whether super-blocks of {@code t} decode here. */
    public static boolean supports(GgmlType t) { return t == GgmlType.Q2_K || t == GgmlType.Q3_K || t == GgmlType.Q4_K; }

    /** Values per run (one scale and min each): 32 for Q4_K, 16 for Q2_K and Q3_K. */
    public static int runLength(GgmlType t) { return t == GgmlType.Q4_K ? 2 * RUN : RUN; }

    /** What every code of {@code t} is stored less by: 8 for Q4_K, 0 for the others. */
    public static int offset(GgmlType t) { return t == GgmlType.Q4_K ? 8 : 0; }

    /**
     * Decodes the {@code n} values (whole super-blocks) stored at {@code src[offset ..]}: codes to
     * {@code codes[co ..]}, run scales and mins to {@code scales[ro ..]} and {@code mins[ro ..]}
     * ({@code 256 / runLength(t)} per super-block), {@code d} and {@code dmin} to {@code d[bo ..]} and {@code dmin[bo ..]}. Vector API.
     */
    public static void decode(GgmlType t, MemorySegment src, long offset, int n, short[] codes, int co,
                              int[] scales, int[] mins, int ro, float[] d, float[] dmin, int bo) {
        int nb = n / BLOCK;
        switch (t) {
            case Q4_K -> { for (int b = 0; b < nb; b++) q4k(src, offset + (long) b * Q4_K.BYTES, codes, co + b * BLOCK, scales, mins, ro + b * RUNS / 2, d, dmin, bo + b); }
            case Q2_K -> { for (int b = 0; b < nb; b++) q2k(src, offset + (long) b * Q2_K.BYTES, codes, co + b * BLOCK, scales, mins, ro + b * RUNS, d, dmin, bo + b); }
            case Q3_K -> { for (int b = 0; b < nb; b++) q3k(src, offset + (long) b * Q3_K.BYTES, codes, co + b * BLOCK, scales, mins, ro + b * RUNS, d, dmin, bo + b); }
            default -> throw new IllegalArgumentException(t + " has no integer super-block codes here");
        }
    }

    // Bytes widen by sign extension (B2S), never ZERO_EXTEND_B2S, for the same reason: the zero-extending
    // conversion runs through JDK code whose class checks and profiles every kernel shares. Where the top bits
    // matter a mask clears them: Q4_K's high nibble; Q2_K's and Q3_K's 2-bit fields and Q3_K's hmask bits are
    // masked by their own extraction, and every bit they take is one of the byte's eight. Each 32-byte half of
    // the quants holds values 32j + m (m the byte's index in the half) for every field j: L bytes at a time
    // (32 is a multiple of L up to 512 bits).
    private static void q4k(MemorySegment s, long blk, short[] codes, int o, int[] scales, int[] mins, int ro,
                            float[] d, float[] dmin, int bo) {
        d[bo] = f16(s, blk);
        dmin[bo] = f16(s, blk + 2);
        long low = s.get(KQuants.LONG, blk + 4);
        int high = s.get(KQuants.INT, blk + 12);
        for (int j = 0; j < 8; j++) {
            scales[ro + j] = KQuants.scaleK4(low, high, j);
            mins[ro + j] = KQuants.minK4(low, high, j);
        }
        // byte 32c + m: value 64c + m in its low nibble, value 64c + 32 + m in its high one
        for (int c = 0; c < 4; c++) {
            for (int m = 0; m < 32; m += L) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, s, blk + 16 + 32 * c + m, Simd.LE)
                        .convertShape(VectorOperators.B2S, S, 0);
                int i = o + 64 * c + m;
                v.and((short) 0xF).sub((short) 8).intoArray(codes, i);
                v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).sub((short) 8).intoArray(codes, i + 32);
            }
        }
    }

    private static void q2k(MemorySegment s, long blk, short[] codes, int o, int[] scales, int[] mins, int ro,
                            float[] d, float[] dmin, int bo) {
        d[bo] = f16(s, blk + 80);
        dmin[bo] = f16(s, blk + 82);
        for (int j = 0; j < RUNS; j++) {   // run 8c + 2j + h is value 128c + 32j + 16h: its field is byte 8c + 2j + h
            int sc = u8(s, blk + j);
            scales[ro + j] = sc & 0xF;
            mins[ro + j] = sc >>> 4;
        }
        // byte 32c + m: value 128c + 32j + m in bits 2j, 2j+1
        for (int c = 0; c < 2; c++) {
            for (int m = 0; m < 32; m += L) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, s, blk + 16 + 32 * c + m, Simd.LE)
                        .convertShape(VectorOperators.B2S, S, 0);
                for (int j = 0; j < 4; j++) {
                    v.lanewise(VectorOperators.LSHR, 2 * j).and((short) 3).intoArray(codes, o + 128 * c + 32 * j + m);
                }
            }
        }
    }

    private static void q3k(MemorySegment s, long blk, short[] codes, int o, int[] scales, int[] mins, int ro,
                            float[] d, float[] dmin, int bo) {
        d[bo] = f16(s, blk + 108);
        dmin[bo] = 0f;
        for (int j = 0; j < RUNS; j++) {
            scales[ro + j] = KQuants.scaleQ3(s, blk + 96, j);
            mins[ro + j] = 0;
        }
        // quant byte 32c + m and hmask byte m: value 128c + 32j + m, its high bit bit 4c + j of the hmask byte
        for (int c = 0; c < 2; c++) {
            for (int m = 0; m < 32; m += L) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, s, blk + 32 + 32 * c + m, Simd.LE)
                        .convertShape(VectorOperators.B2S, S, 0);
                // the hmask bit of shift j, moved to bit 2: code = (2 bits | high << 2) - 4
                ShortVector h = ((ShortVector) ByteVector.fromMemorySegment(BYTES, s, blk + m, Simd.LE)
                        .convertShape(VectorOperators.B2S, S, 0)).lanewise(VectorOperators.LSHL, 2);
                for (int j = 0; j < 4; j++) {
                    v.lanewise(VectorOperators.LSHR, 2 * j).and((short) 3)
                            .or(h.lanewise(VectorOperators.LSHR, 4 * c + j).and((short) 4))
                            .sub((short) 4).intoArray(codes, o + 128 * c + 32 * j + m);
                }
            }
        }
    }

    /** Code {@code i} (0..255) of the super-block at {@code blk}, scalar, straight from the format. */
    static int code(GgmlType t, MemorySegment s, long blk, int i) {
        int c = i / 128, j = i % 128 / 32, h = i % 32 / 16, l = i % 16;
        return switch (t) {
            case Q4_K -> {
                int q = u8(s, blk + 16 + 32 * (i / 64) + i % 32);
                yield i % 64 < 32 ? q & 0xF : q >>> 4;
            }
            case Q2_K -> (u8(s, blk + 16 + 32 * c + 16 * h + l) >>> (2 * j)) & 3;
            case Q3_K -> {
                int q = (u8(s, blk + 32 + 32 * c + 16 * h + l) >>> (2 * j)) & 3;
                int high = (u8(s, blk + 16 * h + l) >>> (4 * c + j)) & 1;
                yield q - (high != 0 ? 0 : 4);
            }
            default -> throw new IllegalArgumentException(t + " has no integer super-block codes here");
        };
    }

    /**
     * Row of {@code n} values of type {@code t} at {@code src[offset ..]} dotted with {@code x}'s Q8_K codes from
     * value {@code xOffset}: the scalar twin of the batched kernel ({@code KQuantTokenLanesGemm}), every field read
     * with scalar code.
     */
    public static float dotQ8KScalar(GgmlType t, MemorySegment src, long offset, Q8KActivation x, int xOffset, int n) {
        if (!supports(t) || n % BLOCK != 0 || xOffset % BLOCK != 0) {
            throw new IllegalArgumentException(t + ": " + n + " values from " + xOffset);
        }
        long bytes = t.blockBytes();
        float sum = 0f;
        for (int b = 0; b < n / BLOCK; b++) {
            long blk = offset + b * bytes;
            int xb = xOffset + b * BLOCK;
            float d, dmin;
            int big = 0, small = 0;
            switch (t) {
                case Q4_K -> { d = f16(src, blk); dmin = f16(src, blk + 2); }
                case Q2_K -> { d = f16(src, blk + 80); dmin = f16(src, blk + 82); }
                default -> { d = f16(src, blk + 108); dmin = 0f; }
            }
            for (int r = 0; r < RUNS; r++) {
                int sc, m;
                switch (t) {
                    case Q4_K -> { sc = KQuants.scaleK4(src, blk + 4, r / 2); m = KQuants.minK4(src, blk + 4, r / 2); }
                    case Q2_K -> { sc = u8(src, blk + r) & 0xF; m = u8(src, blk + r) >>> 4; }
                    default -> { sc = KQuants.scaleQ3(src, blk + 96, r); m = 0; }
                }
                int run = 0;
                for (int i = 0; i < RUN; i++) run += code(t, src, blk, RUN * r + i) * x.code(xb + RUN * r + i);
                big += sc * run;
                small += m * x.runSum((xb + RUN * r) / RUN);
            }
            sum += x.scale(xb / BLOCK) * (d * (float) big - dmin * (float) small);
        }
        return sum;
    }
}
