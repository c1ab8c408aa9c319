package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * ggml {@code block_mxfp4} (OCP microscaling FP4): 32 values in 17 bytes, an E8M0 exponent byte {@code e}
 * then 16 bytes of 4-bit E2M1 codes (low nibble value j, high nibble value j+16).
 *
 * <p>E2M1 is sign, two exponent bits, one mantissa bit: magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6. Like ggml we
 * keep them doubled as small integers (0, 1, 2, 3, 4, 6, 8, 12, negated for codes 8..15) and halve the block
 * scale instead: value = {@code level * 2^(e - 128)}, every product exact but for overflow or underflow.
 *
 * <p>Exactness: {@link #dequantizeVector} does the same single multiply per value as {@link #dequantize} and is
 * bit-identical; {@link #dot} and {@link #axpy} sum (and fuse) in another order than their scalar twins and agree
 * within rounding.
 *
 * <p>Quantizer: ggml's {@code quantize_row_mxfp4_ref}: {@code e = floor(log2(amax)) - 2 + 127} (so the
 * largest magnitude falls in the top binade of E2M1), each value mapped to the level nearest in absolute error,
 * the first one winning ties. The golden test checks it writes ggml's bytes.
 */
public final class MXFP4 implements TensorType {

    public static final MXFP4 INSTANCE = new MXFP4();

    private static final int QK = 32;
    private static final int BYTES = 17;
    /** Doubled E2M1 values by code ({@code kvalues_mxfp4}): bit 3 the sign, bits 0..2 the magnitude. */
    private static final byte[] LEVELS = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> B16 = Simd.B16;
    private static final int PARTS = Simd.PARTS16;
    private static final int L = F.length();

    private MXFP4() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.MXFP4; }

    /**
     * {@code 2^(e - 128)}: half the E8M0 scale, built from its bits as ggml does (a subnormal float for e < 2).
     * NaN (e = 255) is not special-cased, as in ggml.
     */
    static float halfScale(int e) {
        int bits = e < 2 ? 0x00200000 << e : (e - 1) << 23;
        return Float.intBitsToFloat(bits);
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = check(src, offset, dst, dstOffset, n);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float d = halfScale(KQuants.u8(src, bo));
            for (int j = 0; j < 16; j++) {
                int q = KQuants.u8(src, bo + 1 + j);
                dst[dstOffset + b * QK + j] = LEVELS[q & 0xF] * d;
                dst[dstOffset + b * QK + 16 + j] = LEVELS[q >>> 4] * d;
            }
        }
    }

    private int check(MemorySegment seg, long offset, float[] v, int vOffset, int n) {
        int nb = Blocks.count(n, QK, "MXFP4");
        long bytes = (long) nb * BYTES;
        if (offset < 0 || offset > seg.byteSize() - bytes) {
            throw new IndexOutOfBoundsException("MXFP4: " + n + " values take " + bytes + " bytes at offset " + offset
                    + ", the segment has " + seg.byteSize());
        }
        if (vOffset < 0 || vOffset > v.length - n) {
            throw new IndexOutOfBoundsException("MXFP4: " + n + " values at index " + vOffset + " do not fit a float["
                    + v.length + "]");
        }
        return nb;
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = check(src, offset, x, xOffset, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            float block = 0f;
            for (int j = 0; j < 16; j++) {
                int q = KQuants.u8(src, bo + 1 + j);
                block += LEVELS[q & 0xF] * x[xb + j];
                block += LEVELS[q >>> 4] * x[xb + 16 + j];
            }
            sum += block * halfScale(KQuants.u8(src, bo));
        }
        return sum;
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = check(src, offset, y, yOffset, n);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float ad = a * halfScale(KQuants.u8(src, bo));
            int o = yOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = KQuants.u8(src, bo + 1 + j);
                y[o + j] = Math.fma(LEVELS[q & 0xF], ad, y[o + j]);
                y[o + 16 + j] = Math.fma(LEVELS[q >>> 4], ad, y[o + 16 + j]);
            }
        }
    }

    private static ByteVector lowLevels(ByteVector qs, ByteVector table) {
        return qs.and((byte) 0xF).selectFrom(table);
    }

    private static ByteVector highLevels(ByteVector qs, ByteVector table) {
        return qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF).selectFrom(table);
    }

    private static FloatVector part(ByteVector levels, int p) {
        return (FloatVector) levels.convertShape(VectorOperators.B2F, F, p);
    }

    /** Vector twin of {@link #dequantize}: the same one multiply {@code level * d} per value. */
    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = check(src, offset, dst, dstOffset, n);
        ByteVector table = ByteVector.fromArray(B16, LEVELS, 0);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector d = FloatVector.broadcast(F, halfScale(KQuants.u8(src, bo)));
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 1, Simd.LE);
            ByteVector lo = lowLevels(qs, table);
            ByteVector hi = highLevels(qs, table);
            int o = dstOffset + b * QK;
            for (int p = 0; p < PARTS; p++) {
                part(lo, p).mul(d).intoArray(dst, o + p * L);
                part(hi, p).mul(d).intoArray(dst, o + 16 + p * L);
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = check(src, offset, x, xOffset, n);
        ByteVector table = ByteVector.fromArray(B16, LEVELS, 0);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 1, Simd.LE);
            ByteVector lo = lowLevels(qs, table);
            ByteVector hi = highLevels(qs, table);
            int xb = xOffset + b * QK;
            FloatVector sum = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                sum = part(lo, p).fma(FloatVector.fromArray(F, x, xb + p * L), sum);
                sum = part(hi, p).fma(FloatVector.fromArray(F, x, xb + 16 + p * L), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, halfScale(KQuants.u8(src, bo))), acc);
        }
        return VectorMath.sum(acc);
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = check(src, offset, y, yOffset, n);
        ByteVector table = ByteVector.fromArray(B16, LEVELS, 0);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector ad = FloatVector.broadcast(F, a * halfScale(KQuants.u8(src, bo)));
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 1, Simd.LE);
            ByteVector lo = lowLevels(qs, table);
            ByteVector hi = highLevels(qs, table);
            int o = yOffset + b * QK;
            for (int p = 0; p < PARTS; p++) {
                int i = o + p * L;
                part(lo, p).fma(ad, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                part(hi, p).fma(ad, FloatVector.fromArray(F, y, i + 16)).intoArray(y, i + 16);
            }
        }
    }

    /** The code whose level times {@code d} is nearest to {@code x}; on a tie the lower code (as ggml). */
    private static int nearestCode(float x, float d) {
        int best = 0;
        float bestErr = Math.abs(LEVELS[0] * d - x);
        for (int i = 1; i < 16; i++) {
            float err = Math.abs(LEVELS[i] * d - x);
            if (err < bestErr) {
                best = i;
                bestErr = err;
            }
        }
        return best;
    }

    /**
     * ggml's block exponent {@code floor(log2f(amax)) - 2 + 127}, kept to a byte as C's conversion does. The
     * log is taken in double and rounded to float as a correctly rounded log2f would: just below a power of two
     * the float log rounds up to the integer, and ggml then takes the larger exponent too.
     */
    static int exponent(float amax) {
        if (amax <= 0f) return 0;
        float log2 = (float) (Math.log(amax) / Math.log(2));
        return ((int) Math.floor(log2) - 2 + 127) & 0xFF;
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = Blocks.count(n, QK, "MXFP4");
        KQuants.requireFinite(this, src, srcOffset, n);
        for (int b = 0; b < nb; b++) {
            int xb = srcOffset + b * QK;
            long bo = offset + (long) b * BYTES;
            float amax = 0f;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[xb + j]));
            int e = exponent(amax);
            float d = halfScale(e);
            dst.set(Layouts.BYTE, bo, (byte) e);
            for (int j = 0; j < 16; j++) {
                int lo = nearestCode(src[xb + j], d);
                int hi = nearestCode(src[xb + 16 + j], d);
                dst.set(Layouts.BYTE, bo + 1 + j, (byte) (lo | hi << 4));
            }
        }
    }
}
