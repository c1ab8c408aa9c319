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
 * ggml {@code block_q4_1}: 32 values in 20 bytes, fp16 scale {@code d}, fp16 min {@code m}, then 16 bytes of
 * 4-bit codes (low nibble value j, high nibble value j+16); value = code * d + m.
 *
 * <p>Quantizer: ggml's {@code quantize_row_q4_1_ref}, byte for byte: {@code d = (max - min) / 15},
 * {@code m = min}, code = min(15, trunc((x - min)/d + 0.5)).
 */
public final class Q4_1 implements TensorType, Int8DotProduct {

    public static final Q4_1 INSTANCE = new Q4_1();

    private static final int QK = 32;
    private static final int BYTES = 20;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Short> SH = Simd.S_HALF;
    private static final VectorSpecies<Byte> B16 = Simd.B16;
    private static final int PARTS = Simd.PARTS16;
    private static final int L = F.length();

    private Q4_1() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q4_1; }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_1");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float d = Fp16.read(src, bo);
            float m = Fp16.read(src, bo + 2);
            int o = dstOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = src.get(Layouts.BYTE, bo + 4 + j);
                dst[o + j] = (q & 0xF) * d + m;
                dst[o + j + 16] = ((q >> 4) & 0xF) * d + m;
            }
        }
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_1");
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            float qx = 0f;
            float sx = 0f;
            for (int j = 0; j < 16; j++) {
                int q = src.get(Layouts.BYTE, bo + 4 + j);
                qx += (q & 0xF) * x[xb + j] + ((q >> 4) & 0xF) * x[xb + j + 16];
                sx += x[xb + j] + x[xb + j + 16];
            }
            sum += qx * Fp16.read(src, bo) + sx * Fp16.read(src, bo + 2);
        }
        return sum;
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_1");
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

    /** d * sum(code * x) + m * sum(x) for one block, added to acc lane-wise. */
    private static FloatVector blockDot(MemorySegment src, long bo, float[] x, int xb, FloatVector acc) {
        ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 4, Simd.LE);
        FloatVector qx = FloatVector.zero(F);
        FloatVector sx = FloatVector.zero(F);
        for (int p = 0; p < PARTS; p++) {
            IntVector v = (IntVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
            FloatVector lo = (FloatVector) v.and(0xF).convert(VectorOperators.I2F, 0);
            FloatVector hi = (FloatVector) v.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0);
            FloatVector x0 = FloatVector.fromArray(F, x, xb + p * L);
            FloatVector x1 = FloatVector.fromArray(F, x, xb + 16 + p * L);
            qx = hi.fma(x1, lo.fma(x0, qx));
            sx = sx.add(x0).add(x1);
        }
        acc = qx.fma(FloatVector.broadcast(F, Fp16.read(src, bo)), acc);
        return sx.fma(FloatVector.broadcast(F, Fp16.read(src, bo + 2)), acc);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_1");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float ad = a * Fp16.read(src, bo);
            float am = a * Fp16.read(src, bo + 2);
            int o = yOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = src.get(Layouts.BYTE, bo + 4 + j);
                y[o + j] += Math.fma(q & 0xF, ad, am);
                y[o + j + 16] += Math.fma((q >> 4) & 0xF, ad, am);
            }
        }
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_1");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector ad = FloatVector.broadcast(F, a * Fp16.read(src, bo));
            FloatVector am = FloatVector.broadcast(F, a * Fp16.read(src, bo + 2));
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 4, Simd.LE);
            int o = yOffset + b * QK;
            for (int p = 0; p < PARTS; p++) {
                IntVector v = (IntVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
                FloatVector lo = (FloatVector) v.and(0xF).convert(VectorOperators.I2F, 0);
                FloatVector hi = (FloatVector) v.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0);
                int i = o + p * L;
                FloatVector.fromArray(F, y, i).add(lo.fma(ad, am)).intoArray(y, i);
                FloatVector.fromArray(F, y, i + 16).add(hi.fma(ad, am)).intoArray(y, i + 16);
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = Blocks.count(n, QK, "Q4_1");
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
            float d = (max - min) / 15f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.write(dst, bo, d);
            Fp16.write(dst, bo + 2, min);
            for (int j = 0; j < 16; j++) {
                int lo = Math.min(15, (int) ((src[xb + j] - min) * id + 0.5f));
                int hi = Math.min(15, (int) ((src[xb + j + 16] - min) * id + 0.5f));
                dst.set(Layouts.BYTE, bo + 4 + j, (byte) (lo | hi << 4));
            }
        }
    }

    @Override
    public float dotQ8Scalar(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_1");
        x.checkRange(xOffset, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            int sumi = 0;
            for (int j = 0; j < 16; j++) {
                int q = src.get(Layouts.BYTE, bo + 4 + j);
                sumi += (q & 0xF) * x.q[xb + j] + ((q >> 4) & 0xF) * x.q[xb + j + 16];
            }
            sum += (Fp16.read(src, bo) * x.d[xb / QK]) * sumi + Fp16.read(src, bo + 2) * x.s[xb / QK];
        }
        return sum;
    }

    @Override
    public float dotQ8(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_1");
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
        ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 4, Simd.LE);
        IntVector sumi = IntVector.zero(I);
        for (int p = 0; p < PARTS; p++) {
            ShortVector v = (ShortVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2S, SH, p);
            ShortVector lo = v.and((short) 0xF).mul(ShortVector.fromArray(SH, q, qb + p * L));
            ShortVector hi = v.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SH, q, qb + 16 + p * L));
            sumi = sumi.add((IntVector) lo.add(hi).convertShape(VectorOperators.S2I, I, 0));
        }
        float scale = Fp16.read(src, bo) * dx;
        return ((FloatVector) sumi.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale), acc);
    }
}
