package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * ggml {@code block_q5_1}: 32 values in 24 bytes: fp16 scale {@code d}, fp16 min {@code m}, a 32-bit
 * little-endian {@code qh} with the fifth bit of every code (bit j for value j), then 16 bytes of low nibbles
 * (low nibble value j, high nibble value j+16); value = code * d + m.
 *
 * <p>Quantizer: ggml's {@code quantize_row_q5_1_ref}, byte for byte: {@code d = (max - min) / 31},
 * {@code m = min}, code = trunc((x - min)/d + 0.5).
 */
public final class Q5_1 implements TensorType, Int8DotProduct {

    public static final Q5_1 INSTANCE = new Q5_1();

    private static final int QK = 32;
    private static final int BYTES = 24;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Short> SH = Simd.S_HALF;
    private static final VectorSpecies<Byte> B16 = Simd.B16;
    private static final int PARTS = Simd.PARTS16;
    private static final int L = F.length();
    private static final int[] QH_BIT = QhBits.INT;
    private static final short[] QH_BIT16 = QhBits.SHORT;

    private Q5_1() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q5_1; }

    private static int code(MemorySegment src, long bo, int qh, int j) {
        int q = src.get(Layouts.BYTE, bo + 8 + (j & 15));
        int nibble = j < 16 ? q & 0xF : (q >> 4) & 0xF;
        return nibble | ((qh >>> j) & 1) << 4;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_1");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float d = Fp16.read(src, bo);
            float m = Fp16.read(src, bo + 2);
            int qh = src.get(Layouts.INT_LE, bo + 4);
            for (int j = 0; j < QK; j++) dst[dstOffset + b * QK + j] = code(src, bo, qh, j) * d + m;
        }
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_1");
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int qh = src.get(Layouts.INT_LE, bo + 4);
            float qx = 0f;
            float sx = 0f;
            for (int j = 0; j < QK; j++) {
                float xj = x[xOffset + b * QK + j];
                qx += code(src, bo, qh, j) * xj;
                sx += xj;
            }
            sum += qx * Fp16.read(src, bo) + sx * Fp16.read(src, bo + 2);
        }
        return sum;
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_1");
        // Two accumulators on alternate blocks (each chain waits only on every other block), rotated so that
        // the block body has one call site: a second inlined copy can push C2 past its inlining budget, and a
        // call left out of line boxes its vectors.
        FloatVector acc = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            FloatVector next = blockDot(src, offset + (long) b * BYTES, x, xOffset + b * QK, other);
            other = acc;
            acc = next;
        }
        return VectorMath.sum(acc.add(other));
    }

    private static FloatVector blockDot(MemorySegment src, long bo, float[] x, int xb, FloatVector acc) {
        IntVector qh = IntVector.broadcast(I, src.get(Layouts.INT_LE, bo + 4));
        ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 8, Simd.LE);
        FloatVector qx = FloatVector.zero(F);
        FloatVector sx = FloatVector.zero(F);
        for (int p = 0; p < PARTS; p++) {
            IntVector v = (IntVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
            IntVector lo = v.and(0xF).add(16, qh.and(IntVector.fromArray(I, QH_BIT, p * L)).compare(VectorOperators.NE, 0));
            IntVector hi = v.lanewise(VectorOperators.LSHR, 4)
                    .add(16, qh.and(IntVector.fromArray(I, QH_BIT, 16 + p * L)).compare(VectorOperators.NE, 0));
            FloatVector x0 = FloatVector.fromArray(F, x, xb + p * L);
            FloatVector x1 = FloatVector.fromArray(F, x, xb + 16 + p * L);
            qx = ((FloatVector) hi.convert(VectorOperators.I2F, 0)).fma(x1,
                    ((FloatVector) lo.convert(VectorOperators.I2F, 0)).fma(x0, qx));
            sx = sx.add(x0).add(x1);
        }
        acc = qx.fma(FloatVector.broadcast(F, Fp16.read(src, bo)), acc);
        return sx.fma(FloatVector.broadcast(F, Fp16.read(src, bo + 2)), acc);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_1");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float ad = a * Fp16.read(src, bo);
            float am = a * Fp16.read(src, bo + 2);
            int qh = src.get(Layouts.INT_LE, bo + 4);
            for (int j = 0; j < QK; j++) y[yOffset + b * QK + j] += Math.fma(code(src, bo, qh, j), ad, am);
        }
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_1");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector ad = FloatVector.broadcast(F, a * Fp16.read(src, bo));
            FloatVector am = FloatVector.broadcast(F, a * Fp16.read(src, bo + 2));
            IntVector qh = IntVector.broadcast(I, src.get(Layouts.INT_LE, bo + 4));
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 8, Simd.LE);
            int o = yOffset + b * QK;
            for (int p = 0; p < PARTS; p++) {
                IntVector v = (IntVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
                IntVector lo = v.and(0xF).add(16, qh.and(IntVector.fromArray(I, QH_BIT, p * L)).compare(VectorOperators.NE, 0));
                IntVector hi = v.lanewise(VectorOperators.LSHR, 4)
                        .add(16, qh.and(IntVector.fromArray(I, QH_BIT, 16 + p * L)).compare(VectorOperators.NE, 0));
                int i = o + p * L;
                FloatVector.fromArray(F, y, i).add(((FloatVector) lo.convert(VectorOperators.I2F, 0)).fma(ad, am)).intoArray(y, i);
                FloatVector.fromArray(F, y, i + 16).add(((FloatVector) hi.convert(VectorOperators.I2F, 0)).fma(ad, am))
                        .intoArray(y, i + 16);
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = Blocks.count(n, QK, "Q5_1");
        for (int b = 0; b < nb; b++) {
            int xb = srcOffset + b * QK;
            long bo = offset + (long) b * BYTES;
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = 0; j < QK; j++) {
                float v = src[xb + j];
                if (v < min) min = v;
                if (v > max) max = v;
            }
            float d = (max - min) / 31f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.write(dst, bo, d);
            Fp16.write(dst, bo + 2, min);
            int qh = 0;
            for (int j = 0; j < 16; j++) {
                // ggml converts to uint8_t without clamping; codes never exceed 31 by more than rounding.
                int lo = (int) ((src[xb + j] - min) * id + 0.5f) & 0xFF;
                int hi = (int) ((src[xb + j + 16] - min) * id + 0.5f) & 0xFF;
                dst.set(Layouts.BYTE, bo + 8 + j, (byte) ((lo & 0xF) | (hi & 0xF) << 4));
                qh |= ((lo >> 4) & 1) << j | ((hi >> 4) & 1) << (j + 16);
            }
            dst.set(Layouts.INT_LE, bo + 4, qh);
        }
    }

    @Override
    public float dotQ8Scalar(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_1");
        x.checkRange(xOffset, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            int qh = src.get(Layouts.INT_LE, bo + 4);
            int sumi = 0;
            for (int j = 0; j < QK; j++) sumi += code(src, bo, qh, j) * x.q[xb + j];
            sum += (Fp16.read(src, bo) * x.d[xb / QK]) * sumi + Fp16.read(src, bo + 2) * x.s[xb / QK];
        }
        return sum;
    }

    @Override
    public float dotQ8(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_1");
        x.checkRange(xOffset, n);
        short[] q = x.q;
        float[] dx = x.d;
        float[] sx = x.s;
        int xb0 = xOffset / QK;
        // Two accumulators on alternate blocks (each chain waits only on every other block), rotated so that
        // the block body has one call site: a second inlined copy can push C2 past its inlining budget, and a
        // call left out of line boxes its vectors.
        FloatVector acc = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        float min = 0f;
        float otherMin = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector next = blockDotQ8(src, bo, q, xOffset + b * QK, dx[xb0 + b], other);
            float nextMin = Math.fma(Fp16.read(src, bo + 2), sx[xb0 + b], otherMin);
            other = acc;
            acc = next;
            otherMin = min;
            min = nextMin;
        }
        return VectorMath.sum(acc.add(other)) + (min + otherMin);
    }

    private static FloatVector blockDotQ8(MemorySegment src, long bo, short[] q, int qb, float dx, FloatVector acc) {
        int qhBits = src.get(Layouts.INT_LE, bo + 4);
        ShortVector qhLo = ShortVector.broadcast(SH, (short) qhBits);
        ShortVector qhHi = ShortVector.broadcast(SH, (short) (qhBits >>> 16));
        ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 8, Simd.LE);
        IntVector sumi = IntVector.zero(I);
        for (int p = 0; p < PARTS; p++) {
            ShortVector bits = ShortVector.fromArray(SH, QH_BIT16, p * L);
            ShortVector v = (ShortVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2S, SH, p);
            ShortVector lo = v.and((short) 0xF).add((short) 16, qhLo.and(bits).compare(VectorOperators.NE, 0))
                    .mul(ShortVector.fromArray(SH, q, qb + p * L));
            ShortVector hi = v.lanewise(VectorOperators.LSHR, 4).add((short) 16, qhHi.and(bits).compare(VectorOperators.NE, 0))
                    .mul(ShortVector.fromArray(SH, q, qb + 16 + p * L));
            sumi = sumi.add((IntVector) lo.add(hi).convertShape(VectorOperators.S2I, I, 0));
        }
        float scale = Fp16.read(src, bo) * dx;
        return ((FloatVector) sumi.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale), acc);
    }
}
