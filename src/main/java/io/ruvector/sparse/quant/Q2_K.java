package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.ruvector.sparse.quant.KQuants.F;
import static io.ruvector.sparse.quant.KQuants.LANES;
import static io.ruvector.sparse.quant.KQuants.PARTS;
import static io.ruvector.sparse.quant.KQuants.QK;
import static io.ruvector.sparse.quant.KQuants.THREE;
import static io.ruvector.sparse.quant.KQuants.clamp;
import static io.ruvector.sparse.quant.KQuants.f16;
import static io.ruvector.sparse.quant.KQuants.nearestInt;
import static io.ruvector.sparse.quant.KQuants.toFloat;
import static io.ruvector.sparse.quant.KQuants.u8;
import static io.ruvector.sparse.quant.KQuants.widen16;

/**
 * ggml Q2_K: 256 values in 84 bytes (2.625 bits each), sixteen sub-blocks of 16.
 *
 * <p>Block: 16 bytes of sub-block scale (low nibble) and min (high nibble), 64 bytes of 2-bit quants, fp16
 * {@code d}, fp16 {@code dmin}. Value = {@code d*scale_j*q - dmin*min_j}, q in 0..3. In half {@code c},
 * value {@code 128c+32j+l} (j = 0..3, l = 0..31) takes bits {@code 2j..2j+1} of {@code qs[32c+l]}; its
 * scale byte is {@code 8c+2j+l/16}.
 *
 * <p>Quantizer: per sub-block a search for scale and min over plain rounding and 16 further grids, minimising
 * the |x|-weighted absolute error ({@link KQuantFit#affine}), scales and mins rounded to 4 bits against the
 * block maxima, every value re-rounded to the final grid: the bytes of ggml's {@code quantize_row_q2_K_ref}.
 */
public final class Q2_K implements TensorType {

    public static final Q2_K INSTANCE = new Q2_K();

    static final int BYTES = 84;
    private static final int QS = 16;
    private static final int D = 80;

    private Q2_K() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q2_K; }

    /** The scalar specification of a block (ggml's {@code dequantize_row_q2_K}, same float operations). */
    static void decodeBlock(MemorySegment s, long blk, float[] y, int yo) {
        float d = f16(s, blk + D);
        float min = f16(s, blk + D + 2);
        for (int c = 0; c < 2; c++) {
            for (int j = 0; j < 4; j++) {
                for (int h = 0; h < 2; h++) {
                    int sc = u8(s, blk + 8 * c + 2 * j + h);
                    float dl = d * (sc & 0xF);
                    float ml = min * (sc >>> 4);
                    for (int l = 0; l < 16; l++) {
                        int q = (u8(s, blk + QS + 32 * c + 16 * h + l) >>> (2 * j)) & 3;
                        y[yo + 128 * c + 32 * j + 16 * h + l] = dl * q - ml;
                    }
                }
            }
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        KQuants.dequantize(this, Q2_K::decodeBlock, src, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return KQuants.dotScalar(this, Q2_K::decodeBlock, src, offset, x, xOffset, n);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        KQuants.axpyScalar(this, Q2_K::decodeBlock, a, src, offset, y, yOffset, n);
    }

    /** The 2-bit quants at shift {@code 2j} as floats. */
    private static FloatVector quants(IntVector qs, int j) {
        return toFloat(qs.lanewise(VectorOperators.LSHR, 2 * j).and(THREE));
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = KQuants.checkRow(this, src, offset, x, xOffset, n);
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            float d = f16(src, blk + D);
            float dmin = f16(src, blk + D + 2);
            for (int c = 0; c < 2; c++) {
                for (int h = 0; h < 2; h++) {
                    for (int j = 0; j < 4; j += 2) {
                        int sc0 = u8(src, blk + 8 * c + 2 * j + h);
                        int sc1 = u8(src, blk + 8 * c + 2 * j + 2 + h);
                        FloatVector d0 = FloatVector.broadcast(F, d * (sc0 & 0xF));
                        FloatVector m0 = FloatVector.broadcast(F, -(dmin * (sc0 >>> 4)));
                        FloatVector d1 = FloatVector.broadcast(F, d * (sc1 & 0xF));
                        FloatVector m1 = FloatVector.broadcast(F, -(dmin * (sc1 >>> 4)));
                        for (int p = 0; p < PARTS; p++) {
                            IntVector qs = widen16(src, blk + QS + 32 * c + 16 * h, p);
                            int i = xOffset + b * QK + 128 * c + 32 * j + 16 * h + p * LANES;
                            acc0 = quants(qs, j).fma(d0, m0).fma(FloatVector.fromArray(F, x, i), acc0);
                            acc1 = quants(qs, j + 1).fma(d1, m1).fma(FloatVector.fromArray(F, x, i + 32), acc1);
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
        FloatVector va = FloatVector.broadcast(F, a);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            float d = f16(src, blk + D);
            float dmin = f16(src, blk + D + 2);
            for (int c = 0; c < 2; c++) {
                for (int h = 0; h < 2; h++) {
                    for (int j = 0; j < 4; j += 2) {
                        int sc0 = u8(src, blk + 8 * c + 2 * j + h);
                        int sc1 = u8(src, blk + 8 * c + 2 * j + 2 + h);
                        FloatVector d0 = FloatVector.broadcast(F, d * (sc0 & 0xF));
                        FloatVector m0 = FloatVector.broadcast(F, -(dmin * (sc0 >>> 4)));
                        FloatVector d1 = FloatVector.broadcast(F, d * (sc1 & 0xF));
                        FloatVector m1 = FloatVector.broadcast(F, -(dmin * (sc1 >>> 4)));
                        for (int p = 0; p < PARTS; p++) {
                            IntVector qs = widen16(src, blk + QS + 32 * c + 16 * h, p);
                            int i = yOffset + b * QK + 128 * c + 32 * j + 16 * h + p * LANES;
                            quants(qs, j).fma(d0, m0).fma(va, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                            quants(qs, j + 1).fma(d1, m1)
                                    .fma(va, FloatVector.fromArray(F, y, i + 32)).intoArray(y, i + 32);
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
        float[] mins = new float[16];
        float[] w = new float[16];
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int xo = srcOffset + b * QK;
            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < 16; j++) {
                for (int i = 0; i < 16; i++) w[i] = Math.abs(src[xo + 16 * j + i]);
                scales[j] = KQuantFit.affine(src, xo + 16 * j, 16, 3, w, l, 16 * j, mins, j, -0.5f, 0.1f, 15, true);
                maxScale = Math.max(maxScale, scales[j]);
                maxMin = Math.max(maxMin, mins[j]);
            }
            float invScale = maxScale > 0 ? 15f / maxScale : 0f;
            float invMin = maxMin > 0 ? 15f / maxMin : 0f;
            KQuants.putF16(dst, blk + D, maxScale / 15f);
            KQuants.putF16(dst, blk + D + 2, maxMin / 15f);
            float d = f16(dst, blk + D);
            float dmin = f16(dst, blk + D + 2);
            for (int j = 0; j < 16; j++) {
                int sc = Math.min(15, nearestInt(invScale * scales[j]));
                int m = Math.min(15, nearestInt(invMin * mins[j]));
                dst.set(ValueLayout.JAVA_BYTE, blk + j, (byte) (sc | m << 4));
                float dl = d * sc;
                if (dl == 0) continue;
                float ml = dmin * m;
                for (int i = 0; i < 16; i++) l[16 * j + i] = clamp(nearestInt((src[xo + 16 * j + i] + ml) / dl), 0, 3);
            }
            for (int c = 0; c < 2; c++) {
                for (int i = 0; i < 32; i++) {
                    int o = 128 * c + i;
                    dst.set(ValueLayout.JAVA_BYTE, blk + QS + 32 * c + i, (byte) (l[o] | l[o + 32] << 2
                            | l[o + 64] << 4 | l[o + 96] << 6));
                }
            }
        }
    }
}
