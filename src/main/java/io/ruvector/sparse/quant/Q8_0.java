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
 * ggml {@code block_q8_0}: 32 values in 34 bytes, an fp16 scale {@code d} then 32 signed bytes; value = q * d.
 *
 * <p>Quantizer: ggml's {@code quantize_row_q8_0_ref}, byte for byte ({@code d = amax/127},
 * {@code q = roundf(x * (1/d))}).
 */
public final class Q8_0 implements TensorType, Int8DotProduct {

    public static final Q8_0 INSTANCE = new Q8_0();

    private static final int QK = 32;
    private static final int BYTES = 34;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Short> SH = Simd.S_HALF;
    private static final VectorSpecies<Byte> B16 = Simd.B16;
    private static final VectorSpecies<Byte> B32 = ByteVector.SPECIES_256;
    private static final int PARTS = Simd.PARTS16;
    private static final int L = F.length();

    private Q8_0() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.Q8_0; }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = Blocks.count(n, QK, "Q8_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float d = Fp16.read(src, bo);
            for (int j = 0; j < QK; j++) dst[dstOffset + b * QK + j] = src.get(Layouts.BYTE, bo + 2 + j) * d;
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = Blocks.count(n, QK, "Q8_0");
        if (L == QK / 2) {
            // 512 bits: one 32-byte load widens into both halves of the block (7% faster than two 16-byte loads,
            // scratch timing; this decode feeds every batched Q8_0 product).
            for (int b = 0; b < nb; b++) {
                long bo = offset + (long) b * BYTES;
                float d = Fp16.read(src, bo);
                ByteVector q = ByteVector.fromMemorySegment(B32, src, bo + 2, Simd.LE);
                int o = dstOffset + b * QK;
                ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, o);
                ((FloatVector) q.convertShape(VectorOperators.B2F, F, 1)).mul(d).intoArray(dst, o + L);
            }
            return;
        }
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector d = FloatVector.broadcast(F, Fp16.read(src, bo));
            int o = dstOffset + b * QK;
            for (int h = 0; h < QK; h += 16) {
                ByteVector q = ByteVector.fromMemorySegment(B16, src, bo + 2 + h, Simd.LE);
                for (int p = 0; p < PARTS; p++) {
                    ((FloatVector) q.convertShape(VectorOperators.B2F, F, p)).mul(d).intoArray(dst, o + h + p * L);
                }
            }
        }
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q8_0");
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float block = 0f;
            for (int j = 0; j < QK; j++) block += src.get(Layouts.BYTE, bo + 2 + j) * x[xOffset + b * QK + j];
            sum += block * Fp16.read(src, bo);
        }
        return sum;
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q8_0");
        // The block body is written out here, not in a helper taking and returning vectors: a helper can get
        // compiled on its own first (hot in another caller), and C2 then refuses to inline it ("already
        // compiled into a big method"), which boxes every vector crossing the call. Two accumulators on
        // alternate blocks, rotated, so each chain waits only on every other block.
        FloatVector acc = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            FloatVector sum = FloatVector.zero(F);
            for (int h = 0; h < QK; h += 16) {
                ByteVector q = ByteVector.fromMemorySegment(B16, src, bo + 2 + h, Simd.LE);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector w = (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
                    sum = w.fma(FloatVector.fromArray(F, x, xb + h + p * L), sum);
                }
            }
            FloatVector next = sum.fma(FloatVector.broadcast(F, Fp16.read(src, bo)), other);
            other = acc;
            acc = next;
        }
        return VectorMath.sum(acc.add(other));
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q8_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            float ad = a * Fp16.read(src, bo);
            for (int j = 0; j < QK; j++) {
                int i = yOffset + b * QK + j;
                y[i] = Math.fma(src.get(Layouts.BYTE, bo + 2 + j), ad, y[i]);
            }
        }
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = Blocks.count(n, QK, "Q8_0");
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            FloatVector ad = FloatVector.broadcast(F, a * Fp16.read(src, bo));
            int yb = yOffset + b * QK;
            for (int h = 0; h < QK; h += 16) {
                ByteVector q = ByteVector.fromMemorySegment(B16, src, bo + 2 + h, Simd.LE);
                for (int p = 0; p < PARTS; p++) {
                    int i = yb + h + p * L;
                    FloatVector w = (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
                    w.fma(ad, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                }
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = Blocks.count(n, QK, "Q8_0");
        for (int b = 0; b < nb; b++) {
            int xb = srcOffset + b * QK;
            long bo = offset + (long) b * BYTES;
            float amax = 0f;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[xb + j]));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            Fp16.write(dst, bo, d);
            for (int j = 0; j < QK; j++) dst.set(Layouts.BYTE, bo + 2 + j, (byte) Rounding.roundHalfAway(src[xb + j] * id));
        }
    }

    /**
     * True: TinyLlama-shape Q8_0 decoding on 2 threads measured ~25 vs ~21 tokens/s through {@link #dotQ8}
     * (the activation read as shorts instead of floats, products in 16-bit lanes: half the widening work),
     * though the two kernels are about equally fast in isolation.
     */
    @Override
    public boolean preferredForSingleVectors() { return true; }

    @Override
    public float dotQ8Scalar(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q8_0");
        x.checkRange(xOffset, n);
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int xb = xOffset + b * QK;
            int sumi = 0;
            for (int j = 0; j < QK; j++) sumi += src.get(Layouts.BYTE, bo + 2 + j) * x.q[xb + j];
            sum += sumi * (Fp16.read(src, bo) * x.d[xb / QK]);
        }
        return sum;
    }

    @Override
    public float dotQ8(MemorySegment src, long offset, Q8Activation x, int xOffset, int n) {
        int nb = Blocks.count(n, QK, "Q8_0");
        x.checkRange(xOffset, n);
        short[] q = x.q;
        float[] dx = x.d;
        // Two accumulators on alternate blocks (each chain waits only on every other block), rotated so that
        // the block body has one call site: a second inlined copy can push C2 past its inlining budget, and a
        // call left out of line boxes its vectors. Unlike dot(), the body stays in a helper: written out in
        // the loop (one or two accumulators) it measured ~20% slower decoding end to end (TinyLlama-shape, 2
        // threads, A/B in one run), though not in isolation. The helper carries the risk dot() avoids (if it
        // is compiled on its own first and too big, it is not inlined), which is small at 512 bits.
        int xb0 = xOffset / QK;
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
        ByteVector w0 = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
        ByteVector w1 = ByteVector.fromMemorySegment(B16, src, bo + 18, Simd.LE);
        IntVector sumi = IntVector.zero(I);
        for (int p = 0; p < PARTS; p++) {
            // Two int8 x int8 products fit a short (2 * 127 * 127 < 32768); widen to int once per pair.
            ShortVector lo = ((ShortVector) w0.convertShape(VectorOperators.B2S, SH, p))
                    .mul(ShortVector.fromArray(SH, q, qb + p * L));
            ShortVector hi = ((ShortVector) w1.convertShape(VectorOperators.B2S, SH, p))
                    .mul(ShortVector.fromArray(SH, q, qb + 16 + p * L));
            sumi = sumi.add((IntVector) lo.add(hi).convertShape(VectorOperators.S2I, I, 0));
        }
        float scale = Fp16.read(src, bo) * dx;
        return ((FloatVector) sumi.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale), acc);
    }
}
