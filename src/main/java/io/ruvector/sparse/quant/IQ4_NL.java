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
 * ggml {@code block_iq4_nl}: 32 values in 18 bytes, an fp16 scale {@code d} then 16 bytes of 4-bit indexes
 * (low nibble value j, high nibble value j+16) into a fixed non-linear table of 16 int8 levels;
 * value = level[index] * d.
 *
 * <p>Quantizer: ggml's search without an importance matrix ({@code quantize_iq4_nl}, what
 * {@code llama-quantize} does): weights x², a first scale max/127, then 15 trial scales around it keeping the
 * one with the best weighted least-squares fit, and each value mapped to its nearest level.
 */
public final class IQ4_NL implements TensorType, Int8DotProduct {

    public static final IQ4_NL INSTANCE = new IQ4_NL();

    private static final int QK = 32;
    private static final int BYTES = 18;
    /** ggml's {@code kvalues_iq4nl}. */
    private static final byte[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Short> SH = Simd.S_HALF;
    private static final VectorSpecies<Byte> B16 = Simd.B16;
    private static final int PARTS = Simd.PARTS16;
    private static final int L = F.length();

    private IQ4_NL() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.IQ4_NL; }

    /** The 16 levels (a copy). */
    public static byte[] levels() { return LEVELS.clone(); }

    private static int level(MemorySegment src, long bo, int j) {
        int q = src.get(Layouts.BYTE, bo + 2 + (j & 15));
        return LEVELS[j < 16 ? q & 0xF : (q >> 4) & 0xF];
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = Blocks.count(n, QK, "IQ4_NL");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float d = Fp16.read(src, bo);
            for (int j = 0; j < QK; j++) dst[dstOffset + b * QK + j] = level(src, bo, j) * d;
        }
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "IQ4_NL");
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float block = 0f;
            for (int j = 0; j < QK; j++) block += level(src, bo, j) * x[xOffset + b * QK + j];
            sum += block * Fp16.read(src, bo);
        }
        return sum;
    }

    /** Low and high nibbles of 16 code bytes, looked up in the level table (byte shuffles, no byte shift). */
    private static ByteVector lowLevels(ByteVector qs, ByteVector table) {
        return qs.and((byte) 0xF).selectFrom(table);
    }

    private static ByteVector highLevels(ByteVector qs, ByteVector table) {
        return qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF).selectFrom(table);
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "IQ4_NL");
        ByteVector table = ByteVector.fromArray(B16, LEVELS, 0);
        // Two accumulators on alternate blocks (each chain waits only on every other block), rotated so that
        // the block body has one call site: a second inlined copy can push C2 past its inlining budget, and a
        // call left out of line boxes its vectors.
        FloatVector acc = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            FloatVector next = blockDot(src, offset + (long) b * BYTES, table, x, xOffset + b * QK, other);
            other = acc;
            acc = next;
        }
        return VectorMath.sum(acc.add(other));
    }

    private static FloatVector blockDot(MemorySegment src, long bo, ByteVector table, float[] x, int xb, FloatVector acc) {
        ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
        ByteVector lo = lowLevels(qs, table);
        ByteVector hi = highLevels(qs, table);
        FloatVector sum = FloatVector.zero(F);
        for (int p = 0; p < PARTS; p++) {
            sum = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xb + p * L), sum);
            sum = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(FloatVector.fromArray(F, x, xb + 16 + p * L), sum);
        }
        return sum.fma(FloatVector.broadcast(F, Fp16.read(src, bo)), acc);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "IQ4_NL");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float ad = a * Fp16.read(src, bo);
            for (int j = 0; j < QK; j++) {
                int i = yOffset + b * QK + j;
                y[i] = Math.fma(level(src, bo, j), ad, y[i]);
            }
        }
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "IQ4_NL");
        ByteVector table = ByteVector.fromArray(B16, LEVELS, 0);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector ad = FloatVector.broadcast(F, a * Fp16.read(src, bo));
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
            ByteVector lo = lowLevels(qs, table);
            ByteVector hi = highLevels(qs, table);
            int o = yOffset + b * QK;
            for (int p = 0; p < PARTS; p++) {
                int i = o + p * L;
                ((FloatVector) lo.convertShape(VectorOperators.B2F, F, p)).fma(ad, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                ((FloatVector) hi.convertShape(VectorOperators.B2F, F, p)).fma(ad, FloatVector.fromArray(F, y, i + 16))
                        .intoArray(y, i + 16);
            }
        }
    }

    @Override
    public float dotQ8Scalar(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "IQ4_NL");
        x.checkRange(xOffset, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            int sumi = 0;
            for (int j = 0; j < QK; j++) sumi += level(src, bo, j) * x.q[xb + j];
            sum += sumi * (Fp16.read(src, bo) * x.d[xb / QK]);
        }
        return sum;
    }

    @Override
    public float dotQ8(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "IQ4_NL");
        x.checkRange(xOffset, n);
        ByteVector table = ByteVector.fromArray(B16, LEVELS, 0);
        short[] q = x.q;
        float[] dx = x.d;
        int xb0 = xOffset / QK;
        // Two accumulators on alternate blocks (each chain waits only on every other block), rotated so that
        // the block body has one call site: a second inlined copy can push C2 past its inlining budget, and a
        // call left out of line boxes its vectors.
        FloatVector acc = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            FloatVector next = blockDotQ8(src, offset + (long) b * BYTES, table, q, xOffset + b * QK, dx[xb0 + b], other);
            other = acc;
            acc = next;
        }
        return VectorMath.sum(acc.add(other));
    }

    private static FloatVector blockDotQ8(MemorySegment src, long bo, ByteVector table, short[] q, int qb, float dx,
                                          FloatVector acc) {
        ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
        ByteVector lo = lowLevels(qs, table);
        ByteVector hi = highLevels(qs, table);
        IntVector sumi = IntVector.zero(I);
        for (int p = 0; p < PARTS; p++) {
            // |level| <= 127: two level x int8 products still fit a short.
            ShortVector plo = ((ShortVector) lo.convertShape(VectorOperators.B2S, SH, p)).mul(ShortVector.fromArray(SH, q, qb + p * L));
            ShortVector phi = ((ShortVector) hi.convertShape(VectorOperators.B2S, SH, p))
                    .mul(ShortVector.fromArray(SH, q, qb + 16 + p * L));
            sumi = sumi.add((IntVector) plo.add(phi).convertShape(VectorOperators.S2I, I, 0));
        }
        float scale = Fp16.read(src, bo) * dx;
        return ((FloatVector) sumi.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale), acc);
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = Blocks.count(n, QK, "IQ4_NL");
        int[] codes = new int[QK];
        for (int b = 0; b < nb; b++) {
            int xb = srcOffset + b * QK;
            long bo = offset + (long) b * BYTES;
            float d = bestScale(src, xb);
            Fp16.write(dst, bo, d);
            float id = d != 0f ? 1f / d : 0f;
            for (int j = 0; j < QK; j++) codes[j] = nearestLevel(id * src[xb + j]);
            for (int j = 0; j < 16; j++) dst.set(Layouts.BYTE, bo + 2 + j, (byte) (codes[j] | codes[j + 16] << 4));
        }
    }

    /** The block scale ggml's search picks (float, before fp16 rounding). */
    static float bestScale(float[] x, int xb) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < QK; j++) {
            float ax = Math.abs(x[xb + j]);
            if (ax > amax) {
                amax = ax;
                max = x[xb + j];
            }
        }
        if (amax < 1e-15f) return 0f;
        float d = -max / LEVELS[0];
        float id = 1f / d;
        float sumqx = 0f;
        float sumq2 = 0f;
        for (int j = 0; j < QK; j++) {
            float xj = x[xb + j];
            float q = LEVELS[nearestLevel(id * xj)];
            float w = xj * xj;
            sumqx += w * q * xj;
            sumq2 += w * q * q;
        }
        d = sumq2 > 0 ? sumqx / sumq2 : 0f;
        float best = d * sumqx;
        for (int itry = -7; itry <= 7; itry++) {
            id = (itry + LEVELS[0]) / max;
            sumqx = 0f;
            sumq2 = 0f;
            for (int j = 0; j < QK; j++) {
                float xj = x[xb + j];
                float q = LEVELS[nearestLevel(id * xj)];
                float w = xj * xj;
                sumqx += w * q * xj;
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        return d;
    }

    /** Index of the level nearest to {@code v}; exact ties go to the upper level (as ggml). */
    static int nearestLevel(float v) {
        if (v <= LEVELS[0]) return 0;
        if (v >= LEVELS[15]) return 15;
        int lo = 0;
        int hi = 15;
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (v < LEVELS[mid]) hi = mid;
            else lo = mid;
        }
        return v - LEVELS[hi - 1] < LEVELS[hi] - v ? hi - 1 : hi;
    }
}
