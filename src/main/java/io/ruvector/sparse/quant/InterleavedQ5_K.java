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
 * A Q5_K matrix with rows interleaved by 32 ({@link InterleavedKQuant}).
 *
 * <p>Layout, group {@code g}, super-block {@code b}, {@value #SB} bytes at {@code (g * blocks + b) * SB}, in the
 * order the kernel reads it: four parts {@code p} (values {@code 64p .. 64p + 63}, sub-blocks {@code 2p} and
 * {@code 2p + 1}), each eight octets {@code o} (values {@code 64p + 8o + k}, k < 8) of 16-bit words W0 and W1 for
 * the 32 rows (64 bytes each) and a byte B for each row (32), then the part's scales and mins unpacked to bytes
 * (1408 bytes a part); then fp16 {@code d} and {@code dmin}. The copy is 2.3% larger than the rows. An octet
 * holds its eight codes {@code v} (0..31, fifth bit from {@code qh}) as the 5-bit two's complement {@code s_k}
 * of {@code v_k - 16}: {@code W0 = s0 | s1 << 5 | (s7 >> 3 & 1) << 10 | s2 << 11},
 * {@code W1 = s3 | s4 << 5 | s5 << 10 | (s7 >> 4) << 15}, {@code B = (s7 & 7) | s6 << 3}. Read as signed
 * 16-bit lanes, each code is one or two shifts ({@code s0 = W0 << 11 >> 11}, {@code s2 = W0 >> 11},
 * {@code s6 = B >> 3}, ...) and {@code s7} two shifts and two bit blends: 20 lane operations for eight codes,
 * where the file's nibbles and separate fifth bits took about 40. (The file's {@code qh}, shared by the four
 * parts, kept as a region of its own made a second stream that halved the speed from memory.)
 *
 * <p>Per row and super-block the kernel computes {@code sumi = sum_j scale_j * sum(code * q)} and
 * {@code summ = sum_j min_j * (q sum of sub-block j)} in integers, then
 * {@code acc = acc + sumi * (d * dx) - summ * (dmin * dx)} in floats, in that order.
 */
public final class InterleavedQ5_K extends InterleavedKQuant {

    private static final int ROW_BYTES = Q5_K.BYTES;
    private static final int OCTET = 5 * GROUP;   // W0, W1 (2 bytes a row) and B (1 byte a row) for 32 rows
    private static final int PART = 44 * GROUP;   // 8 octets, 2 scales and 2 mins, for 32 rows
    private static final int D = 4 * PART;
    private static final int DMIN = D + 2 * GROUP;
    static final int SB = DMIN + 2 * GROUP;

    InterleavedQ5_K(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
    }

    @Override
    public GgmlType ggmlType() { return GgmlType.Q5_K; }

    static InterleavedQ5_K copyOf(QuantMatrix w, SegmentAllocator memory, Parallel pool) {
        MemorySegment dst = interleave(w, memory, pool, ROW_BYTES, SB, new int[] {0, 2}, InterleavedQ5_K::pack);
        return dst == null ? null : new InterleavedQ5_K(w.name(), w.rows(), w.cols(), dst);
    }

    /** Row {@code i}'s super-block {@code in}, in the file's layout, into its lanes of the group's {@code out}. */
    private static void pack(byte[] in, byte[] out, int i) {
        out[D + 2 * i] = in[0];
        out[D + 2 * i + 1] = in[1];
        out[DMIN + 2 * i] = in[2];
        out[DMIN + 2 * i + 1] = in[3];
        long low = 0;
        for (int k = 7; k >= 0; k--) low = low << 8 | (in[4 + k] & 0xFF);
        int high = (in[12] & 0xFF) | (in[13] & 0xFF) << 8 | (in[14] & 0xFF) << 16 | (in[15] & 0xFF) << 24;
        for (int j = 0; j < 8; j++) {
            out[scaleAt(j) + i] = (byte) KQuants.scaleK4(low, high, j);
            out[minAt(j) + i] = (byte) KQuants.minK4(low, high, j);
        }
        int[] s = new int[8];
        for (int p = 0; p < 4; p++) {
            for (int o = 0; o < 8; o++) {
                for (int k = 0; k < 8; k++) s[k] = code(in, 64 * p + 8 * o + k) ^ 16;   // v - 16, 5-bit two's complement
                int w0 = s[0] | s[1] << 5 | (s[7] >>> 3 & 1) << 10 | s[2] << 11;
                int w1 = s[3] | s[4] << 5 | s[5] << 10 | (s[7] >>> 4) << 15;
                int at = octetAt(p, o);
                out[at + 2 * i] = (byte) w0;
                out[at + 2 * i + 1] = (byte) (w0 >>> 8);
                out[at + 2 * GROUP + 2 * i] = (byte) w1;
                out[at + 2 * GROUP + 2 * i + 1] = (byte) (w1 >>> 8);
                out[at + 4 * GROUP + i] = (byte) ((s[7] & 7) | s[6] << 3);
            }
        }
    }

    /** Code (0..31) of value {@code v} (0..255) of a super-block in the file's layout, as {@code block_q5_K} holds it. */
    private static int code(byte[] in, int v) {
        int p = v >> 6;
        int l = v & 31;
        int qs = in[48 + 32 * p + l] & 0xFF;
        int hiHalf = (v >> 5) & 1;   // the second 32 values of part p: high nibbles, fifth bit 2p + 1
        int nibble = hiHalf == 0 ? qs & 0xF : qs >>> 4;
        return nibble | ((in[16 + l] >>> (2 * p + hiHalf)) & 1) << 4;
    }

    /** Offset in a super-block of the W0 words of octet {@code o} of part {@code p}; W1 at + 64, the B bytes at + 128. */
    private static int octetAt(int p, int o) { return p * PART + o * OCTET; }

    /** Offset in a super-block of the 32 rows' scale of sub-block {@code j} (0..7). */
    private static int scaleAt(int j) { return (j >> 1) * PART + 40 * GROUP + (j & 1) * GROUP; }

    /** Offset in a super-block of the 32 rows' min of sub-block {@code j} (0..7). */
    private static int minAt(int j) { return (j >> 1) * PART + 42 * GROUP + (j & 1) * GROUP; }

    /** Code (0..31) of value {@code 64p + 8o + k} of row {@code i}, from its W0, W1 and B. */
    private int code(long base, int i, int p, int o, int k) {
        long at = base + octetAt(p, o);
        int w0 = data.get(Layouts.SHORT_LE, at + 2L * i) & 0xFFFF;
        int w1 = data.get(Layouts.SHORT_LE, at + 2L * GROUP + 2L * i) & 0xFFFF;
        int b = data.get(ValueLayout.JAVA_BYTE, at + 4L * GROUP + i) & 0xFF;
        int s = switch (k) {
            case 0 -> w0 & 31;
            case 1 -> w0 >>> 5 & 31;
            case 2 -> w0 >>> 11;
            case 3 -> w1 & 31;
            case 4 -> w1 >>> 5 & 31;
            case 5 -> w1 >>> 10 & 31;
            case 6 -> b >>> 3;
            default -> (b & 7) | (w0 >>> 10 & 1) << 3 | (w1 >>> 15) << 4;
        };
        return s ^ 16;   // (v - 16) + 16
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
                    int summ = 0;
                    for (int j = 0; j < 8; j++) {   // sub-block j: part j / 2, octets 4 (j % 2) .. 4 (j % 2) + 3
                        int s = 0;
                        for (int l = 0; l < 32; l++) {
                            int o = 4 * (j & 1) + l / 8;
                            s += code(base, i, j >> 1, o, l & 7) * x.q[b * QK + 32 * j + l];
                        }
                        sumi += data.get(ValueLayout.JAVA_BYTE, base + scaleAt(j) + i) * s;
                        summ += data.get(ValueLayout.JAVA_BYTE, base + minAt(j) + i)
                                * (x.sum16[b * 16 + 2 * j] + x.sum16[b * 16 + 2 * j + 1]);
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
     * The LS rows of chunk {@code c} of group {@code g}, one per lane. Codes minus 16 (-16..15) times activation
     * codes accumulate in 16-bit lanes, 16 products per accumulator (16 * 16 * 127 = 32512 fits a short), so a
     * sub-block of 32 takes two; its sum of {@code code * q} is that plus 16 times the activation's sum over the
     * sub-block, the same integer as the scalar twin's. The rest is in int lanes, then floats as in
     * {@link #dotQ8KScalar}. The fp16 {@code d} and {@code dmin} are widened with integer operations: the
     * magnitude bits shifted into place read as a float 2^-112 times the value (exactly, subnormals included), and
     * the multiplication by 2^112 is exact, so the product with the activation scale rounds once, as in the
     * scalar twin.
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
            for (int p = 0; p < 4; p++) {   // sub-blocks 2p (octets 0..3) and 2p + 1 (octets 4..7)
                long part = base + (long) p * PART;
                int xb = b * QK + 64 * p;
                IntVector sLo0 = IntVector.zero(I);
                IntVector sLo1 = IntVector.zero(I);
                IntVector sHi0 = IntVector.zero(I);
                IntVector sHi1 = IntVector.zero(I);
                for (int pair = 0; pair < 4; pair++) {   // octets 2 pair, 2 pair + 1: 16 products per lane
                    ShortVector a = ShortVector.zero(S);
                    for (int o = 2 * pair; o < 2 * pair + 2; o++) {
                        long at = part + (long) o * OCTET;
                        int xo = xb + 8 * o;
                        ShortVector w0 = ShortVector.fromMemorySegment(S, data, at + 2 * lane, Simd.LE);
                        ShortVector w1 = ShortVector.fromMemorySegment(S, data, at + 2 * GROUP + 2 * lane, Simd.LE);
                        ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, at + 4 * GROUP + lane, Simd.LE)
                                .convertShape(VectorOperators.B2S, S, 0);
                        ShortVector s7 = v.bitwiseBlend(w0.lanewise(VectorOperators.LSHR, 7), (short) 8)
                                .bitwiseBlend(w1.lanewise(VectorOperators.ASHR, 15), (short) 0xFFF0);
                        a = a.add(w0.lanewise(VectorOperators.LSHL, 11).lanewise(VectorOperators.ASHR, 11).mul(q[xo]))
                                .add(w0.lanewise(VectorOperators.LSHL, 6).lanewise(VectorOperators.ASHR, 11).mul(q[xo + 1]))
                                .add(w0.lanewise(VectorOperators.ASHR, 11).mul(q[xo + 2]))
                                .add(w1.lanewise(VectorOperators.LSHL, 11).lanewise(VectorOperators.ASHR, 11).mul(q[xo + 3]))
                                .add(w1.lanewise(VectorOperators.LSHL, 6).lanewise(VectorOperators.ASHR, 11).mul(q[xo + 4]))
                                .add(w1.lanewise(VectorOperators.LSHL, 1).lanewise(VectorOperators.ASHR, 11).mul(q[xo + 5]))
                                .add(v.lanewise(VectorOperators.ASHR, 3).mul(q[xo + 6]))
                                .add(s7.mul(q[xo + 7]));
                    }
                    IntVector a0 = (IntVector) a.convertShape(VectorOperators.S2I, I, 0);
                    IntVector a1 = (IntVector) a.convertShape(VectorOperators.S2I, I, 1);
                    if (pair < 2) {
                        sLo0 = sLo0.add(a0);
                        sLo1 = sLo1.add(a1);
                    } else {
                        sHi0 = sHi0.add(a0);
                        sHi1 = sHi1.add(a1);
                    }
                }
                ByteVector scLo = ByteVector.fromMemorySegment(BYTES, data, part + 40 * GROUP + lane, Simd.LE);
                ByteVector scHi = ByteVector.fromMemorySegment(BYTES, data, part + 41 * GROUP + lane, Simd.LE);
                ByteVector mLo = ByteVector.fromMemorySegment(BYTES, data, part + 42 * GROUP + lane, Simd.LE);
                ByteVector mHi = ByteVector.fromMemorySegment(BYTES, data, part + 43 * GROUP + lane, Simd.LE);
                int rLo = runs[b * 16 + 4 * p] + runs[b * 16 + 4 * p + 1];
                int rHi = runs[b * 16 + 4 * p + 2] + runs[b * 16 + 4 * p + 3];
                // scales and mins are 6-bit: sign extension is zero extension (which C2 compiles less well)
                sumi0 = sumi0.add(sLo0.add(16 * rLo).mul((IntVector) scLo.convertShape(VectorOperators.B2I, I, 0)))
                        .add(sHi0.add(16 * rHi).mul((IntVector) scHi.convertShape(VectorOperators.B2I, I, 0)));
                sumi1 = sumi1.add(sLo1.add(16 * rLo).mul((IntVector) scLo.convertShape(VectorOperators.B2I, I, 1)))
                        .add(sHi1.add(16 * rHi).mul((IntVector) scHi.convertShape(VectorOperators.B2I, I, 1)));
                summ0 = summ0.add(((IntVector) mLo.convertShape(VectorOperators.B2I, I, 0)).mul(rLo))
                        .add(((IntVector) mHi.convertShape(VectorOperators.B2I, I, 0)).mul(rHi));
                summ1 = summ1.add(((IntVector) mLo.convertShape(VectorOperators.B2I, I, 1)).mul(rLo))
                        .add(((IntVector) mHi.convertShape(VectorOperators.B2I, I, 1)).mul(rHi));
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
