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
 * A Q3_K matrix with rows interleaved by 32 ({@link InterleavedKQuant}).
 *
 * <p>Layout, group {@code g}, super-block {@code b}, {@value #SB} bytes at {@code (g * blocks + b) * SB}, in the
 * order the kernel reads it: four parts {@code 2c + s}, each the 32 rows' code bytes {@code qs[32c + 16s + l]}
 * for {@code l < 16} (512 bytes; bits {@code 2j..2j+1} hold the low bits of value {@code 128c + 32j + 16s + l},
 * as in {@code block_q3_K}), then for {@code t < 8} the 32 rows' byte of third bits of positions {@code t}
 * (low nibble, bit j for value j) and {@code t + 8} (high nibble), taken from bits {@code 4c..4c+3} of
 * {@code hmask[16s + l]} (256), then the part's four signed 6-bit scales (sub-blocks {@code 8c + 2j + s}) as
 * bytes (128); then the 32 rows' fp16 {@code d} (64). The copy is 3.6% larger than the rows (scales unpacked).
 *
 * <p>Codes are taken unsigned ({@code u = q | third << 2}, 0..7) and the offset of 4 is applied in integers
 * with the activation's sums of 16: per row and super-block {@code sumi = sum_j scale_j * (sum(u * q) - 4 *
 * (q sum of sub-block j))}, then {@code acc = acc + sumi * (d * dx)} in floats.
 */
public final class InterleavedQ3_K extends InterleavedKQuant {

    private static final int ROW_BYTES = Q3_K.BYTES;
    private static final int PART = 28 * GROUP;   // 16 code bytes, 8 third-bit bytes, 4 scales, for 32 rows
    private static final int D = 4 * PART;
    static final int SB = D + 2 * GROUP;

    InterleavedQ3_K(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
    }

    @Override
    public GgmlType ggmlType() { return GgmlType.Q3_K; }

    static InterleavedQ3_K copyOf(QuantMatrix w, SegmentAllocator memory, Parallel pool) {
        MemorySegment dst = interleave(w, memory, pool, ROW_BYTES, SB, new int[] {108}, InterleavedQ3_K::pack);
        return dst == null ? null : new InterleavedQ3_K(w.name(), w.rows(), w.cols(), dst);
    }

    /** Row {@code i}'s super-block {@code in}, in the file's layout, into its lanes of the group's {@code out}. */
    private static void pack(byte[] in, byte[] out, int i) {
        out[D + 2 * i] = in[108];
        out[D + 2 * i + 1] = in[109];
        for (int sb = 0; sb < 16; sb++) out[scaleAt(sb) + i] = (byte) KQuants.scaleQ3(MemorySegment.ofArray(in), 96, sb);
        for (int part = 0; part < 4; part++) {
            int c = part >> 1;
            int s = part & 1;
            for (int l = 0; l < 16; l++) out[part * PART + l * GROUP + i] = in[32 + 32 * c + 16 * s + l];
            for (int t = 0; t < 8; t++) {
                int lo = (in[16 * s + t] & 0xFF) >>> 4 * c & 0xF;
                int hi = (in[16 * s + t + 8] & 0xFF) >>> 4 * c & 0xF;
                out[part * PART + (16 + t) * GROUP + i] = (byte) (lo | hi << 4);
            }
        }
    }

    /** Offset of the 32 rows' scale of sub-block {@code 8c + 2j + s} (0..15): in part {@code 2c + s}. */
    private static int scaleAt(int sb) { return (2 * (sb >> 3) + (sb & 1)) * PART + 24 * GROUP + ((sb & 7) >> 1) * GROUP; }

    @Override
    public void dotQ8KScalar(Q8KActivation x, float[] out, int outOffset, int groupFrom, int groupTo) {
        InterleavedKQuant.check(this, x, out, outOffset, groupFrom, groupTo);
        for (int g = groupFrom; g < groupTo; g++) {
            for (int i = 0; i < GROUP && g * GROUP + i < rows; i++) {
                float sum = 0f;
                for (int b = 0; b < blocks; b++) {
                    long base = ((long) g * blocks + b) * SB;
                    int sumi = 0;
                    for (int sb = 0; sb < 16; sb++) {   // values 128c + 32j + 16s + l
                        int c = sb >> 3;
                        int j = (sb & 7) >> 1;
                        int s = sb & 1;
                        long part = base + (long) (2 * c + s) * PART;
                        int acc = 0;
                        for (int l = 0; l < 16; l++) {
                            int low = data.get(ValueLayout.JAVA_BYTE, part + (long) l * GROUP + i) >>> 2 * j & 3;
                            int thirds = data.get(ValueLayout.JAVA_BYTE, part + (long) (16 + l % 8) * GROUP + i) & 0xFF;
                            int third = thirds >>> (l < 8 ? j : 4 + j) & 1;
                            acc += (low | third << 2) * x.q[b * QK + 128 * c + 32 * j + 16 * s + l];
                        }
                        sumi += data.get(ValueLayout.JAVA_BYTE, base + scaleAt(sb) + i) * (acc - 4 * x.sum16[b * 16 + sb]);
                    }
                    sum = sum + sumi * (Fp16.read(data, base + D + 2L * i) * x.d[b]);
                }
                out[outOffset + g * GROUP + i] = sum;
            }
        }
    }

    /**
     * The LS rows of chunk {@code c} of group {@code g}, one per lane. Unsigned codes (0..7) times activation
     * codes accumulate in 16-bit lanes, one accumulator per sub-block of 16 (16 * 7 * 127 = 14224); the rest is
     * in int lanes, then floats as in {@link #dotQ8KScalar}. fp16 {@code d} widened as in {@link InterleavedQ4_K}.
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
            for (int part = 0; part < 4; part++) {   // half part / 2, positions 16 (part % 2) ..: sub-blocks 8(part/2) + 2j + part%2
                int xb = b * QK + 128 * (part >> 1) + 16 * (part & 1);
                long codes = base + (long) part * PART + lane;
                ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S), a2 = ShortVector.zero(S), a3 = ShortVector.zero(S);
                for (int t = 0; t < 8; t++) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, codes + (long) t * GROUP, Simd.LE)
                            .convertShape(VectorOperators.B2S, S, 0);
                    ShortVector w = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, codes + (long) (t + 8) * GROUP, Simd.LE)
                            .convertShape(VectorOperators.B2S, S, 0);
                    ShortVector h = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, codes + (long) (16 + t) * GROUP, Simd.LE)
                            .convertShape(VectorOperators.B2S, S, 0);
                    // position t: third bit j of h moved to bit 2; position t + 8: bit 4 + j moved to bit 2
                    a0 = a0.add(v.and((short) 3).or(h.lanewise(VectorOperators.LSHL, 2).and((short) 4)).mul(q[xb + t]))
                            .add(w.and((short) 3).or(h.lanewise(VectorOperators.LSHR, 2).and((short) 4)).mul(q[xb + t + 8]));
                    a1 = a1.add(v.lanewise(VectorOperators.LSHR, 2).and((short) 3).or(h.lanewise(VectorOperators.LSHL, 1).and((short) 4))
                                    .mul(q[xb + 32 + t]))
                            .add(w.lanewise(VectorOperators.LSHR, 2).and((short) 3).or(h.lanewise(VectorOperators.LSHR, 3).and((short) 4))
                                    .mul(q[xb + 32 + t + 8]));
                    a2 = a2.add(v.lanewise(VectorOperators.LSHR, 4).and((short) 3).or(h.and((short) 4)).mul(q[xb + 64 + t]))
                            .add(w.lanewise(VectorOperators.LSHR, 4).and((short) 3).or(h.lanewise(VectorOperators.LSHR, 4).and((short) 4))
                                    .mul(q[xb + 64 + t + 8]));
                    a3 = a3.add(v.lanewise(VectorOperators.LSHR, 6).and((short) 3).or(h.lanewise(VectorOperators.LSHR, 1).and((short) 4)).mul(q[xb + 96 + t]))
                            .add(w.lanewise(VectorOperators.LSHR, 6).and((short) 3).or(h.lanewise(VectorOperators.LSHR, 5).and((short) 4))
                                    .mul(q[xb + 96 + t + 8]));
                }
                long sc = codes + 24 * GROUP;   // sub-block j of this part at sc + j * GROUP
                int run = b * 16 + 8 * (part >> 1) + (part & 1);   // its q sums at run + 2j
                ByteVector s0 = ByteVector.fromMemorySegment(BYTES, data, sc, Simd.LE);
                ByteVector s1 = ByteVector.fromMemorySegment(BYTES, data, sc + GROUP, Simd.LE);
                ByteVector s2 = ByteVector.fromMemorySegment(BYTES, data, sc + 2 * GROUP, Simd.LE);
                ByteVector s3 = ByteVector.fromMemorySegment(BYTES, data, sc + 3 * GROUP, Simd.LE);
                int o0 = 4 * runs[run], o1 = 4 * runs[run + 2], o2 = 4 * runs[run + 4], o3 = 4 * runs[run + 6];
                sumi0 = sumi0.add(((IntVector) a0.convertShape(VectorOperators.S2I, I, 0)).sub(o0).mul((IntVector) s0.convertShape(VectorOperators.B2I, I, 0)))
                        .add(((IntVector) a1.convertShape(VectorOperators.S2I, I, 0)).sub(o1).mul((IntVector) s1.convertShape(VectorOperators.B2I, I, 0)))
                        .add(((IntVector) a2.convertShape(VectorOperators.S2I, I, 0)).sub(o2).mul((IntVector) s2.convertShape(VectorOperators.B2I, I, 0)))
                        .add(((IntVector) a3.convertShape(VectorOperators.S2I, I, 0)).sub(o3).mul((IntVector) s3.convertShape(VectorOperators.B2I, I, 0)));
                sumi1 = sumi1.add(((IntVector) a0.convertShape(VectorOperators.S2I, I, 1)).sub(o0).mul((IntVector) s0.convertShape(VectorOperators.B2I, I, 1)))
                        .add(((IntVector) a1.convertShape(VectorOperators.S2I, I, 1)).sub(o1).mul((IntVector) s1.convertShape(VectorOperators.B2I, I, 1)))
                        .add(((IntVector) a2.convertShape(VectorOperators.S2I, I, 1)).sub(o2).mul((IntVector) s2.convertShape(VectorOperators.B2I, I, 1)))
                        .add(((IntVector) a3.convertShape(VectorOperators.S2I, I, 1)).sub(o3).mul((IntVector) s3.convertShape(VectorOperators.B2I, I, 1)));
            }
            float d = dx[b];
            ShortVector dh = ShortVector.fromMemorySegment(S, data, base + D + 2 * lane, Simd.LE);
            IntVector d0 = (IntVector) dh.convertShape(VectorOperators.S2I, I, 0);
            IntVector d1 = (IntVector) dh.convertShape(VectorOperators.S2I, I, 1);
            // Written out, not in a helper: see Q4_0.dot on helpers that take and return vectors.
            FloatVector fd0 = ((FloatVector) d0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(d0.and(0x80000000))
                    .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(0x1p112f).mul(d);
            FloatVector fd1 = ((FloatVector) d1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(d1.and(0x80000000))
                    .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(0x1p112f).mul(d);
            acc0 = acc0.add(((FloatVector) sumi0.convertShape(VectorOperators.I2F, F, 0)).mul(fd0));
            acc1 = acc1.add(((FloatVector) sumi1.convertShape(VectorOperators.I2F, F, 0)).mul(fd1));
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
