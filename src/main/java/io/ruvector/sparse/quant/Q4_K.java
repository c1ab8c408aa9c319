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
import static io.ruvector.sparse.quant.KQuants.NIBBLE;
import static io.ruvector.sparse.quant.KQuants.PARTS;
import static io.ruvector.sparse.quant.KQuants.QK;
import static io.ruvector.sparse.quant.KQuants.f16;
import static io.ruvector.sparse.quant.KQuants.minK4;
import static io.ruvector.sparse.quant.KQuants.scaleK4;
import static io.ruvector.sparse.quant.KQuants.toFloat;
import static io.ruvector.sparse.quant.KQuants.u8;
import static io.ruvector.sparse.quant.KQuants.widen16;

/**
 * ggml Q4_K: 256 values in 144 bytes (4.5 bits each), eight sub-blocks of 32.
 *
 * <p>Block: fp16 {@code d}, fp16 {@code dmin}, 12 bytes of 6-bit sub-block scales and mins (see
 * {@link KQuants}), 128 bytes of 4-bit quants. Value = {@code d*scale_j*q - dmin*min_j}. Byte {@code 32c+l}
 * of the quants holds value {@code 64c+l} in its low nibble and value {@code 64c+32+l} in its high nibble.
 *
 * <p>Quantizer: per sub-block a weighted least-squares search for scale and min over plain rounding and 21
 * further grids ({@link KQuantFit#affine}, weights {@code rms(x) + |x|}), then the scales and mins are rounded
 * to 6 bits against the block maxima and every value is re-rounded to the final grid: the bytes of ggml's
 * {@code quantize_row_q4_K_ref}.
 */
public final class Q4_K implements TensorType, Q8KDotProduct {

    public static final Q4_K INSTANCE = new Q4_K();

    static final int BYTES = 144;
    private static final int SCALES = 4;
    private static final int QS = 16;

    private Q4_K() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q4_K; }

    /** The scalar specification of a block (ggml's {@code dequantize_row_q4_K}, same float operations). */
    static void decodeBlock(MemorySegment s, long blk, float[] y, int yo) {
        float d = f16(s, blk);
        float min = f16(s, blk + 2);
        for (int c = 0; c < 4; c++) {
            float d1 = d * scaleK4(s, blk + SCALES, 2 * c);
            float m1 = min * minK4(s, blk + SCALES, 2 * c);
            float d2 = d * scaleK4(s, blk + SCALES, 2 * c + 1);
            float m2 = min * minK4(s, blk + SCALES, 2 * c + 1);
            for (int l = 0; l < 32; l++) {
                int q = u8(s, blk + QS + 32 * c + l);
                y[yo + 64 * c + l] = d1 * (q & 0xF) - m1;
                y[yo + 64 * c + 32 + l] = d2 * (q >>> 4) - m2;
            }
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        KQuants.dequantize(this, Q4_K::decodeBlock, src, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return KQuants.dotScalar(this, Q4_K::decodeBlock, src, offset, x, xOffset, n);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        KQuants.axpyScalar(this, Q4_K::decodeBlock, a, src, offset, y, yOffset, n);
    }

    /** Vector twin of {@link #decodeBlock}: the same multiply, then subtract, per value. */
    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = KQuants.checkRow(this, src, offset, dst, dstOffset, n);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            float d = f16(src, blk);
            float dmin = f16(src, blk + 2);
            long low = src.get(KQuants.LONG, blk + SCALES);
            int high = src.get(KQuants.INT, blk + SCALES + 8);
            for (int c = 0; c < 4; c++) {
                FloatVector d1 = FloatVector.broadcast(F, d * scaleK4(low, high, 2 * c));
                FloatVector m1 = FloatVector.broadcast(F, dmin * minK4(low, high, 2 * c));
                FloatVector d2 = FloatVector.broadcast(F, d * scaleK4(low, high, 2 * c + 1));
                FloatVector m2 = FloatVector.broadcast(F, dmin * minK4(low, high, 2 * c + 1));
                for (int r = 0; r < 32; r += 16) {
                    for (int p = 0; p < PARTS; p++) {
                        IntVector q = widen16(src, blk + QS + 32 * c + r, p);
                        int i = dstOffset + b * QK + 64 * c + r + p * LANES;
                        toFloat(q.and(NIBBLE)).mul(d1).sub(m1).intoArray(dst, i);
                        toFloat(q.lanewise(VectorOperators.LSHR, 4)).mul(d2).sub(m2).intoArray(dst, i + 32);
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
            float d = f16(src, blk);
            float dmin = f16(src, blk + 2);
            long low = src.get(KQuants.LONG, blk + SCALES);
            int high = src.get(KQuants.INT, blk + SCALES + 8);
            for (int c = 0; c < 4; c++) {
                FloatVector d1 = FloatVector.broadcast(F, d * scaleK4(low, high, 2 * c));
                FloatVector m1 = FloatVector.broadcast(F, -(dmin * minK4(low, high, 2 * c)));
                FloatVector d2 = FloatVector.broadcast(F, d * scaleK4(low, high, 2 * c + 1));
                FloatVector m2 = FloatVector.broadcast(F, -(dmin * minK4(low, high, 2 * c + 1)));
                for (int r = 0; r < 32; r += 16) {
                    for (int p = 0; p < PARTS; p++) {
                        IntVector q = widen16(src, blk + QS + 32 * c + r, p);
                        int i = xOffset + b * QK + 64 * c + r + p * LANES;
                        FloatVector lo = toFloat(q.and(NIBBLE)).fma(d1, m1);
                        FloatVector hi = toFloat(q.lanewise(VectorOperators.LSHR, 4)).fma(d2, m2);
                        acc0 = lo.fma(FloatVector.fromArray(F, x, i), acc0);
                        acc1 = hi.fma(FloatVector.fromArray(F, x, i + 32), acc1);
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
            float d = f16(src, blk);
            float dmin = f16(src, blk + 2);
            long low = src.get(KQuants.LONG, blk + SCALES);
            int high = src.get(KQuants.INT, blk + SCALES + 8);
            for (int c = 0; c < 4; c++) {
                FloatVector d1 = FloatVector.broadcast(F, d * scaleK4(low, high, 2 * c));
                FloatVector m1 = FloatVector.broadcast(F, -(dmin * minK4(low, high, 2 * c)));
                FloatVector d2 = FloatVector.broadcast(F, d * scaleK4(low, high, 2 * c + 1));
                FloatVector m2 = FloatVector.broadcast(F, -(dmin * minK4(low, high, 2 * c + 1)));
                for (int r = 0; r < 32; r += 16) {
                    for (int p = 0; p < PARTS; p++) {
                        IntVector q = widen16(src, blk + QS + 32 * c + r, p);
                        int i = yOffset + b * QK + 64 * c + r + p * LANES;
                        FloatVector lo = toFloat(q.and(NIBBLE)).fma(d1, m1);
                        FloatVector hi = toFloat(q.lanewise(VectorOperators.LSHR, 4)).fma(d2, m2);
                        lo.fma(va, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                        hi.fma(va, FloatVector.fromArray(F, y, i + 32)).intoArray(y, i + 32);
                    }
                }
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = KQuants.checkRow(this, dst, offset, src, srcOffset, n);
        KQuants.requireFinite(this, src, srcOffset, n);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            int[] l = KQuantFit.encodeScalesK4(src, srcOffset + b * QK, 15, -1f, 0.1f, 20, dst, blk);
            for (int c = 0; c < 4; c++) {
                for (int j = 0; j < 32; j++) {
                    int lo = l[64 * c + j];
                    int hi = l[64 * c + 32 + j];
                    dst.set(ValueLayout.JAVA_BYTE, blk + QS + 32 * c + j, (byte) (lo | hi << 4));
                }
            }
        }
    }

    @Override
    public float dotQ8K(MemorySegment src, long offset, Q8KActivation x, int n) { return KQuantRowsQ8K.q4K(src, offset, x, n); }

    @Override
    public float dotQ8KScalar(MemorySegment src, long offset, Q8KActivation x, int n) { return KQuantRowsQ8K.q4KScalar(src, offset, x, n); }
}
