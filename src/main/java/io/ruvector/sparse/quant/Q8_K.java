package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.ruvector.sparse.quant.KQuants.F;
import static io.ruvector.sparse.quant.KQuants.FLOAT;
import static io.ruvector.sparse.quant.KQuants.LANES;
import static io.ruvector.sparse.quant.KQuants.PARTS;
import static io.ruvector.sparse.quant.KQuants.QK;
import static io.ruvector.sparse.quant.KQuants.SHORT;
import static io.ruvector.sparse.quant.KQuants.nearestInt;
import static io.ruvector.sparse.quant.KQuants.s8;
import static io.ruvector.sparse.quant.KQuants.toFloat;
import static io.ruvector.sparse.quant.KQuants.widen16Signed;

/**
 * ggml Q8_K: 256 values in 292 bytes, the activation type ggml pairs with every K-quant weight.
 *
 * <p>Block: float32 {@code d}, 256 int8 quants, 16 int16 sums of each run of 16 quants ({@code bsums}, which
 * let the K-quant dot products fold the per-sub-block mins in). Value = {@code d*q}.
 *
 * <p>Quantizer: ggml's {@code quantize_row_q8_K_ref} exactly: {@code d = max/-127} where max is the value of
 * largest magnitude, {@code q = min(127, round(x/d))} (round half to even).
 */
public final class Q8_K implements TensorType {

    public static final Q8_K INSTANCE = new Q8_K();

    static final int BYTES = 292;
    private static final int QS = 4;
    private static final int BSUMS = 260;

    private Q8_K() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q8_K; }

    /** The scalar specification of a block (ggml's {@code dequantize_row_q8_K}). */
    static void decodeBlock(MemorySegment s, long blk, float[] y, int yo) {
        float d = s.get(FLOAT, blk);
        for (int i = 0; i < QK; i++) y[yo + i] = d * s8(s, blk + QS + i);
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        KQuants.dequantize(this, Q8_K::decodeBlock, src, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return KQuants.dotScalar(this, Q8_K::decodeBlock, src, offset, x, xOffset, n);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        KQuants.axpyScalar(this, Q8_K::decodeBlock, a, src, offset, y, yOffset, n);
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = KQuants.checkRow(this, src, offset, x, xOffset, n);
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            FloatVector d = FloatVector.broadcast(F, src.get(FLOAT, blk));
            for (int g = 0; g < QK; g += 32) {
                for (int p = 0; p < PARTS; p++) {
                    int i = xOffset + b * QK + g + p * LANES;
                    FloatVector w0 = toFloat(widen16Signed(src, blk + QS + g, p)).mul(d);
                    FloatVector w1 = toFloat(widen16Signed(src, blk + QS + g + 16, p)).mul(d);
                    acc0 = w0.fma(FloatVector.fromArray(F, x, i), acc0);
                    acc1 = w1.fma(FloatVector.fromArray(F, x, i + 16), acc1);
                }
            }
        }
        return VectorMath.sum(acc0.add(acc1));
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = KQuants.checkRow(this, src, offset, y, yOffset, n);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            FloatVector ad = FloatVector.broadcast(F, a * src.get(FLOAT, blk));
            for (int g = 0; g < QK; g += 16) {
                for (int p = 0; p < PARTS; p++) {
                    int i = yOffset + b * QK + g + p * LANES;
                    toFloat(widen16Signed(src, blk + QS + g, p))
                            .fma(ad, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                }
            }
        }
    }

    /**
     * {@code dst = dequantize(quantize(src))} without the encoded bytes: the values ggml-cpu's K-quant dot
     * products see when it rounds a float activation to Q8_K. Feeding these to the float kernels of Q2_K..Q6_K
     * reproduces llama.cpp's integer {@code vec_dot_qX_K_q8_K} up to float summation order. {@code src} and
     * {@code dst} may be the same array.
     */
    public static void roundTrip(float[] src, int srcOffset, float[] dst, int dstOffset, int n) {
        int nb = KQuants.blocks(INSTANCE, n);
        KQuants.requireFinite(INSTANCE, src, srcOffset, n);
        if (dstOffset < 0 || dstOffset > dst.length - n) {
            throw new IndexOutOfBoundsException("Q8_K: " + n + " values at index " + dstOffset
                    + " do not fit a float[" + dst.length + "]");
        }
        for (int b = 0; b < nb; b++) {
            int xo = srcOffset + b * QK;
            int yo = dstOffset + b * QK;
            float inv = inverseScale(src, xo);
            float d = inv == 0 ? 0f : 1 / inv;
            for (int i = 0; i < QK; i++) dst[yo + i] = d * Math.min(127, nearestInt(inv * src[xo + i]));
        }
    }

    /** ggml's {@code -127 / max} where max is the value of largest magnitude; 0 for an all-zero block. */
    private static float inverseScale(float[] x, int xo) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < QK; i++) {
            float a = Math.abs(x[xo + i]);
            if (a > amax) {
                amax = a;
                max = x[xo + i];
            }
        }
        return amax == 0 ? 0f : -127f / max;
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = KQuants.checkRow(this, dst, offset, src, srcOffset, n);
        KQuants.requireFinite(this, src, srcOffset, n);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int xo = srcOffset + b * QK;
            float inv = inverseScale(src, xo);
            if (inv == 0) {
                dst.asSlice(blk, BYTES).fill((byte) 0);
                continue;
            }
            dst.set(FLOAT, blk, 1 / inv);
            for (int g = 0; g < 16; g++) {
                int sum = 0;
                for (int i = 0; i < 16; i++) {
                    int q = Math.min(127, nearestInt(inv * src[xo + 16 * g + i]));
                    dst.set(ValueLayout.JAVA_BYTE, blk + QS + 16 * g + i, (byte) q);
                    sum += q;
                }
                dst.set(SHORT, blk + BSUMS + 2 * g, (short) sum);
            }
        }
    }
}
