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
 * ggml {@code block_q5_0}: 32 values in 22 bytes: fp16 scale {@code d}, a 32-bit little-endian word {@code qh}
 * with the fifth bit of every code (bit j for value j), then 16 bytes of low nibbles (low nibble value j, high
 * nibble value j+16); value = (code - 16) * d.
 *
 * <p>Quantizer: ggml's {@code quantize_row_q5_0_ref}, byte for byte: {@code d = max / -16} (max = value of
 * largest magnitude), code = min(31, trunc(x/d + 16.5)).
 */
public final class Q5_0 implements TensorType, Int8DotProduct {

    public static final Q5_0 INSTANCE = new Q5_0();

    private static final int QK = 32;
    private static final int BYTES = 22;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Short> SH = Simd.S_HALF;
    private static final VectorSpecies<Byte> B16 = Simd.B16;
    private static final int PARTS = Simd.PARTS16;
    private static final int L = F.length();
    /** Bit j of qh belongs to value j: {@code 1 << j} for the 32 values of a block. */
    private static final int[] QH_BIT = QhBits.INT;
    /** The same 16 masks for a 16-bit half of qh. */
    private static final short[] QH_BIT16 = QhBits.SHORT;

    private Q5_0() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q5_0; }

    private static int code(MemorySegment src, long bo, int qh, int j) {
        int q = src.get(Layouts.BYTE, bo + 6 + (j & 15));
        int nibble = j < 16 ? q & 0xF : (q >> 4) & 0xF;
        return (nibble | ((qh >>> j) & 1) << 4) - 16;
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float d = Fp16.read(src, bo);
            int qh = src.get(Layouts.INT_LE, bo + 2);
            for (int j = 0; j < QK; j++) dst[dstOffset + b * QK + j] = code(src, bo, qh, j) * d;
        }
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_0");
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int qh = src.get(Layouts.INT_LE, bo + 2);
            float block = 0f;
            for (int j = 0; j < QK; j++) block += code(src, bo, qh, j) * x[xOffset + b * QK + j];
            sum += block * Fp16.read(src, bo);
        }
        return sum;
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_0");
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
        IntVector qh = IntVector.broadcast(I, src.get(Layouts.INT_LE, bo + 2));
        ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 6, Simd.LE);
        FloatVector sum = FloatVector.zero(F);
        for (int p = 0; p < PARTS; p++) {
            IntVector v = (IntVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
            // code - 16 = nibble - 16 where the fifth bit is clear, the nibble itself where it is set.
            IntVector lo = v.and(0xF).sub(16, qh.and(IntVector.fromArray(I, QH_BIT, p * L)).compare(VectorOperators.EQ, 0));
            IntVector hi = v.lanewise(VectorOperators.LSHR, 4)
                    .sub(16, qh.and(IntVector.fromArray(I, QH_BIT, 16 + p * L)).compare(VectorOperators.EQ, 0));
            sum = ((FloatVector) lo.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xb + p * L), sum);
            sum = ((FloatVector) hi.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xb + 16 + p * L), sum);
        }
        return sum.fma(FloatVector.broadcast(F, Fp16.read(src, bo)), acc);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float ad = a * Fp16.read(src, bo);
            int qh = src.get(Layouts.INT_LE, bo + 2);
            for (int j = 0; j < QK; j++) {
                int i = yOffset + b * QK + j;
                y[i] = Math.fma(code(src, bo, qh, j), ad, y[i]);
            }
        }
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector ad = FloatVector.broadcast(F, a * Fp16.read(src, bo));
            IntVector qh = IntVector.broadcast(I, src.get(Layouts.INT_LE, bo + 2));
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 6, Simd.LE);
            int o = yOffset + b * QK;
            for (int p = 0; p < PARTS; p++) {
                IntVector v = (IntVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
                IntVector lo = v.and(0xF).sub(16, qh.and(IntVector.fromArray(I, QH_BIT, p * L)).compare(VectorOperators.EQ, 0));
                IntVector hi = v.lanewise(VectorOperators.LSHR, 4)
                        .sub(16, qh.and(IntVector.fromArray(I, QH_BIT, 16 + p * L)).compare(VectorOperators.EQ, 0));
                int i = o + p * L;
                ((FloatVector) lo.convert(VectorOperators.I2F, 0)).fma(ad, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                ((FloatVector) hi.convert(VectorOperators.I2F, 0)).fma(ad, FloatVector.fromArray(F, y, i + 16)).intoArray(y, i + 16);
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = Blocks.count(n, QK, "Q5_0");
        for (int b = 0; b < nb; b++) {
            int xb = srcOffset + b * QK;
            long bo = offset + (long) b * BYTES;
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < QK; j++) {
                float v = src[xb + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -16f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.write(dst, bo, d);
            int qh = 0;
            for (int j = 0; j < 16; j++) {
                int lo = Math.min(31, (int) (src[xb + j] * id + 16.5f));
                int hi = Math.min(31, (int) (src[xb + j + 16] * id + 16.5f));
                dst.set(Layouts.BYTE, bo + 6 + j, (byte) ((lo & 0xF) | (hi & 0xF) << 4));
                qh |= ((lo >> 4) & 1) << j | ((hi >> 4) & 1) << (j + 16);
            }
            dst.set(Layouts.INT_LE, bo + 2, qh);
        }
    }

    @Override
    public float dotQ8Scalar(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_0");
        x.checkRange(xOffset, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            int qh = src.get(Layouts.INT_LE, bo + 2);
            int sumi = 0;
            for (int j = 0; j < QK; j++) sumi += code(src, bo, qh, j) * x.q[xb + j];
            sum += sumi * (Fp16.read(src, bo) * x.d[xb / QK]);
        }
        return sum;
    }

    @Override
    public float dotQ8(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q5_0");
        x.checkRange(xOffset, n);
        short[] q = x.q;
        float[] dx = x.d;
        int xb0 = xOffset / QK;
        // Two accumulators on alternate blocks (each chain waits only on every other block), rotated so that
        // the block body has one call site: a second inlined copy can push C2 past its inlining budget, and a
        // call left out of line boxes its vectors.
        FloatVector acc = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            FloatVector next = blockDotQ8(src, offset + (long) b * BYTES, q, xOffset + b * QK, dx[xb0 + b], other);
            other = acc;
            acc = next;
        }
        return VectorMath.sum(acc.add(other));
    }

    private static FloatVector blockDotQ8(MemorySegment src, long bo, short[] q, int qb, float dx, FloatVector acc) {
        int qhBits = src.get(Layouts.INT_LE, bo + 2);
        ShortVector qhLo = ShortVector.broadcast(SH, (short) qhBits);
        ShortVector qhHi = ShortVector.broadcast(SH, (short) (qhBits >>> 16));
        ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 6, Simd.LE);
        IntVector sumi = IntVector.zero(I);
        for (int p = 0; p < PARTS; p++) {
            ShortVector bits = ShortVector.fromArray(SH, QH_BIT16, p * L);
            ShortVector v = (ShortVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2S, SH, p);
            ShortVector lo = v.and((short) 0xF).sub((short) 16, qhLo.and(bits).compare(VectorOperators.EQ, 0))
                    .mul(ShortVector.fromArray(SH, q, qb + p * L));
            ShortVector hi = v.lanewise(VectorOperators.LSHR, 4).sub((short) 16, qhHi.and(bits).compare(VectorOperators.EQ, 0))
                    .mul(ShortVector.fromArray(SH, q, qb + 16 + p * L));
            sumi = sumi.add((IntVector) lo.add(hi).convertShape(VectorOperators.S2I, I, 0));
        }
        float scale = Fp16.read(src, bo) * dx;
        return ((FloatVector) sumi.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale), acc);
    }
}
