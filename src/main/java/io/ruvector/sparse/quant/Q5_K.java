package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.ruvector.sparse.quant.KQuants.BIT4;
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
 * ggml Q5_K: 256 values in 176 bytes (5.5 bits each), eight sub-blocks of 32.
 *
 * <p>Block: fp16 {@code d}, fp16 {@code dmin}, 12 bytes of 6-bit scales and mins (as Q4_K), 32 bytes
 * {@code qh} of fifth bits, 128 bytes of low nibbles. Value = {@code d*scale_j*q - dmin*min_j}, q in 0..31.
 * Values {@code 64c+l} and {@code 64c+32+l} take the low / high nibble of byte {@code 32c+l} and bits
 * {@code 2c} / {@code 2c+1} of {@code qh[l]}.
 *
 * <p>Quantizer: as Q4_K ({@link KQuantFit#encodeScalesK4}) with 31 levels and 16 further grids: the bytes
 * of ggml's {@code quantize_row_q5_K_ref}.
 */
public final class Q5_K implements TensorType, Q8KDotProduct {

    public static final Q5_K INSTANCE = new Q5_K();

    static final int BYTES = 176;
    private static final int SCALES = 4;
    private static final int QH = 16;
    private static final int QS = 48;

    private Q5_K() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q5_K; }

    /** The scalar specification of a block (ggml's {@code dequantize_row_q5_K}, same float operations). */
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
                int h = u8(s, blk + QH + l) >>> (2 * c);
                y[yo + 64 * c + l] = d1 * ((q & 0xF) + ((h & 1) << 4)) - m1;
                y[yo + 64 * c + 32 + l] = d2 * ((q >>> 4) + ((h & 2) << 3)) - m2;
            }
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        KQuants.dequantize(this, Q5_K::decodeBlock, src, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return KQuants.dotScalar(this, Q5_K::decodeBlock, src, offset, x, xOffset, n);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        KQuants.axpyScalar(this, Q5_K::decodeBlock, a, src, offset, y, yOffset, n);
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
                        // Fifth bits of both halves, moved to bit 4 and bit 5.
                        IntVector h = widen16(src, blk + QH + r, p).lanewise(VectorOperators.LSHR, 2 * c)
                                .lanewise(VectorOperators.LSHL, 4);
                        int i = xOffset + b * QK + 64 * c + r + p * LANES;
                        FloatVector lo = toFloat(q.and(NIBBLE).or(h.and(BIT4))).fma(d1, m1);
                        FloatVector hi = toFloat(q.lanewise(VectorOperators.LSHR, 4)
                                .or(h.lanewise(VectorOperators.LSHR, 1).and(BIT4))).fma(d2, m2);
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
                        IntVector h = widen16(src, blk + QH + r, p).lanewise(VectorOperators.LSHR, 2 * c)
                                .lanewise(VectorOperators.LSHL, 4);
                        int i = yOffset + b * QK + 64 * c + r + p * LANES;
                        FloatVector lo = toFloat(q.and(NIBBLE).or(h.and(BIT4))).fma(d1, m1);
                        FloatVector hi = toFloat(q.lanewise(VectorOperators.LSHR, 4)
                                .or(h.lanewise(VectorOperators.LSHR, 1).and(BIT4))).fma(d2, m2);
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
            int[] l = KQuantFit.encodeScalesK4(src, srcOffset + b * QK, 31, -0.5f, 0.1f, 15, dst, blk);
            byte[] qh = new byte[32];
            for (int c = 0; c < 4; c++) {
                for (int j = 0; j < 32; j++) {
                    int lo = l[64 * c + j];
                    int hi = l[64 * c + 32 + j];
                    dst.set(ValueLayout.JAVA_BYTE, blk + QS + 32 * c + j, (byte) ((lo & 0xF) | (hi & 0xF) << 4));
                    qh[j] |= (byte) (((lo >>> 4) | (hi >>> 4) << 1) << (2 * c));
                }
            }
            MemorySegment.copy(qh, 0, dst, ValueLayout.JAVA_BYTE, blk + QH, 32);
        }
    }

    @Override
    public float dotQ8K(MemorySegment src, long offset, Q8KActivation x, int n) { return KQuantRowsQ8K.q5K(src, offset, x, n); }

    @Override
    public float dotQ8KScalar(MemorySegment src, long offset, Q8KActivation x, int n) { return KQuantRowsQ8K.q5KScalar(src, offset, x, n); }
}
