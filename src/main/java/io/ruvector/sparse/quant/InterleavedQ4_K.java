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
 * A Q4_K matrix with rows interleaved by 32 ({@link InterleavedKQuant}).
 *
 * <p>Layout, group {@code g}, super-block {@code b} (columns {@code 256b .. 256b+255}), {@value #SB} bytes at
 * {@code (g * blocks + b) * SB}, in the order the kernel reads it: four parts {@code p}, each the 32 rows' code
 * byte {@code k} for {@code k} in {@code 32p .. 32p+31} (1024 bytes), holding, as in {@code block_q4_K}, value
 * {@code 64p + k%32} in its low nibble and that plus 32 in its high nibble, then the 32 rows' 6-bit scales of
 * sub-blocks {@code 2p} and {@code 2p+1} as bytes and their mins likewise (128); then the 32 rows' fp16
 * {@code d} (64) and fp16 {@code dmin} (64). The scales are unpacked to bytes (12 bytes a row become 16) so the
 * kernel reads them with one widening load: the copy is 2.8% larger than the rows. Reading strictly forward
 * matters: with the scales ahead of the codes (read after them) the kernel streamed from memory at half the
 * speed it has in cache.
 *
 * <p>Per row and super-block the kernel computes {@code sumi = sum_j scale_j * sum(code * q)} and
 * {@code summ = sum_j min_j * (q sum of sub-block j)} in integers, then
 * {@code acc = acc + sumi * (d * dx) - summ * (dmin * dx)} in floats, in that order.
 */
public final class InterleavedQ4_K extends InterleavedKQuant {

    private static final int ROW_BYTES = Q4_K.BYTES;
    private static final int PART = 36 * GROUP;   // 32 code bytes, 2 scales and 2 mins, for 32 rows
    private static final int D = 4 * PART;
    private static final int DMIN = D + 2 * GROUP;
    static final int SB = DMIN + 2 * GROUP;

    InterleavedQ4_K(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
    }

    @Override
    public GgmlType ggmlType() { return GgmlType.Q4_K; }

    static InterleavedQ4_K copyOf(QuantMatrix w, SegmentAllocator memory, Parallel pool) {
        MemorySegment dst = interleave(w, memory, pool, ROW_BYTES, SB, new int[] {0, 2}, InterleavedQ4_K::pack);
        return dst == null ? null : new InterleavedQ4_K(w.name(), w.rows(), w.cols(), dst);
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
        for (int k = 0; k < 128; k++) out[codeAt(k) + i] = in[16 + k];
    }

    /** Offset in a super-block of the 32 rows' code byte {@code k} (0..127). */
    private static int codeAt(int k) { return (k >> 5) * PART + (k & 31) * GROUP; }

    /** Offset in a super-block of the 32 rows' scale of sub-block {@code j} (0..7). */
    private static int scaleAt(int j) { return (j >> 1) * PART + 32 * GROUP + (j & 1) * GROUP; }

    /** Offset in a super-block of the 32 rows' min of sub-block {@code j} (0..7). */
    private static int minAt(int j) { return (j >> 1) * PART + 34 * GROUP + (j & 1) * GROUP; }

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
                    for (int j = 0; j < 8; j++) {
                        int s = 0;
                        for (int l = 0; l < 32; l++) {
                            int byteIndex = 32 * (j / 2) + l;
                            int c = data.get(ValueLayout.JAVA_BYTE, base + codeAt(byteIndex) + i) & 0xFF;
                            int code = (j & 1) == 0 ? c & 0xF : c >>> 4;
                            s += code * x.q[b * QK + 32 * j + l];
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
     * The LS rows of chunk {@code c} of group {@code g}, one per lane. Codes (unsigned nibbles) times activation
     * codes accumulate in 16-bit lanes, 16 products per accumulator (16 * 15 * 127 = 30480 fits a short, 32
     * would not); the rest is in int lanes, then floats as in {@link #dotQ8KScalar}. The fp16 {@code d} and
     * {@code dmin} are widened with integer operations: the magnitude bits shifted into place read as a float
     * 2^-112 times the value (exactly, subnormals included), and the multiplication by 2^112 is exact, so the
     * product with the activation scale rounds once, as in the scalar twin.
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
            for (int p = 0; p < 4; p++) {   // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
                long codes = base + (long) p * PART + lane;
                int xb = b * QK + 64 * p;
                ShortVector lo0 = ShortVector.zero(S);
                ShortVector hi0 = ShortVector.zero(S);
                ShortVector lo1 = ShortVector.zero(S);
                ShortVector hi1 = ShortVector.zero(S);
                for (int k = 0; k < 16; k++) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, codes + (long) k * GROUP, Simd.LE)
                            .convertShape(VectorOperators.B2S, S, 0);
                    lo0 = lo0.add(v.and((short) 0xF).mul(q[xb + k]));
                    hi0 = hi0.add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(q[xb + 32 + k]));
                }
                for (int k = 16; k < 32; k++) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BYTES, data, codes + (long) k * GROUP, Simd.LE)
                            .convertShape(VectorOperators.B2S, S, 0);
                    lo1 = lo1.add(v.and((short) 0xF).mul(q[xb + k]));
                    hi1 = hi1.add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(q[xb + 32 + k]));
                }
                ByteVector scLo = ByteVector.fromMemorySegment(BYTES, data, base + scaleAt(2 * p) + lane, Simd.LE);
                ByteVector scHi = ByteVector.fromMemorySegment(BYTES, data, base + scaleAt(2 * p + 1) + lane, Simd.LE);
                ByteVector mLo = ByteVector.fromMemorySegment(BYTES, data, base + minAt(2 * p) + lane, Simd.LE);
                ByteVector mHi = ByteVector.fromMemorySegment(BYTES, data, base + minAt(2 * p + 1) + lane, Simd.LE);
                int rLo = runs[b * 16 + 4 * p] + runs[b * 16 + 4 * p + 1];
                int rHi = runs[b * 16 + 4 * p + 2] + runs[b * 16 + 4 * p + 3];
                IntVector sLo0 = ((IntVector) lo0.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) lo1.convertShape(VectorOperators.S2I, I, 0));
                IntVector sLo1 = ((IntVector) lo0.convertShape(VectorOperators.S2I, I, 1)).add((IntVector) lo1.convertShape(VectorOperators.S2I, I, 1));
                IntVector sHi0 = ((IntVector) hi0.convertShape(VectorOperators.S2I, I, 0)).add((IntVector) hi1.convertShape(VectorOperators.S2I, I, 0));
                IntVector sHi1 = ((IntVector) hi0.convertShape(VectorOperators.S2I, I, 1)).add((IntVector) hi1.convertShape(VectorOperators.S2I, I, 1));
                sumi0 = sumi0.add(sLo0.mul((IntVector) scLo.convertShape(VectorOperators.B2I, I, 0)))
                        .add(sHi0.mul((IntVector) scHi.convertShape(VectorOperators.B2I, I, 0)));
                sumi1 = sumi1.add(sLo1.mul((IntVector) scLo.convertShape(VectorOperators.B2I, I, 1)))
                        .add(sHi1.mul((IntVector) scHi.convertShape(VectorOperators.B2I, I, 1)));
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
