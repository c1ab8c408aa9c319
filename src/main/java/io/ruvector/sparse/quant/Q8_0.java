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

    /**
     * {@link #dotQ8} of one row with each of {@code count} activations (values {@code [0, n)} of each), the same
     * bits per column. What is shared is the load and widening of each weight block and its fp16 scale; every
     * column has its own accumulators and the float operations of {@code dotQ8} in its order. The integer part
     * runs in float lanes from the codes as floats ({@code codes[t]}): a lane's products and their sum are
     * integers below 2^24 (at most 8 products of at most 128 * 127), exact in floats, so the float sum is
     * {@code dotQ8}'s integer sum converted, in two float operations per column and block instead of the 16-bit
     * products, their widening and the int-to-float conversion. Four columns at a time, then two, then one
     * ({@code dotQ8}). Tiles of two rows by four columns (each activation load serving two rows) measured no
     * faster in isolation (32 vector registers do not hold their accumulators). The tile kernels take arrays and
     * return nothing, so a standalone compile of one boxes no vector.
     */
    @Override
    public void dotQ8Columns(MemorySegment src, long offset, Q8Activation[] xs, float[][] codes, int count, int n,
                             float[] out, int outIndex, int outStride) {
        int nb = Blocks.count(n, QK, "Q8_0");
        for (int t = 0; t < count; t++) {
            xs[t].checkRange(0, n);
            if (codes[t].length < n) throw new IllegalArgumentException("codes of column " + t + ": " + codes[t].length + " < " + n);
        }
        int t = 0;
        for (; t + 4 <= count; t += 4) {
            fourColumns(src, offset, nb, codes[t], xs[t].d, codes[t + 1], xs[t + 1].d, codes[t + 2], xs[t + 2].d,
                    codes[t + 3], xs[t + 3].d, out, outIndex + t * outStride, outStride);
        }
        if (t + 2 <= count) {
            twoColumns(src, offset, nb, codes[t], xs[t].d, codes[t + 1], xs[t + 1].d, out, outIndex + t * outStride, outStride);
            t += 2;
        }
        if (t < count) out[outIndex + t * outStride] = dotQ8(src, offset, xs[t], 0, n);
    }

    private static void fourColumns(MemorySegment src, long offset, int nb, float[] q0, float[] d0, float[] q1, float[] d1,
                                    float[] q2, float[] d2, float[] q3, float[] d3, float[] out, int o, int stride) {
        // per column: a and r the two accumulators of dotQ8 (alternate blocks), s the block's integer sum
        FloatVector a0 = FloatVector.zero(F), r0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F), r1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), r2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F), r3 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int qb = b * QK;
            ByteVector w0 = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
            ByteVector w1 = ByteVector.fromMemorySegment(B16, src, bo + 18, Simd.LE);
            float dw = Fp16.read(src, bo);
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                FloatVector lo = (FloatVector) w0.convertShape(VectorOperators.B2F, F, p);
                FloatVector hi = (FloatVector) w1.convertShape(VectorOperators.B2F, F, p);
                int ql = qb + p * L;
                int qh = qb + 16 + p * L;
                s0 = hi.fma(FloatVector.fromArray(F, q0, qh), lo.fma(FloatVector.fromArray(F, q0, ql), s0));
                s1 = hi.fma(FloatVector.fromArray(F, q1, qh), lo.fma(FloatVector.fromArray(F, q1, ql), s1));
                s2 = hi.fma(FloatVector.fromArray(F, q2, qh), lo.fma(FloatVector.fromArray(F, q2, ql), s2));
                s3 = hi.fma(FloatVector.fromArray(F, q3, qh), lo.fma(FloatVector.fromArray(F, q3, ql), s3));
            }
            FloatVector n0 = s0.fma(FloatVector.broadcast(F, dw * d0[b]), r0);
            FloatVector n1 = s1.fma(FloatVector.broadcast(F, dw * d1[b]), r1);
            FloatVector n2 = s2.fma(FloatVector.broadcast(F, dw * d2[b]), r2);
            FloatVector n3 = s3.fma(FloatVector.broadcast(F, dw * d3[b]), r3);
            r0 = a0;
            a0 = n0;
            r1 = a1;
            a1 = n1;
            r2 = a2;
            a2 = n2;
            r3 = a3;
            a3 = n3;
        }
        // VectorMath.sum's steps written out (see its ROTATE_1): this method is past C2's inlining budget.
        a0 = a0.add(r0);
        a1 = a1.add(r1);
        a2 = a2.add(r2);
        a3 = a3.add(r3);
        a0 = a0.add(a0.rearrange(VectorMath.ROTATE_1));
        if (VectorMath.ROTATE_2 != null) a0 = a0.add(a0.rearrange(VectorMath.ROTATE_2));
        if (VectorMath.ROTATE_3 != null) a0 = a0.add(a0.rearrange(VectorMath.ROTATE_3));
        if (VectorMath.ROTATE_4 != null) a0 = a0.add(a0.rearrange(VectorMath.ROTATE_4));
        a1 = a1.add(a1.rearrange(VectorMath.ROTATE_1));
        if (VectorMath.ROTATE_2 != null) a1 = a1.add(a1.rearrange(VectorMath.ROTATE_2));
        if (VectorMath.ROTATE_3 != null) a1 = a1.add(a1.rearrange(VectorMath.ROTATE_3));
        if (VectorMath.ROTATE_4 != null) a1 = a1.add(a1.rearrange(VectorMath.ROTATE_4));
        a2 = a2.add(a2.rearrange(VectorMath.ROTATE_1));
        if (VectorMath.ROTATE_2 != null) a2 = a2.add(a2.rearrange(VectorMath.ROTATE_2));
        if (VectorMath.ROTATE_3 != null) a2 = a2.add(a2.rearrange(VectorMath.ROTATE_3));
        if (VectorMath.ROTATE_4 != null) a2 = a2.add(a2.rearrange(VectorMath.ROTATE_4));
        a3 = a3.add(a3.rearrange(VectorMath.ROTATE_1));
        if (VectorMath.ROTATE_2 != null) a3 = a3.add(a3.rearrange(VectorMath.ROTATE_2));
        if (VectorMath.ROTATE_3 != null) a3 = a3.add(a3.rearrange(VectorMath.ROTATE_3));
        if (VectorMath.ROTATE_4 != null) a3 = a3.add(a3.rearrange(VectorMath.ROTATE_4));
        out[o] = a0.lane(0);
        out[o + stride] = a1.lane(0);
        out[o + 2 * stride] = a2.lane(0);
        out[o + 3 * stride] = a3.lane(0);
    }

    private static void twoColumns(MemorySegment src, long offset, int nb, float[] q0, float[] d0, float[] q1, float[] d1,
                                   float[] out, int o, int stride) {
        // per column: a and r the two accumulators of dotQ8 (alternate blocks), s the block's integer sum
        FloatVector a0 = FloatVector.zero(F), r0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F), r1 = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long bo = offset + (long) b * BYTES;
            int qb = b * QK;
            ByteVector w0 = ByteVector.fromMemorySegment(B16, src, bo + 2, Simd.LE);
            ByteVector w1 = ByteVector.fromMemorySegment(B16, src, bo + 18, Simd.LE);
            float dw = Fp16.read(src, bo);
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                FloatVector lo = (FloatVector) w0.convertShape(VectorOperators.B2F, F, p);
                FloatVector hi = (FloatVector) w1.convertShape(VectorOperators.B2F, F, p);
                int ql = qb + p * L;
                int qh = qb + 16 + p * L;
                s0 = hi.fma(FloatVector.fromArray(F, q0, qh), lo.fma(FloatVector.fromArray(F, q0, ql), s0));
                s1 = hi.fma(FloatVector.fromArray(F, q1, qh), lo.fma(FloatVector.fromArray(F, q1, ql), s1));
            }
            FloatVector n0 = s0.fma(FloatVector.broadcast(F, dw * d0[b]), r0);
            FloatVector n1 = s1.fma(FloatVector.broadcast(F, dw * d1[b]), r1);
            r0 = a0;
            a0 = n0;
            r1 = a1;
            a1 = n1;
        }
        // VectorMath.sum's steps written out (see its ROTATE_1): this method is past C2's inlining budget.
        a0 = a0.add(r0);
        a1 = a1.add(r1);
        a0 = a0.add(a0.rearrange(VectorMath.ROTATE_1));
        if (VectorMath.ROTATE_2 != null) a0 = a0.add(a0.rearrange(VectorMath.ROTATE_2));
        if (VectorMath.ROTATE_3 != null) a0 = a0.add(a0.rearrange(VectorMath.ROTATE_3));
        if (VectorMath.ROTATE_4 != null) a0 = a0.add(a0.rearrange(VectorMath.ROTATE_4));
        a1 = a1.add(a1.rearrange(VectorMath.ROTATE_1));
        if (VectorMath.ROTATE_2 != null) a1 = a1.add(a1.rearrange(VectorMath.ROTATE_2));
        if (VectorMath.ROTATE_3 != null) a1 = a1.add(a1.rearrange(VectorMath.ROTATE_3));
        if (VectorMath.ROTATE_4 != null) a1 = a1.add(a1.rearrange(VectorMath.ROTATE_4));
        out[o] = a0.lane(0);
        out[o + stride] = a1.lane(0);
    }

    /**
     * Scalar twin of {@link #dotQ8Columns} (and so of {@link #dotQ8}): the vector kernels' arithmetic one lane at a
     * time for the vector width in use ({@link Simd#F}): lane {@code l} of a block's integer sum collects values
     * {@code pL + l} and {@code 16 + pL + l} (exact, however it is computed), two accumulators alternate blocks, and
     * the lanes are summed in the tree order of {@link VectorMath#sum}. Equal to both bit for bit at every width.
     */
    public void dotQ8ColumnsScalar(MemorySegment src, long offset, Q8Activation[] xs, int count, int n,
                                   float[] out, int outIndex, int outStride) {
        int nb = Blocks.count(n, QK, "Q8_0");
        for (int t = 0; t < count; t++) {
            Q8Activation x = xs[t];
            x.checkRange(0, n);
            float[] acc = new float[L];
            float[] other = new float[L];
            for (int b = 0; b < nb; b++) {
                long bo = offset + (long) b * BYTES;
                float scale = Fp16.read(src, bo) * x.d[b];
                float[] next = new float[L];
                for (int l = 0; l < L; l++) {
                    int sumi = 0;
                    for (int p = 0; p < PARTS; p++) {
                        int j = p * L + l;
                        sumi += src.get(Layouts.BYTE, bo + 2 + j) * x.q[b * QK + j]
                                + src.get(Layouts.BYTE, bo + 18 + j) * x.q[b * QK + 16 + j];
                    }
                    next[l] = Math.fma((float) sumi, scale, other[l]);
                }
                other = acc;
                acc = next;
            }
            float[] v = new float[L];
            for (int l = 0; l < L; l++) v[l] = acc[l] + other[l];
            for (int by = L / 2; by >= 1; by /= 2) {
                float[] w = new float[L];
                for (int l = 0; l < L; l++) w[l] = v[l] + v[(l + by) % L];
                v = w;
            }
            out[outIndex + t * outStride] = v[0];
        }
    }
}
