package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;

/**
 * A Q2_K matrix with rows interleaved by 32 ({@link InterleavedKQuant}), as large as the rows it covers.
 *
 * <p>Layout, group {@code g}, super-block {@code b}, {@value #SB} bytes at {@code (g * blocks + b) * SB}, in the
 * order the kernel reads it: four parts {@code 2c + s}, each the 32 rows' code bytes {@code qs[32c + 16s + l]}
 * for {@code l < 16} (512 bytes; bits {@code 2j..2j+1} hold value {@code 128c + 32j + 16s + l}, as in
 * {@code block_q2_K}), then the 32 rows' scale bytes (4-bit scale, 4-bit min) of the part's sub-blocks
 * {@code 8c + 2j + s}, j < 4 (128); then the 32 rows' fp16 {@code d} (64) and fp16 {@code dmin} (64).
 *
 * <p>Per row and super-block the kernel computes {@code sumi = sum_j scale_j * sum(code * q)} and
 * {@code summ = sum_j min_j * (q sum of sub-block j)} in integers, then
 * {@code acc = acc + sumi * (d * dx) - summ * (dmin * dx)} in floats, in that order.
 */
public final class InterleavedQ2_K extends InterleavedKQuant {

    private static final int ROW_BYTES = Q2_K.BYTES;
    private static final int PART = 20 * GROUP;   // 16 code bytes and 4 scale bytes, for 32 rows
    private static final int D = 4 * PART;
    private static final int DMIN = D + 2 * GROUP;
    static final int SB = DMIN + 2 * GROUP;

    InterleavedQ2_K(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
    }

    @Override
    public GgmlType ggmlType() { return GgmlType.Q2_K; }

    static InterleavedQ2_K copyOf(QuantMatrix w, SegmentAllocator memory, Parallel pool) {
        MemorySegment dst = interleave(w, memory, pool, ROW_BYTES, SB, new int[] {80, 82}, InterleavedQ2_K::pack);
        return dst == null ? null : new InterleavedQ2_K(w.name(), w.rows(), w.cols(), dst);
    }

    /** Row {@code i}'s super-block {@code in}, in the file's layout, into its lanes of the group's {@code out}. */
    private static void pack(byte[] in, byte[] out, int i) {
        out[D + 2 * i] = in[80];
        out[D + 2 * i + 1] = in[81];
        out[DMIN + 2 * i] = in[82];
        out[DMIN + 2 * i + 1] = in[83];
        for (int sb = 0; sb < 16; sb++) out[scaleAt(sb) + i] = in[sb];
        for (int k = 0; k < 64; k++) out[codeAt(k) + i] = in[16 + k];
    }

    /** Offset in a super-block of the 32 rows' code byte {@code qs[k]} (k < 64): part {@code k / 16}. */
    private static int codeAt(int k) { return (k >> 4) * PART + (k & 15) * GROUP; }

    /** Offset of the 32 rows' scale byte of sub-block {@code 8c + 2j + s} (0..15): in part {@code 2c + s}. */
    private static int scaleAt(int sb) { return (2 * (sb >> 3) + (sb & 1)) * PART + 16 * GROUP + ((sb & 7) >> 1) * GROUP; }

    @Override
    public void dotQ8KScalar(Q8KActivation x, float[] out, int outOffset, int groupFrom, int groupTo) {
        InterleavedKQuant.check(this, x, out, outOffset, groupFrom, groupTo);
        for (int g = groupFrom; g < groupTo; g++) {
            for (int i = 0; i < GROUP && g * GROUP + i < rows; i++) {
                float sum = 0f;
                for (int b = 0; b < blocks; b++) {
                    long base = ((long) g * blocks + b) * SB;
                    int sumi = 0;
                    int summ = 0;
                    for (int sb = 0; sb < 16; sb++) {   // values 128c + 32j + 16s + l
                        int c = sb >> 3;
                        int j = (sb & 7) >> 1;
                        int s = sb & 1;
                        int acc = 0;
                        for (int l = 0; l < 16; l++) {
                            int q = data.get(ValueLayout.JAVA_BYTE, base + codeAt(32 * c + 16 * s + l) + i) >>> 2 * j & 3;
                            acc += q * x.q[b * QK + 128 * c + 32 * j + 16 * s + l];
                        }
                        int scale = data.get(ValueLayout.JAVA_BYTE, base + scaleAt(sb) + i) & 0xFF;
                        sumi += (scale & 0xF) * acc;
                        summ += (scale >>> 4) * x.sum16[b * 16 + sb];
                    }
                    float dx = x.d[b];
                    sum = sum + sumi * (Fp16.read(data, base + D + 2L * i) * dx);
                    sum = sum - summ * (Fp16.read(data, base + DMIN + 2L * i) * dx);
                }
                out[outOffset + g * GROUP + i] = sum;
            }
        }
    }

    /**
     * The LS rows of chunk {@code c} of group {@code g}, one per lane. Codes (0..3) times activation codes
     * accumulate in 16-bit lanes, one accumulator per sub-block of 16 (16 * 3 * 127 = 6096); the rest is in int
     * lanes, then floats as in {@link #dotQ8KScalar}. fp16 scales widened as in {@link InterleavedQ4_K}.
     */
    @Override
    void chunk(Q8KActivation x, float[] out, int outOffset, int g, int c) {
        short[] q = x.q;
        float[] dx = x.d;
        int[] runs = x.sum16;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        long lane = (long) c * LS;
        long groupBase = (long) g * blocks * SB;
        for (int b = 0; b < blocks; b++) {
            long base = groupBase + (long) b * SB;
            IntVector sumi0 = IntVector.zero(I);
            IntVector sumi1 = IntVector.zero(I);
            IntVector summ0 = IntVector.zero(I);
            IntVector summ1 = IntVector.zero(I);
            for (int part = 0; part < 4; part++) {   // half part / 2, positions 16 (part % 2) ..: sub-blocks 8(part/2) + 2j + part%2
                int xb = b * QK + 128 * (part >> 1) + 16 * (part & 1);
                long codes = base + (long) part * PART + lane;
                ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S), a2 = ShortVector.zero(S), a3 = ShortVector.zero(S);
                for (int l = 0; l < 16; l++) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, codes + (long) l * GROUP, Simd.LE)
                            .convertShape(VectorOperators.B2S, S, 0);
                    a0 = a0.add(v.and((short) 3).mul(q[xb + l]));
                    a1 = a1.add(v.lanewise(VectorOperators.LSHR, 2).and((short) 3).mul(q[xb + 32 + l]));
                    a2 = a2.add(v.lanewise(VectorOperators.LSHR, 4).and((short) 3).mul(q[xb + 64 + l]));
                    a3 = a3.add(v.lanewise(VectorOperators.LSHR, 6).and((short) 3).mul(q[xb + 96 + l]));
                }
                long sc = codes + 16 * GROUP;   // sub-block j of this part at sc + j * GROUP
                int run = b * 16 + 8 * (part >> 1) + (part & 1);   // its q sums at run + 2j
                ByteVector s0 = ByteVector.fromMemorySegment(BYTES, data, sc, Simd.LE);
                ByteVector s1 = ByteVector.fromMemorySegment(BYTES, data, sc + GROUP, Simd.LE);
                ByteVector s2 = ByteVector.fromMemorySegment(BYTES, data, sc + 2 * GROUP, Simd.LE);
                ByteVector s3 = ByteVector.fromMemorySegment(BYTES, data, sc + 3 * GROUP, Simd.LE);
                IntVector w00 = (IntVector) s0.convertShape(VectorOperators.B2I, I, 0);
                IntVector w01 = (IntVector) s0.convertShape(VectorOperators.B2I, I, 1);
                IntVector w10 = (IntVector) s1.convertShape(VectorOperators.B2I, I, 0);
                IntVector w11 = (IntVector) s1.convertShape(VectorOperators.B2I, I, 1);
                IntVector w20 = (IntVector) s2.convertShape(VectorOperators.B2I, I, 0);
                IntVector w21 = (IntVector) s2.convertShape(VectorOperators.B2I, I, 1);
                IntVector w30 = (IntVector) s3.convertShape(VectorOperators.B2I, I, 0);
                IntVector w31 = (IntVector) s3.convertShape(VectorOperators.B2I, I, 1);
                sumi0 = sumi0.add(((IntVector) a0.convertShape(VectorOperators.S2I, I, 0)).mul(w00.and(0xF)))
                        .add(((IntVector) a1.convertShape(VectorOperators.S2I, I, 0)).mul(w10.and(0xF)))
                        .add(((IntVector) a2.convertShape(VectorOperators.S2I, I, 0)).mul(w20.and(0xF)))
                        .add(((IntVector) a3.convertShape(VectorOperators.S2I, I, 0)).mul(w30.and(0xF)));
                sumi1 = sumi1.add(((IntVector) a0.convertShape(VectorOperators.S2I, I, 1)).mul(w01.and(0xF)))
                        .add(((IntVector) a1.convertShape(VectorOperators.S2I, I, 1)).mul(w11.and(0xF)))
                        .add(((IntVector) a2.convertShape(VectorOperators.S2I, I, 1)).mul(w21.and(0xF)))
                        .add(((IntVector) a3.convertShape(VectorOperators.S2I, I, 1)).mul(w31.and(0xF)));
                summ0 = summ0.add(w00.lanewise(VectorOperators.LSHR, 4).and(0xF).mul(runs[run]))
                        .add(w10.lanewise(VectorOperators.LSHR, 4).and(0xF).mul(runs[run + 2]))
                        .add(w20.lanewise(VectorOperators.LSHR, 4).and(0xF).mul(runs[run + 4]))
                        .add(w30.lanewise(VectorOperators.LSHR, 4).and(0xF).mul(runs[run + 6]));
                summ1 = summ1.add(w01.lanewise(VectorOperators.LSHR, 4).and(0xF).mul(runs[run]))
                        .add(w11.lanewise(VectorOperators.LSHR, 4).and(0xF).mul(runs[run + 2]))
                        .add(w21.lanewise(VectorOperators.LSHR, 4).and(0xF).mul(runs[run + 4]))
                        .add(w31.lanewise(VectorOperators.LSHR, 4).and(0xF).mul(runs[run + 6]));
            }
            float d = dx[b];
            ShortVector dh = ShortVector.fromMemorySegment(S, data, base + D + 2 * lane, Simd.LE);
            ShortVector mh = ShortVector.fromMemorySegment(S, data, base + DMIN + 2 * lane, Simd.LE);
            IntVector d0 = (IntVector) dh.convertShape(VectorOperators.S2I, I, 0);
            IntVector d1 = (IntVector) dh.convertShape(VectorOperators.S2I, I, 1);
            IntVector m0 = (IntVector) mh.convertShape(VectorOperators.S2I, I, 0);
            IntVector m1 = (IntVector) mh.convertShape(VectorOperators.S2I, I, 1);
            // Written out, not in a helper: see Q4_0.dot on helpers that take and return vectors.
            FloatVector fd0 = ((FloatVector) d0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(d0.and(0x80000000))
                    .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(0x1p112f).mul(d);
            FloatVector fd1 = ((FloatVector) d1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(d1.and(0x80000000))
                    .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(0x1p112f).mul(d);
            FloatVector fm0 = ((FloatVector) m0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(m0.and(0x80000000))
                    .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(0x1p112f).mul(d);
            FloatVector fm1 = ((FloatVector) m1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(m1.and(0x80000000))
                    .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(0x1p112f).mul(d);
            acc0 = acc0.add(((FloatVector) sumi0.convertShape(VectorOperators.I2F, F, 0)).mul(fd0))
                    .sub(((FloatVector) summ0.convertShape(VectorOperators.I2F, F, 0)).mul(fm0));
            acc1 = acc1.add(((FloatVector) sumi1.convertShape(VectorOperators.I2F, F, 0)).mul(fd1))
                    .sub(((FloatVector) summ1.convertShape(VectorOperators.I2F, F, 0)).mul(fm1));
        }
        int r = g * GROUP + c * LS;
        if (r + 2 * LF <= rows) {
            acc0.intoArray(out, outOffset + r);
            acc1.intoArray(out, outOffset + r + LF);
        } else {   // the last, partial group: padding lanes are not written
            acc0.intoArray(out, outOffset + r, F.indexInRange(r, rows));
            acc1.intoArray(out, outOffset + r + LF, F.indexInRange(r + LF, rows));
        }
    }
}
