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
 * A Q6_K matrix with rows interleaved by 32 ({@link InterleavedKQuant}), as large as the rows it covers.
 *
 * <p>Layout, group {@code g}, super-block {@code b}, {@value #SB} bytes at {@code (g * blocks + b) * SB}, in the
 * order the kernel reads it: four parts {@code 2h + s} (half {@code h}, positions {@code l} from {@code 16s}), each
 * for its 16 positions a 16-bit word W for each of the 32 rows (64 bytes) and a byte B for each (32), then the 32
 * rows' int8 scales of its sub-blocks {@code 8h + 2k + s}, k < 4 (128); then the 32 rows' fp16 {@code d} (64). They hold the four codes of values {@code 128h + 32k + l} (k < 4) regrouped from
 * {@code block_q6_K}'s {@code ql}/{@code qh}, each as the 6-bit two's complement {@code s_k} of {@code v_k - 32}:
 * {@code W = s0 | (s3 & 15) << 6 | s2 << 10}, {@code B = s3 >> 4 | s1 << 2}. With W and B read as signed,
 * {@code s2 = W >> 10}, {@code s0 = W << 10 >> 10}, {@code s1 = B >> 2} and
 * {@code s3 = (B << 14 >> 10) | (W >>> 6 & 15)} in 16-bit lanes: 9 operations for four signed codes, where the
 * file's split takes 15 and two more loads.
 *
 * <p>Per row and super-block the kernel computes {@code sumi = sum_j scale_j * sum((v - 32) * q)} in integers,
 * then {@code acc = acc + sumi * (d * dx)} in floats.
 */
public final class InterleavedQ6_K extends InterleavedKQuant {

    private static final int ROW_BYTES = Q6_K.BYTES;
    private static final int PART = 52 * GROUP;   // 16 positions' W and B, then 4 scales, for 32 rows
    private static final int D = 4 * PART;
    static final int SB = D + 2 * GROUP;

    InterleavedQ6_K(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
    }

    @Override
    public GgmlType ggmlType() { return GgmlType.Q6_K; }

    static InterleavedQ6_K copyOf(QuantMatrix w, SegmentAllocator memory, Parallel pool) {
        MemorySegment dst = interleave(w, memory, pool, ROW_BYTES, SB, new int[] {208}, InterleavedQ6_K::pack);
        return dst == null ? null : new InterleavedQ6_K(w.name(), w.rows(), w.cols(), dst);
    }

    /** Row {@code i}'s super-block {@code in}, in the file's layout, into its lanes of the group's {@code out}. */
    private static void pack(byte[] in, byte[] out, int i) {
        out[D + 2 * i] = in[208];
        out[D + 2 * i + 1] = in[209];
        for (int j = 0; j < 16; j++) out[scaleAt(j) + i] = in[192 + j];
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int ql0 = in[64 * h + l] & 0xFF;
                int ql1 = in[64 * h + 32 + l] & 0xFF;
                int qh = in[128 + 32 * h + l] & 0xFF;
                int v0 = (ql0 & 0xF) | (qh & 3) << 4;
                int v1 = (ql1 & 0xF) | (qh >>> 2 & 3) << 4;
                int v2 = (ql0 >>> 4) | (qh >>> 4 & 3) << 4;
                int v3 = (ql1 >>> 4) | (qh >>> 6) << 4;
                int s0 = v0 ^ 32, s1 = v1 ^ 32, s2 = v2 ^ 32, s3 = v3 ^ 32;   // v - 32, 6-bit two's complement
                int word = s0 | (s3 & 0xF) << 6 | s2 << 10;
                int at = codesAt(h, l);
                out[at + 2 * i] = (byte) word;
                out[at + 2 * i + 1] = (byte) (word >>> 8);
                out[at + 2 * GROUP + i] = (byte) (s3 >>> 4 | s1 << 2);
            }
        }
    }

    /** Offset in a super-block of the W words of position {@code l} of half {@code h}; its B bytes follow at + 64. */
    private static int codesAt(int h, int l) { return (2 * h + l / 16) * PART + (l % 16) * 3 * GROUP; }

    /** Offset in a super-block of the 32 rows' scale of sub-block {@code j = 8h + 2k + s} (0..15): in part 2h + s. */
    private static int scaleAt(int j) { return (2 * (j >> 3) + (j & 1)) * PART + 48 * GROUP + ((j & 7) >> 1) * GROUP; }

    /** Code {@code k} minus 32 of position {@code l} of half {@code h}, row {@code i}, from its W and B. */
    private int code(long base, int i, int h, int l, int k) {
        long at = base + codesAt(h, l);
        int word = data.get(Layouts.SHORT_LE, at + 2L * i) & 0xFFFF;
        int b = data.get(ValueLayout.JAVA_BYTE, at + 2L * GROUP + i) & 0xFF;
        int s = switch (k) {
            case 0 -> word & 63;
            case 1 -> b >>> 2;
            case 2 -> word >>> 10;
            default -> (word >>> 6 & 0xF) | (b & 3) << 4;
        };
        return s >= 32 ? s - 64 : s;
    }

    @Override
    public void dotQ8KScalar(Q8KActivation x, float[] out, int outOffset, int groupFrom, int groupTo) {
        InterleavedKQuant.check(this, x, out, outOffset, groupFrom, groupTo);
        for (int g = groupFrom; g < groupTo; g++) {
            for (int i = 0; i < GROUP && g * GROUP + i < rows; i++) {
                float sum = 0f;
                for (int b = 0; b < blocks; b++) {
                    long base = ((long) g * blocks + b) * SB;
                    int sumi = 0;
                    for (int j = 0; j < 16; j++) {   // sub-block j: half j / 8, k = (j % 8) / 2, l from 16 * (j % 2)
                        int h = j / 8;
                        int k = (j % 8) / 2;
                        int s = 0;
                        for (int l = 16 * (j % 2); l < 16 * (j % 2) + 16; l++) {
                            s += code(base, i, h, l, k) * x.q[b * QK + 128 * h + 32 * k + l];
                        }
                        sumi += data.get(ValueLayout.JAVA_BYTE, base + scaleAt(j) + i) * s;
                    }
                    sum = sum + sumi * (Fp16.read(data, base + D + 2L * i) * x.d[b]);
                }
                out[outOffset + g * GROUP + i] = sum;
            }
        }
    }

    /**
     * The LS rows of chunk {@code c} of group {@code g}, one per lane. Codes minus 32 (-32..31), sign-extended
     * from W and B as the class comment shows, times activation
     * codes accumulate in 16-bit lanes, 8 products per accumulator (8 * 32 * 127 = 32512 fits a short, 16 would
     * not), so each sub-block of 16 takes two; the rest is in int lanes, then floats as in {@link #dotQ8KScalar}.
     * fp16 {@code d} widened as in {@link InterleavedQ4_K}.
     */
    @Override
    void chunk(Q8KActivation x, float[] out, int outOffset, int g, int c) {
        short[] q = x.q;
        float[] dx = x.d;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        long lane = (long) c * LS;
        long groupBase = (long) g * blocks * SB;
        for (int b = 0; b < blocks; b++) {
            long base = groupBase + (long) b * SB;
            IntVector sumi0 = IntVector.zero(I);
            IntVector sumi1 = IntVector.zero(I);
            for (int hs = 0; hs < 4; hs++) {   // half h = hs / 2, positions l from 16 * (hs % 2): sub-blocks 8h + 2k + hs % 2
                int h = hs >> 1;
                int l0 = 16 * (hs & 1);
                int xb = b * QK + 128 * h + l0;
                long codes = base + (long) hs * PART;
                ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S), a2 = ShortVector.zero(S), a3 = ShortVector.zero(S);
                ShortVector b0 = ShortVector.zero(S), b1 = ShortVector.zero(S), b2 = ShortVector.zero(S), b3 = ShortVector.zero(S);
                for (int l = 0; l < 8; l++) {
                    long at = codes + (long) l * 3 * GROUP;
                    ShortVector w = ShortVector.fromMemorySegment(S, data, at + 2 * lane, Simd.LE);
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, at + 2 * GROUP + lane, Simd.LE)
                            .convertShape(VectorOperators.B2S, S, 0);
                    a0 = a0.add(w.lanewise(VectorOperators.LSHL, 10).lanewise(VectorOperators.ASHR, 10).mul(q[xb + l]));
                    a1 = a1.add(v.lanewise(VectorOperators.ASHR, 2).mul(q[xb + 32 + l]));
                    a2 = a2.add(w.lanewise(VectorOperators.ASHR, 10).mul(q[xb + 64 + l]));
                    a3 = a3.add(v.lanewise(VectorOperators.LSHL, 14).lanewise(VectorOperators.ASHR, 10)
                            .or(w.lanewise(VectorOperators.LSHR, 6).and((short) 0xF)).mul(q[xb + 96 + l]));
                }
                for (int l = 8; l < 16; l++) {
                    long at = codes + (long) l * 3 * GROUP;
                    ShortVector w = ShortVector.fromMemorySegment(S, data, at + 2 * lane, Simd.LE);
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, at + 2 * GROUP + lane, Simd.LE)
                            .convertShape(VectorOperators.B2S, S, 0);
                    b0 = b0.add(w.lanewise(VectorOperators.LSHL, 10).lanewise(VectorOperators.ASHR, 10).mul(q[xb + l]));
                    b1 = b1.add(v.lanewise(VectorOperators.ASHR, 2).mul(q[xb + 32 + l]));
                    b2 = b2.add(w.lanewise(VectorOperators.ASHR, 10).mul(q[xb + 64 + l]));
                    b3 = b3.add(v.lanewise(VectorOperators.LSHL, 14).lanewise(VectorOperators.ASHR, 10)
                            .or(w.lanewise(VectorOperators.LSHR, 6).and((short) 0xF)).mul(q[xb + 96 + l]));
                }
                long sc = base + (long) hs * PART + 48 * GROUP + lane;   // sub-block 8h + 2k + hs % 2 at sc + k * GROUP
                ByteVector s0 = ByteVector.fromMemorySegment(BYTES, data, sc, Simd.LE);
                ByteVector s1 = ByteVector.fromMemorySegment(BYTES, data, sc + GROUP, Simd.LE);
                ByteVector s2 = ByteVector.fromMemorySegment(BYTES, data, sc + 2 * GROUP, Simd.LE);
                ByteVector s3 = ByteVector.fromMemorySegment(BYTES, data, sc + 3 * GROUP, Simd.LE);
                sumi0 = sumi0
                        .add(((IntVector) a0.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) b0.convertShape(VectorOperators.S2I, I, 0))
                                .mul((IntVector) s0.convertShape(VectorOperators.B2I, I, 0)))
                        .add(((IntVector) a1.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) b1.convertShape(VectorOperators.S2I, I, 0))
                                .mul((IntVector) s1.convertShape(VectorOperators.B2I, I, 0)))
                        .add(((IntVector) a2.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) b2.convertShape(VectorOperators.S2I, I, 0))
                                .mul((IntVector) s2.convertShape(VectorOperators.B2I, I, 0)))
                        .add(((IntVector) a3.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) b3.convertShape(VectorOperators.S2I, I, 0))
                                .mul((IntVector) s3.convertShape(VectorOperators.B2I, I, 0)));
                sumi1 = sumi1
                        .add(((IntVector) a0.convertShape(VectorOperators.S2I, I, 1)).add((IntVector) b0.convertShape(VectorOperators.S2I, I, 1))
                                .mul((IntVector) s0.convertShape(VectorOperators.B2I, I, 1)))
                        .add(((IntVector) a1.convertShape(VectorOperators.S2I, I, 1)).add((IntVector) b1.convertShape(VectorOperators.S2I, I, 1))
                                .mul((IntVector) s1.convertShape(VectorOperators.B2I, I, 1)))
                        .add(((IntVector) a2.convertShape(VectorOperators.S2I, I, 1)).add((IntVector) b2.convertShape(VectorOperators.S2I, I, 1))
                                .mul((IntVector) s2.convertShape(VectorOperators.B2I, I, 1)))
                        .add(((IntVector) a3.convertShape(VectorOperators.S2I, I, 1)).add((IntVector) b3.convertShape(VectorOperators.S2I, I, 1))
                                .mul((IntVector) s3.convertShape(VectorOperators.B2I, I, 1)));
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
