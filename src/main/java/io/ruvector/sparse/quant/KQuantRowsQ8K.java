package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * One K-quant row in the file's layout times a Q8_K activation ({@link Q8KDotProduct}), for Q4_K, Q5_K and
 * Q6_K, with scalar twins. The sparse feed-forward block multiplies its selected gate and up rows with these.
 *
 * <p>Vector kernels: the row's codes widened to 16-bit lanes and multiplied by the activation's codes loaded
 * as vectors (where the interleaved kernels broadcast one code over 32 rows); a vector of values always lies in
 * one sub-block (at most 32 lanes of shorts, sub-blocks of 32, or of 16 for Q6_K whose int halves then lie in
 * one), so each sub-block sum is scaled in int lanes by its scale and everything is reduced once per
 * super-block. Integer sums are exact, so the lane order does not matter; the float steps are the twins'.
 * Bounds of the 16-bit sums: Q4_K at most 4 products of 15 * 127 per lane (128-bit vectors), Q5_K 4 of
 * 31 * 127, Q6_K one of 32 * 127.
 */
final class KQuantRowsQ8K {

    private static final VectorSpecies<Short> S = Simd.S;
    private static final int LS = S.length();
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(LS * 8));
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final int QK = Q8KActivation.BLOCK;

    private KQuantRowsQ8K() {}

    /** Checks a row of {@code n} values of {@code type} at {@code offset} against {@code x}; returns super-blocks. */
    private static int check(TensorType type, MemorySegment src, long offset, Q8KActivation x, int n) {
        int nb = KQuants.blocks(type, n);
        if (x.length() < n) throw new IllegalArgumentException(type.ggmlType() + ": " + n + " values, the activation has " + x.length());
        long bytes = (long) nb * type.blockBytes();
        if (offset < 0 || offset > src.byteSize() - bytes) {
            throw new IndexOutOfBoundsException(type.ggmlType() + ": " + n + " values take " + bytes
                    + " bytes at offset " + offset + ", the segment has " + src.byteSize());
        }
        return nb;
    }

    /**
     * Bytes at {@code at} as unsigned 16-bit lanes: sign-extended, then masked. Not {@code ZERO_EXTEND_B2S}, whose
     * JDK path carries a type check shared by every kernel in the JVM; these rows run in sparse decoding after
     * prompt batches, where that check made C2 box the interleaved kernels' vectors (DecodeKernelConversionsTest).
     */
    private static ShortVector widen(MemorySegment src, long at) {
        return ((ShortVector) ByteVector.fromMemorySegment(BYTES, src, at, Simd.LE).convertShape(VectorOperators.B2S, S, 0))
                .and((short) 0xFF);
    }

    // ---- Q4_K: d, dmin, 12 bytes of scales and mins, 128 bytes of nibbles ----

    static float q4K(MemorySegment src, long offset, Q8KActivation x, int n) {
        int nb = check(Q4_K.INSTANCE, src, offset, x, n);
        short[] q = x.q;
        int[] runs = x.sum16;
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * Q4_K.BYTES;
            long low = src.get(KQuants.LONG, blk + 4);
            int high = src.get(KQuants.INT, blk + 12);
            IntVector acc = IntVector.zero(I);
            int summ = 0;
            for (int p = 0; p < 4; p++) {   // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
                long codes = blk + 16 + 32 * p;
                int xb = b * QK + 64 * p;
                ShortVector lo = ShortVector.zero(S);
                ShortVector hi = ShortVector.zero(S);
                for (int k = 0; k < 32; k += LS) {
                    ShortVector v = widen(src, codes + k);
                    lo = lo.add(v.and((short) 0xF).mul(ShortVector.fromArray(S, q, xb + k)));
                    hi = hi.add(v.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(S, q, xb + 32 + k)));
                }
                // Pairs of 16-bit lanes summed in int lanes: the low short sign-extended plus the high one.
                IntVector wLo = lo.reinterpretAsInts();
                IntVector wHi = hi.reinterpretAsInts();
                IntVector sLo = wLo.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(wLo.lanewise(VectorOperators.ASHR, 16));
                IntVector sHi = wHi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(wHi.lanewise(VectorOperators.ASHR, 16));
                acc = acc.add(sLo.mul(KQuants.scaleK4(low, high, 2 * p))).add(sHi.mul(KQuants.scaleK4(low, high, 2 * p + 1)));
                int r = b * 16 + 4 * p;
                summ += KQuants.minK4(low, high, 2 * p) * (runs[r] + runs[r + 1])
                        + KQuants.minK4(low, high, 2 * p + 1) * (runs[r + 2] + runs[r + 3]);
            }
            int sumi = acc.reduceLanes(VectorOperators.ADD);
            float dx = x.d[b];
            sum = sum + sumi * (KQuants.f16(src, blk) * dx);
            sum = sum - summ * (KQuants.f16(src, blk + 2) * dx);
        }
        return sum;
    }

    static float q4KScalar(MemorySegment src, long offset, Q8KActivation x, int n) {
        int nb = check(Q4_K.INSTANCE, src, offset, x, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * Q4_K.BYTES;
            int sumi = 0;
            int summ = 0;
            for (int j = 0; j < 8; j++) {
                int s = 0;
                for (int l = 0; l < 32; l++) {
                    int c = KQuants.u8(src, blk + 16 + 32 * (j / 2) + l);
                    s += ((j & 1) == 0 ? c & 0xF : c >>> 4) * x.q[b * QK + 32 * j + l];
                }
                sumi += KQuants.scaleK4(src, blk + 4, j) * s;
                summ += KQuants.minK4(src, blk + 4, j) * (x.sum16[b * 16 + 2 * j] + x.sum16[b * 16 + 2 * j + 1]);
            }
            sum = sum + sumi * (KQuants.f16(src, blk) * x.d[b]);
            sum = sum - summ * (KQuants.f16(src, blk + 2) * x.d[b]);
        }
        return sum;
    }

    // ---- Q5_K: d, dmin, 12 bytes of scales and mins, 32 bytes of fifth bits, 128 bytes of nibbles ----

    static float q5K(MemorySegment src, long offset, Q8KActivation x, int n) {
        int nb = check(Q5_K.INSTANCE, src, offset, x, n);
        short[] q = x.q;
        int[] runs = x.sum16;
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * Q5_K.BYTES;
            long low = src.get(KQuants.LONG, blk + 4);
            int high = src.get(KQuants.INT, blk + 12);
            IntVector acc = IntVector.zero(I);
            int summ = 0;
            for (int p = 0; p < 4; p++) {   // sub-blocks 2p (low nibbles, fifth bit 2p) and 2p + 1 (high, bit 2p + 1)
                long codes = blk + 48 + 32 * p;
                int xb = b * QK + 64 * p;
                ShortVector lo = ShortVector.zero(S);
                ShortVector hi = ShortVector.zero(S);
                for (int k = 0; k < 32; k += LS) {
                    ShortVector v = widen(src, codes + k);
                    ShortVector h = widen(src, blk + 16 + k).lanewise(VectorOperators.LSHR, 2 * p);
                    ShortVector cLo = v.and((short) 0xF).or(h.and((short) 1).lanewise(VectorOperators.LSHL, 4));
                    ShortVector cHi = v.lanewise(VectorOperators.LSHR, 4).or(h.and((short) 2).lanewise(VectorOperators.LSHL, 3));
                    lo = lo.add(cLo.mul(ShortVector.fromArray(S, q, xb + k)));
                    hi = hi.add(cHi.mul(ShortVector.fromArray(S, q, xb + 32 + k)));
                }
                // Pairs of 16-bit lanes summed in int lanes: the low short sign-extended plus the high one.
                IntVector wLo = lo.reinterpretAsInts();
                IntVector wHi = hi.reinterpretAsInts();
                IntVector sLo = wLo.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(wLo.lanewise(VectorOperators.ASHR, 16));
                IntVector sHi = wHi.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(wHi.lanewise(VectorOperators.ASHR, 16));
                acc = acc.add(sLo.mul(KQuants.scaleK4(low, high, 2 * p))).add(sHi.mul(KQuants.scaleK4(low, high, 2 * p + 1)));
                int r = b * 16 + 4 * p;
                summ += KQuants.minK4(low, high, 2 * p) * (runs[r] + runs[r + 1])
                        + KQuants.minK4(low, high, 2 * p + 1) * (runs[r + 2] + runs[r + 3]);
            }
            int sumi = acc.reduceLanes(VectorOperators.ADD);
            float dx = x.d[b];
            sum = sum + sumi * (KQuants.f16(src, blk) * dx);
            sum = sum - summ * (KQuants.f16(src, blk + 2) * dx);
        }
        return sum;
    }

    static float q5KScalar(MemorySegment src, long offset, Q8KActivation x, int n) {
        int nb = check(Q5_K.INSTANCE, src, offset, x, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * Q5_K.BYTES;
            int sumi = 0;
            int summ = 0;
            for (int j = 0; j < 8; j++) {
                int s = 0;
                for (int l = 0; l < 32; l++) {
                    int c = KQuants.u8(src, blk + 48 + 32 * (j / 2) + l);
                    int fifth = (KQuants.u8(src, blk + 16 + l) >>> j & 1) << 4;
                    s += (((j & 1) == 0 ? c & 0xF : c >>> 4) | fifth) * x.q[b * QK + 32 * j + l];
                }
                sumi += KQuants.scaleK4(src, blk + 4, j) * s;
                summ += KQuants.minK4(src, blk + 4, j) * (x.sum16[b * 16 + 2 * j] + x.sum16[b * 16 + 2 * j + 1]);
            }
            sum = sum + sumi * (KQuants.f16(src, blk) * x.d[b]);
            sum = sum - summ * (KQuants.f16(src, blk + 2) * x.d[b]);
        }
        return sum;
    }

    // ---- Q6_K: 128 bytes of low nibbles, 64 of high bit pairs, 16 signed scales, d ----

    static float q6K(MemorySegment src, long offset, Q8KActivation x, int n) {
        int nb = check(Q6_K.INSTANCE, src, offset, x, n);
        short[] q = x.q;
        float sum = 0f;
        int half = LS / 2;
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * Q6_K.BYTES;
            long sc = blk + 192;
            IntVector acc = IntVector.zero(I);
            for (int c = 0; c < 2; c++) {   // values 128c + 32m + l, m = 0..3, from ql[64c + l], ql[64c + 32 + l], qh[32c + l]
                for (int k = 0; k < 32; k += LS) {
                    ShortVector ql0 = widen(src, blk + 64 * c + k);
                    ShortVector ql1 = widen(src, blk + 64 * c + 32 + k);
                    ShortVector qh = widen(src, blk + 128 + 32 * c + k);
                    int v = b * QK + 128 * c + k;   // value of lane 0 for m = 0
                    int j = (128 * c + k) / 16;     // its sub-block; m adds 2, the upper int half adds half / 16
                    int jh = (128 * c + k + half) / 16;
                    ShortVector p0 = ql0.and((short) 0xF).or(qh.and((short) 3).lanewise(VectorOperators.LSHL, 4))
                            .sub((short) 32).mul(ShortVector.fromArray(S, q, v));
                    ShortVector p1 = ql1.and((short) 0xF).or(qh.lanewise(VectorOperators.LSHL, 2).and((short) 0x30))
                            .sub((short) 32).mul(ShortVector.fromArray(S, q, v + 32));
                    ShortVector p2 = ql0.lanewise(VectorOperators.LSHR, 4).or(qh.and((short) 0x30))
                            .sub((short) 32).mul(ShortVector.fromArray(S, q, v + 64));
                    ShortVector p3 = ql1.lanewise(VectorOperators.LSHR, 4).or(qh.lanewise(VectorOperators.LSHR, 2).and((short) 0x30))
                            .sub((short) 32).mul(ShortVector.fromArray(S, q, v + 96));
                    acc = acc.add(((IntVector) p0.convertShape(VectorOperators.S2I, I, 0)).mul(KQuants.s8(src, sc + j)))
                            .add(((IntVector) p0.convertShape(VectorOperators.S2I, I, 1)).mul(KQuants.s8(src, sc + jh)))
                            .add(((IntVector) p1.convertShape(VectorOperators.S2I, I, 0)).mul(KQuants.s8(src, sc + j + 2)))
                            .add(((IntVector) p1.convertShape(VectorOperators.S2I, I, 1)).mul(KQuants.s8(src, sc + jh + 2)))
                            .add(((IntVector) p2.convertShape(VectorOperators.S2I, I, 0)).mul(KQuants.s8(src, sc + j + 4)))
                            .add(((IntVector) p2.convertShape(VectorOperators.S2I, I, 1)).mul(KQuants.s8(src, sc + jh + 4)))
                            .add(((IntVector) p3.convertShape(VectorOperators.S2I, I, 0)).mul(KQuants.s8(src, sc + j + 6)))
                            .add(((IntVector) p3.convertShape(VectorOperators.S2I, I, 1)).mul(KQuants.s8(src, sc + jh + 6)));
                }
            }
            int sumi = acc.reduceLanes(VectorOperators.ADD);
            sum = sum + sumi * (KQuants.f16(src, blk + 208) * x.d[b]);
        }
        return sum;
    }

    static float q6KScalar(MemorySegment src, long offset, Q8KActivation x, int n) {
        int nb = check(Q6_K.INSTANCE, src, offset, x, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * Q6_K.BYTES;
            int sumi = 0;
            for (int j = 0; j < 16; j++) {   // values 16j .. 16j + 15 = 128c + 32m + l
                int s = 0;
                for (int i = 0; i < 16; i++) {
                    int v = 16 * j + i;
                    int c = v / 128, m = (v % 128) / 32, l = v % 32;
                    int ql = KQuants.u8(src, blk + 64 * c + 32 * (m & 1) + l);
                    int qh = KQuants.u8(src, blk + 128 + 32 * c + l);
                    int code = ((m < 2 ? ql & 0xF : ql >>> 4) | (qh >>> 2 * m & 3) << 4) - 32;
                    s += code * x.q[b * QK + v];
                }
                sumi += KQuants.s8(src, blk + 192 + j) * s;
            }
            sum = sum + sumi * (KQuants.f16(src, blk + 208) * x.d[b]);
        }
        return sum;
    }
}
