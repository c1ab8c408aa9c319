package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.ruvector.sparse.quant.KQuants.F;
import static io.ruvector.sparse.quant.KQuants.FOUR;
import static io.ruvector.sparse.quant.KQuants.LANES;
import static io.ruvector.sparse.quant.KQuants.PARTS;
import static io.ruvector.sparse.quant.KQuants.QK;
import static io.ruvector.sparse.quant.KQuants.THREE;
import static io.ruvector.sparse.quant.KQuants.clamp;
import static io.ruvector.sparse.quant.KQuants.f16;
import static io.ruvector.sparse.quant.KQuants.nearestInt;
import static io.ruvector.sparse.quant.KQuants.scaleQ3;
import static io.ruvector.sparse.quant.KQuants.toFloat;
import static io.ruvector.sparse.quant.KQuants.u8;
import static io.ruvector.sparse.quant.KQuants.widen16;

/**
 * ggml Q3_K: 256 values in 110 bytes (3.4375 bits each), sixteen sub-blocks of 16.
 *
 * <p>Block: 32 bytes {@code hmask} of third bits, 64 bytes of 2-bit low parts, 12 bytes of 6-bit signed
 * sub-block scales (see {@link KQuants}), fp16 {@code d}. Value = {@code d*scale_j*(q - 4)}, q in 0..7. In
 * half {@code c}, value {@code 128c+32j+l} (j = 0..3, l = 0..31) takes bits {@code 2j..2j+1} of
 * {@code qs[32c+l]} and bit {@code 4c+j} of {@code hmask[l]}; its scale is {@code 8c+2j+l/16}.
 *
 * <p>Quantizer: per sub-block round-to-nearest with an x^2-weighted least-squares scale, refined value by
 * value ({@link KQuantFit#symmetric}), scales rounded to 6 signed bits against the block's largest one, every
 * value re-rounded to the final grid: the bytes of ggml's {@code quantize_row_q3_K_ref}.
 */
public final class Q3_K implements TensorType {

    public static final Q3_K INSTANCE = new Q3_K();

    static final int BYTES = 110;
    private static final int QS = 32;
    private static final int SCALES = 96;
    private static final int D = 108;

    private Q3_K() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q3_K; }

    /** The scalar specification of a block (ggml's {@code dequantize_row_q3_K}, same float operations). */
    static void decodeBlock(MemorySegment s, long blk, float[] y, int yo) {
        float dAll = f16(s, blk + D);
        for (int c = 0; c < 2; c++) {
            for (int j = 0; j < 4; j++) {
                for (int h = 0; h < 2; h++) {
                    float dl = dAll * scaleQ3(s, blk + SCALES, 8 * c + 2 * j + h);
                    for (int l = 0; l < 16; l++) {
                        int q = (u8(s, blk + QS + 32 * c + 16 * h + l) >>> (2 * j)) & 3;
                        int high = (u8(s, blk + 16 * h + l) >>> (4 * c + j)) & 1;
                        y[yo + 128 * c + 32 * j + 16 * h + l] = dl * (q - (high != 0 ? 0 : 4));
                    }
                }
            }
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        KQuants.dequantize(this, Q3_K::decodeBlock, src, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return KQuants.dotScalar(this, Q3_K::decodeBlock, src, offset, x, xOffset, n);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        KQuants.axpyScalar(this, Q3_K::decodeBlock, a, src, offset, y, yOffset, n);
    }

    /** Signed scale {@code k} (0..7) of a half's scales as unpacked by {@link KQuants#scalesQ3}. */
    private static int scale(long scales, int k) { return ((int) (scales >>> (8 * k)) & 0xFF) - 32; }

    /** Quants {@code q - 4} of shift {@code j}: 2 bits of {@code qs} plus hmask bit {@code bit} (pre-shifted by 2). */
    private static FloatVector quants(IntVector qs, IntVector hmask4, int j, int bit) {
        return toFloat(qs.lanewise(VectorOperators.LSHR, 2 * j).and(THREE)
                .or(hmask4.lanewise(VectorOperators.LSHR, bit).and(FOUR)).sub(FOUR));
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
                // Scales of this half, one per byte, offset by 32: byte 2j+h is sub-block 8c+2j+h.
                long scales = KQuants.scalesQ3(src, blk + SCALES, c == 1);
                for (int h = 0; h < 2; h++) {
                    for (int j = 0; j < 4; j += 2) {
                        FloatVector d0 = FloatVector.broadcast(F, d * scale(scales, 2 * j + h));
                        FloatVector d1 = FloatVector.broadcast(F, d * scale(scales, 2 * j + 2 + h));
                        for (int p = 0; p < PARTS; p++) {
                            IntVector qs = widen16(src, blk + QS + 32 * c + 16 * h, p);
                            IntVector hm = widen16(src, blk + 16 * h, p).lanewise(VectorOperators.LSHL, 2);
                            int i = xOffset + b * QK + 128 * c + 32 * j + 16 * h + p * LANES;
                            acc0 = quants(qs, hm, j, 4 * c + j).mul(d0).fma(FloatVector.fromArray(F, x, i), acc0);
                            acc1 = quants(qs, hm, j + 1, 4 * c + j + 1).mul(d1)
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
                // Scales of this half, one per byte, offset by 32: byte 2j+h is sub-block 8c+2j+h.
                long scales = KQuants.scalesQ3(src, blk + SCALES, c == 1);
                for (int h = 0; h < 2; h++) {
                    for (int j = 0; j < 4; j += 2) {
                        FloatVector d0 = FloatVector.broadcast(F, a * (d * scale(scales, 2 * j + h)));
                        FloatVector d1 = FloatVector.broadcast(F, a * (d * scale(scales, 2 * j + 2 + h)));
                        for (int p = 0; p < PARTS; p++) {
                            IntVector qs = widen16(src, blk + QS + 32 * c + 16 * h, p);
                            IntVector hm = widen16(src, blk + 16 * h, p).lanewise(VectorOperators.LSHL, 2);
                            int i = yOffset + b * QK + 128 * c + 32 * j + 16 * h + p * LANES;
                            quants(qs, hm, j, 4 * c + j).fma(d0, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                            quants(qs, hm, j + 1, 4 * c + j + 1)
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
        int[] biased = new int[16];
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int xo = srcOffset + b * QK;
            float maxScale = 0;
            for (int j = 0; j < 16; j++) {
                scales[j] = KQuantFit.symmetric(src, xo + 16 * j, 16, 4, l, 16 * j, false);
                if (Math.abs(scales[j]) > Math.abs(maxScale)) maxScale = scales[j];
            }
            // Map the largest sub-block scale to -32, the 6-bit value without a positive twin.
            float inv = maxScale != 0 ? -32f / maxScale : 0f;
            // An all-zero block keeps zero scale bytes (d = 0 makes them irrelevant; ggml writes zeros too).
            for (int j = 0; j < 16; j++) biased[j] = inv == 0 ? 0 : 32 + clamp(nearestInt(inv * scales[j]), -32, 31);
            KQuants.putScalesQ3(dst, blk + SCALES, biased);
            KQuants.putF16(dst, blk + D, maxScale != 0 ? 1 / inv : 0f);
            float d = f16(dst, blk + D);
            for (int j = 0; j < 16; j++) {
                float dl = d * (biased[j] - 32);
                if (dl == 0) continue;
                for (int i = 0; i < 16; i++) l[16 * j + i] = 4 + clamp(nearestInt(src[xo + 16 * j + i] / dl), -4, 3);
            }
            byte[] hmask = new byte[32];
            for (int i = 0; i < QK; i++) {
                if (l[i] > 3) hmask[i % 32] |= (byte) (1 << (i / 32));
            }
            MemorySegment.copy(hmask, 0, dst, ValueLayout.JAVA_BYTE, blk, 32);
            for (int c = 0; c < 2; c++) {
                for (int i = 0; i < 32; i++) {
                    int o = 128 * c + i;
                    dst.set(ValueLayout.JAVA_BYTE, blk + QS + 32 * c + i, (byte) ((l[o] & 3) | (l[o + 32] & 3) << 2
                            | (l[o + 64] & 3) << 4 | (l[o + 96] & 3) << 6));
                }
            }
        }
    }
}
