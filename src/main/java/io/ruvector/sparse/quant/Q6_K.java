package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.ruvector.sparse.quant.KQuants.BITS45;
import static io.ruvector.sparse.quant.KQuants.F;
import static io.ruvector.sparse.quant.KQuants.LANES;
import static io.ruvector.sparse.quant.KQuants.NIBBLE;
import static io.ruvector.sparse.quant.KQuants.PARTS;
import static io.ruvector.sparse.quant.KQuants.QK;
import static io.ruvector.sparse.quant.KQuants.THIRTY_TWO;
import static io.ruvector.sparse.quant.KQuants.clamp;
import static io.ruvector.sparse.quant.KQuants.f16;
import static io.ruvector.sparse.quant.KQuants.nearestInt;
import static io.ruvector.sparse.quant.KQuants.s8;
import static io.ruvector.sparse.quant.KQuants.toFloat;
import static io.ruvector.sparse.quant.KQuants.u8;
import static io.ruvector.sparse.quant.KQuants.widen16;

/**
 * ggml Q6_K: 256 values in 210 bytes (6.5625 bits each), sixteen sub-blocks of 16.
 *
 * <p>Block: 128 bytes {@code ql} of low nibbles, 64 bytes {@code qh} of 2-bit high parts, 16 int8 sub-block
 * scales, fp16 {@code d}. Value = {@code d*scale_j*(q - 32)}, q in 0..63. In half {@code c} (128 values),
 * value {@code 128c+32k+l} (k = 0..3, l = 0..31) takes nibble {@code k/2} of {@code ql[64c+32(k%2)+l]} and
 * bits {@code 2k..2k+1} of {@code qh[32c+l]}; its scale is {@code 8c+2k+l/16}.
 *
 * <p>Quantizer: per sub-block a least-squares scale search weighted by x^2 over 19 candidate grids
 * ({@link KQuantFit#symmetric}), sub-block scales rounded to int8 against the block's largest one, then
 * every value re-rounded to the final grid: the bytes of ggml's {@code quantize_row_q6_K_ref}.
 */
public final class Q6_K implements TensorType, Q8KDotProduct {

    public static final Q6_K INSTANCE = new Q6_K();

    static final int BYTES = 210;
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;

    private Q6_K() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q6_K; }

    /** The scalar specification of a block (ggml's {@code dequantize_row_q6_K}, same float operations). */
    static void decodeBlock(MemorySegment s, long blk, float[] y, int yo) {
        float d = f16(s, blk + D);
        for (int c = 0; c < 2; c++) {
            for (int l = 0; l < 32; l++) {
                int sc = 8 * c + l / 16;
                int ql0 = u8(s, blk + 64 * c + l);
                int ql1 = u8(s, blk + 64 * c + 32 + l);
                int qh = u8(s, blk + QH + 32 * c + l);
                int o = yo + 128 * c + l;
                y[o] = d * s8(s, blk + SCALES + sc) * (((ql0 & 0xF) | (qh & 3) << 4) - 32);
                y[o + 32] = d * s8(s, blk + SCALES + sc + 2) * (((ql1 & 0xF) | (qh >>> 2 & 3) << 4) - 32);
                y[o + 64] = d * s8(s, blk + SCALES + sc + 4) * (((ql0 >>> 4) | (qh >>> 4 & 3) << 4) - 32);
                y[o + 96] = d * s8(s, blk + SCALES + sc + 6) * (((ql1 >>> 4) | (qh >>> 6) << 4) - 32);
            }
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        KQuants.dequantize(this, Q6_K::decodeBlock, src, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return KQuants.dotScalar(this, Q6_K::decodeBlock, src, offset, x, xOffset, n);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        KQuants.axpyScalar(this, Q6_K::decodeBlock, a, src, offset, y, yOffset, n);
    }

    /**
     * Quants {@code q - 32} of the values that take nibble {@code nib} of {@code ql} and, from {@code qh4}
     * (qh shifted left by 4), the 2 bits at {@code 4*nib + 2*half}.
     */
    private static FloatVector quants(IntVector ql, IntVector qh4, int nib, int half) {
        return toFloat(ql.lanewise(VectorOperators.LSHR, 4 * nib).and(NIBBLE)
                .or(qh4.lanewise(VectorOperators.LSHR, 4 * nib + 2 * half).and(BITS45)).sub(THIRTY_TWO));
    }

    /** Vector twin of {@link #decodeBlock}: (q - 32) times the same {@code d * scale}. */
    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = KQuants.checkRow(this, src, offset, dst, dstOffset, n);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            float d = f16(src, blk + D);
            for (int c = 0; c < 2; c++) {
                for (int nib = 0; nib < 2; nib++) {
                    for (int r = 0; r < 32; r += 16) {
                        long sc = blk + SCALES + 8 * c + 4 * nib + r / 16;
                        FloatVector d0 = FloatVector.broadcast(F, d * s8(src, sc));
                        FloatVector d1 = FloatVector.broadcast(F, d * s8(src, sc + 2));
                        for (int p = 0; p < PARTS; p++) {
                            IntVector qh4 = widen16(src, blk + QH + 32 * c + r, p).lanewise(VectorOperators.LSHL, 4);
                            int i = dstOffset + b * QK + 128 * c + 64 * nib + r + p * LANES;
                            quants(widen16(src, blk + 64 * c + r, p), qh4, nib, 0).mul(d0).intoArray(dst, i);
                            quants(widen16(src, blk + 64 * c + 32 + r, p), qh4, nib, 1).mul(d1).intoArray(dst, i + 32);
                        }
                    }
                }
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = KQuants.checkRow(this, src, offset, x, xOffset, n);
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            float d = f16(src, blk + D);
            for (int c = 0; c < 2; c++) {
                for (int nib = 0; nib < 2; nib++) {
                    for (int r = 0; r < 32; r += 16) {
                        // Values 128c + 64nib + r.. (first ql half) and 32 further (second half).
                        long sc = blk + SCALES + 8 * c + 4 * nib + r / 16;
                        FloatVector d0 = FloatVector.broadcast(F, d * s8(src, sc));
                        FloatVector d1 = FloatVector.broadcast(F, d * s8(src, sc + 2));
                        for (int p = 0; p < PARTS; p++) {
                            IntVector qh4 = widen16(src, blk + QH + 32 * c + r, p).lanewise(VectorOperators.LSHL, 4);
                            int i = xOffset + b * QK + 128 * c + 64 * nib + r + p * LANES;
                            acc0 = quants(widen16(src, blk + 64 * c + r, p), qh4, nib, 0).mul(d0)
                                    .fma(FloatVector.fromArray(F, x, i), acc0);
                            acc1 = quants(widen16(src, blk + 64 * c + 32 + r, p), qh4, nib, 1).mul(d1)
                                    .fma(FloatVector.fromArray(F, x, i + 32), acc1);
                        }
                    }
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
            float d = f16(src, blk + D);
            for (int c = 0; c < 2; c++) {
                for (int nib = 0; nib < 2; nib++) {
                    for (int r = 0; r < 32; r += 16) {
                        long sc = blk + SCALES + 8 * c + 4 * nib + r / 16;
                        FloatVector d0 = FloatVector.broadcast(F, a * (d * s8(src, sc)));
                        FloatVector d1 = FloatVector.broadcast(F, a * (d * s8(src, sc + 2)));
                        for (int p = 0; p < PARTS; p++) {
                            IntVector qh4 = widen16(src, blk + QH + 32 * c + r, p).lanewise(VectorOperators.LSHL, 4);
                            int i = yOffset + b * QK + 128 * c + 64 * nib + r + p * LANES;
                            quants(widen16(src, blk + 64 * c + r, p), qh4, nib, 0)
                                    .fma(d0, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                            quants(widen16(src, blk + 64 * c + 32 + r, p), qh4, nib, 1)
                                    .fma(d1, FloatVector.fromArray(F, y, i + 32)).intoArray(y, i + 32);
                        }
                    }
                }
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = KQuants.checkRow(this, dst, offset, src, srcOffset, n);
        KQuants.requireFinite(this, src, srcOffset, n);
        int[] l = new int[QK];
        float[] scales = new float[16];
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int xo = srcOffset + b * QK;
            float maxScale = 0;
            for (int j = 0; j < 16; j++) {
                scales[j] = KQuantFit.symmetric(src, xo + 16 * j, 16, 32, l, 16 * j, true);
                if (Math.abs(scales[j]) > Math.abs(maxScale)) maxScale = scales[j];
            }
            dst.asSlice(blk, BYTES).fill((byte) 0);
            if (Math.abs(maxScale) < 1e-15f) continue;
            // Map the largest sub-block scale to -128, the int8 value without a positive twin.
            float inv = -128f / maxScale;
            KQuants.putF16(dst, blk + D, 1 / inv);
            float d = f16(dst, blk + D);
            for (int j = 0; j < 16; j++) {
                int sc = Math.min(127, nearestInt(inv * scales[j]));
                dst.set(ValueLayout.JAVA_BYTE, blk + SCALES + j, (byte) sc);
                float dl = d * sc;
                if (dl == 0) continue;
                for (int i = 0; i < 16; i++) l[16 * j + i] = 32 + clamp(nearestInt(src[xo + 16 * j + i] / dl), -32, 31);
            }
            for (int c = 0; c < 2; c++) {
                for (int i = 0; i < 32; i++) {
                    int o = 128 * c + i;
                    int v0 = l[o], v1 = l[o + 32], v2 = l[o + 64], v3 = l[o + 96];
                    dst.set(ValueLayout.JAVA_BYTE, blk + 64 * c + i, (byte) ((v0 & 0xF) | (v2 & 0xF) << 4));
                    dst.set(ValueLayout.JAVA_BYTE, blk + 64 * c + 32 + i, (byte) ((v1 & 0xF) | (v3 & 0xF) << 4));
                    dst.set(ValueLayout.JAVA_BYTE, blk + QH + 32 * c + i,
                            (byte) ((v0 >>> 4) | (v1 >>> 4) << 2 | (v2 >>> 4) << 4 | (v3 >>> 4) << 6));
                }
            }
        }
    }

    @Override
    public float dotQ8K(MemorySegment src, long offset, Q8KActivation x, int n) { return KQuantRowsQ8K.q6K(src, offset, x, n); }

    @Override
    public float dotQ8KScalar(MemorySegment src, long offset, Q8KActivation x, int n) { return KQuantRowsQ8K.q6KScalar(src, offset, x, n); }
}
