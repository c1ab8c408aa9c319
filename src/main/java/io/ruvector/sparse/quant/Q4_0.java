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
 * ggml {@code block_q4_0}: 32 values in 18 bytes, an fp16 scale {@code d} then 16 bytes of 4-bit codes; byte j
 * holds value j in its low nibble and value j+16 in its high nibble; value = (code - 8) * d.
 *
 * <p>Quantizer: ggml's {@code quantize_row_q4_0_ref}, byte for byte: {@code d = max / -8} where max is the
 * value of largest magnitude (sign kept), code = min(15, trunc(x/d + 8.5)).
 */
public final class Q4_0 implements TensorType, Int8DotProduct {

    public static final Q4_0 INSTANCE = new Q4_0();

    private static final int QK = 32;
    private static final int BYTES = 18;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Short> SH = Simd.S_HALF;
    private static final VectorSpecies<Byte> B16 = Simd.B16;
    private static final int PARTS = Simd.PARTS16;
    private static final int L = F.length();

    private Q4_0() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q4_0; }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float d = Fp16.read(src, bo);
            int o = dstOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = src.get(Layouts.BYTE, bo + 2 + j);
                dst[o + j] = ((q & 0xF) - 8) * d;
                dst[o + j + 16] = (((q >> 4) & 0xF) - 8) * d;
            }
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector d = FloatVector.broadcast(F, Fp16.read(src, bo));
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
            int o = dstOffset + b * QK;
            for (int p = 0; p < PARTS; p++) {
                IntVector v = (IntVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
                low(v).mul(d).intoArray(dst, o + p * L);
                high(v).mul(d).intoArray(dst, o + 16 + p * L);
            }
        }
    }

    /**
     * Decodes {@code n} values into their signed codes ({@code code - 8}, in [-8, 7]) as shorts,
     * {@code codes[codesOffset ..]}, and one float scale per block, {@code scales[scalesOffset ..]}: the form
     * the batched int8 kernel multiplies in 16-bit lanes.
     */
    public void decodeCodes(MemorySegment src, long offset, short[] codes, int codesOffset, float[] scales, int scalesOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            scales[scalesOffset + b] = Fp16.read(src, bo);
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
            int o = codesOffset + b * QK;
            for (int p = 0; p < PARTS; p++) {
                ShortVector v = (ShortVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2S, SH, p);
                v.and((short) 0xF).sub((short) 8).intoArray(codes, o + p * L);
                v.lanewise(VectorOperators.LSHR, 4).sub((short) 8).intoArray(codes, o + 16 + p * L);
            }
        }
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            float block = 0f;
            for (int j = 0; j < 16; j++) {
                int q = src.get(Layouts.BYTE, bo + 2 + j);
                block += ((q & 0xF) - 8) * x[xb + j] + (((q >> 4) & 0xF) - 8) * x[xb + j + 16];
            }
            sum += block * Fp16.read(src, bo);
        }
        return sum;
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
        // The block body is written out here, not in a helper taking and returning vectors: a helper can get
        // compiled on its own first (hot in another caller), and C2 then refuses to inline it ("already
        // compiled into a big method"), which boxes every vector crossing the call: a ~10x slowdown that
        // depended on what ran before (seen at 128/256 bits). Two accumulators on alternate blocks, rotated,
        // so each chain waits only on every other block.
        FloatVector acc = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
            FloatVector sum = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                IntVector v = (IntVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
                sum = low(v).fma(FloatVector.fromArray(F, x, xb + p * L), sum);
                sum = high(v).fma(FloatVector.fromArray(F, x, xb + 16 + p * L), sum);
            }
            FloatVector next = sum.fma(FloatVector.broadcast(F, Fp16.read(src, bo)), other);
            other = acc;
            acc = next;
        }
        return VectorMath.sum(acc.add(other));
    }

    /*
     * code - 8 as a float without an int-to-float conversion: OR-ing the nibble into the mantissa of 2^23 gives
     * the float 2^23 + code exactly; subtracting 2^23 + 8 leaves code - 8, exactly. Nibbles are split after
     * widening (x86 has no byte shift), and the AND+OR fold into one ternary-logic instruction.
     */
    private static final int MAGIC = 0x4B000000;
    private static final float MAGIC_PLUS_8 = 0x1p23f + 8;

    private static FloatVector low(IntVector bytes) {
        return bytes.and(0xF).or(MAGIC).viewAsFloatingLanes().sub(MAGIC_PLUS_8);
    }

    private static FloatVector high(IntVector bytes) {
        return bytes.lanewise(VectorOperators.LSHR, 4).or(MAGIC).viewAsFloatingLanes().sub(MAGIC_PLUS_8);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float ad = a * Fp16.read(src, bo);
            int o = yOffset + b * QK;
            for (int j = 0; j < 16; j++) {
                int q = src.get(Layouts.BYTE, bo + 2 + j);
                y[o + j] = Math.fma((q & 0xF) - 8, ad, y[o + j]);
                y[o + j + 16] = Math.fma(((q >> 4) & 0xF) - 8, ad, y[o + j + 16]);
            }
        }
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector ad = FloatVector.broadcast(F, a * Fp16.read(src, bo));
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
            int o = yOffset + b * QK;
            for (int p = 0; p < PARTS; p++) {
                IntVector v = (IntVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, p);
                int i = o + p * L;
                low(v).fma(ad, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                high(v).fma(ad, FloatVector.fromArray(F, y, i + 16)).intoArray(y, i + 16);
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
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
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.write(dst, bo, d);
            for (int j = 0; j < 16; j++) {
                int lo = Math.min(15, (int) (src[xb + j] * id + 8.5f));
                int hi = Math.min(15, (int) (src[xb + j + 16] * id + 8.5f));
                dst.set(Layouts.BYTE, bo + 2 + j, (byte) (lo | hi << 4));
            }
        }
    }

    @Override
    public float dotQ8Scalar(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
        x.checkRange(xOffset, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            int sumi = 0;
            for (int j = 0; j < 16; j++) {
                int q = src.get(Layouts.BYTE, bo + 2 + j);
                sumi += ((q & 0xF) - 8) * x.q[xb + j] + (((q >> 4) & 0xF) - 8) * x.q[xb + j + 16];
            }
            sum += sumi * (Fp16.read(src, bo) * x.d[xb / QK]);
        }
        return sum;
    }

    @Override
    public float dotQ8(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q4_0");
        x.checkRange(xOffset, n);
        short[] q = x.q;
        float[] dx = x.d;
        int xb0 = xOffset / QK;
        // Per block: widen the 16 code bytes to shorts, split the nibbles there (x86 has no byte shift), make
        // them signed (code - 8, in [-8, 7]) and multiply with the int8 activation codes in 16-bit lanes:
        // |(code - 8) * a| <= 8 * 127, so the sum of a low and a high product (1016 + 1016) fits a short. One
        // widening to int, one conversion and one FMA with the two scales finish the block. The body is
        // written out here rather than in a helper for the reason given in dot(); one accumulator (C2
        // unrolls this loop, and a rotated pair of accumulators made it box the vectors here).
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int qb = xOffset + b * QK;
            float scale = Fp16.read(src, bo) * dx[xb0 + b];
            ByteVector qs = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
            IntVector sumi = IntVector.zero(I);
            for (int p = 0; p < PARTS; p++) {
                ShortVector v = (ShortVector) qs.convertShape(VectorOperators.ZERO_EXTEND_B2S, SH, p);
                ShortVector lo = v.and((short) 0xF).sub((short) 8).mul(ShortVector.fromArray(SH, q, qb + p * L));
                ShortVector hi = v.lanewise(VectorOperators.LSHR, 4).sub((short) 8)
                        .mul(ShortVector.fromArray(SH, q, qb + 16 + p * L));
                sumi = sumi.add((IntVector) lo.add(hi).convertShape(VectorOperators.S2I, I, 0));
            }
            acc = ((FloatVector) sumi.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale), acc);
        }
        return VectorMath.sum(acc);
    }
}
