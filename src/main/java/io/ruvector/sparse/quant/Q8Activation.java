package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A float activation vector quantized to int8 blocks of 32, the way ggml-cpu does before a quantized
 * matrix-vector product: the {@code block_q8_0} and {@code block_q8_1} encodings of ggml's reference
 * quantizers ({@code quantize_row_q8_0_ref}, {@code quantize_row_q8_1_ref}), both at once since they share
 * scale and codes.
 *
 * <p>Per block: {@code d = amax / 127}, {@code q[j] = roundf(x[j] / d)} (ties away from zero, computed as
 * {@code x[j] * (1/d)} like ggml), the scale stored as fp16; Q8_1 adds {@code s = fp16(d * sum(q))}, which
 * the Q4_1/Q5_1 kernels use for their min term. The codes are kept widened to shorts, the form the
 * {@link Int8DotProduct} kernels multiply in.
 *
 * <p>One instance is meant to be reused for every matrix-vector product (no garbage per token); it may hold
 * several tokens' vectors back to back (quantize {@code nTokens * cols} values at once: blocks never straddle
 * rows because rows are whole blocks). Not thread-safe while being written; read-only use from many threads
 * after {@link #quantize} returns is fine.
 */
public final class Q8Activation {

    /** Values per block. */
    public static final int BLOCK = 32;

    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Short> SH = Simd.S_HALF;

    final short[] q;
    final float[] d;
    final float[] s;
    final int[] sum;
    private int length;

    /** Room for {@code capacity} values (a multiple of 32). */
    public Q8Activation(int capacity) {
        Blocks.count(capacity, BLOCK, "Q8Activation");
        q = new short[capacity];
        d = new float[capacity / BLOCK];
        s = new float[capacity / BLOCK];
        sum = new int[capacity / BLOCK];
    }

    public int capacity() { return q.length; }

    /** Values quantized by the last {@link #quantize}. */
    public int length() { return length; }

    /** Code of value {@code i}, in [-127, 127]. */
    public int code(int i) { return q[checkIndex(i)]; }

    /** Scale of block {@code b} as a reader of the fp16 field sees it. */
    public float scale(int b) { checkIndex(b * BLOCK); return d[b]; }

    /** Q8_1's {@code s} of block {@code b}: fp16(d * sum of codes). */
    public float scaledSum(int b) { checkIndex(b * BLOCK); return s[b]; }

    /** Exact sum of the codes of block {@code b}. */
    public int codeSum(int b) { checkIndex(b * BLOCK); return sum[b]; }

    /** Quantizes {@code x[xOffset .. xOffset+n)} (Vector API; equal to {@link #quantizeScalar}). */
    public void quantize(float[] x, int xOffset, int n) {
        quantizeBlocks(x, xOffset, n, 0, checkSize(x, xOffset, n));
    }

    /**
     * Blocks [fromBlock, toBlock) of {@link #quantize}{@code (x, xOffset, n)}: disjoint ranges may be quantized by
     * different threads (each block is computed alone), and once every block is done the activation reads as
     * if {@link #quantize} had run. Each call records {@code n} as the length.
     */
    public void quantizeBlocks(float[] x, int xOffset, int n, int fromBlock, int toBlock) {
        int nb = checkSize(x, xOffset, n);
        if (fromBlock < 0 || fromBlock > toBlock || toBlock > nb) {
            throw new IndexOutOfBoundsException("blocks [" + fromBlock + ", " + toBlock + ") of " + nb);
        }
        int len = F.length();
        for (int b = fromBlock; b < toBlock; b++) {
            int xb = xOffset + b * BLOCK;
            FloatVector m = FloatVector.fromArray(F, x, xb).abs();
            for (int j = len; j < BLOCK; j += len) m = m.max(FloatVector.fromArray(F, x, xb + j).abs());
            float amax = m.reduceLanes(VectorOperators.MAX);
            float scale = amax / 127f;
            float inv = scale != 0f ? 1f / scale : 0f;
            IntVector codeSum = IntVector.zero(Simd.I);
            for (int j = 0; j < BLOCK; j += len) {
                FloatVector v = FloatVector.fromArray(F, x, xb + j).mul(inv);
                // roundf without a rounding instruction: truncate |v|, add 1 when the dropped fraction is >= 0.5
                // (|v| - trunc(|v|) is exact), then restore the sign.
                FloatVector a = v.abs();
                IntVector t = (IntVector) a.convert(VectorOperators.F2I, 0);
                FloatVector frac = a.sub((FloatVector) t.convert(VectorOperators.I2F, 0));
                t = t.add(1, frac.compare(VectorOperators.GE, 0.5f).cast(Simd.I));
                t = t.lanewise(VectorOperators.NEG, v.compare(VectorOperators.LT, 0f).cast(Simd.I));
                codeSum = codeSum.add(t);
                ((ShortVector) t.convertShape(VectorOperators.I2S, SH, 0)).intoArray(q, b * BLOCK + j);
            }
            int total = codeSum.reduceLanes(VectorOperators.ADD);
            d[b] = Fp16.round(scale);
            s[b] = Fp16.round(total * scale);
            sum[b] = total;
        }
        length = n;
    }

    /** Scalar reference of {@link #quantize}: ggml's {@code quantize_row_q8_1_ref} step by step. */
    public void quantizeScalar(float[] x, int xOffset, int n) {
        int nb = checkSize(x, xOffset, n);
        for (int b = 0; b < nb; b++) {
            int xb = xOffset + b * BLOCK;
            float amax = 0f;
            for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(x[xb + j]));
            float scale = amax / 127f;
            float inv = scale != 0f ? 1f / scale : 0f;
            int total = 0;
            for (int j = 0; j < BLOCK; j++) {
                int c = Rounding.roundHalfAway(x[xb + j] * inv);
                q[b * BLOCK + j] = (short) c;
                total += c;
            }
            d[b] = Fp16.round(scale);
            s[b] = Fp16.round(total * scale);
            sum[b] = total;
        }
        length = n;
    }

    /**
     * Rounds a sparse vector in place to the values {@link #quantize} would give the dense vector it stands for
     * ({@code code * scale}, what the int8 kernels multiply with): {@code values[from..to)} sit at the ascending
     * positions {@code index[from..to)}, every other position holds zero. Each block of 32 positions takes its
     * scale from the values listed in it, as the dense quantizer would from the whole block.
     */
    public static void roundSparse(int[] index, float[] values, int from, int to) {
        for (int k = from; k < to; ) {
            int block = index[k] / BLOCK;
            int end = k;
            float amax = 0f;
            while (end < to && index[end] / BLOCK == block) amax = Math.max(amax, Math.abs(values[end++]));
            float scale = amax / 127f;
            float inv = scale != 0f ? 1f / scale : 0f;
            float d = Fp16.round(scale);
            for (; k < end; k++) values[k] = Rounding.roundHalfAway(values[k] * inv) * d;
        }
    }

    /**
     * The quantized values as floats ({@code code * scale}) into {@code dst[dstOffset ..]}: the activation a
     * float kernel must see to compute what the int8 kernels compute (exactly so for Q8_0/Q4_0/Q5_0/IQ4_NL
     * weights; Q4_1/Q5_1 add their min term with Q8_1's fp16-rounded {@code s} instead of the exact sum).
     */
    public void dequantize(float[] dst, int dstOffset) {
        for (int i = 0; i < length; i++) dst[dstOffset + i] = q[i] * d[i / BLOCK];
    }

    /**
     * The integer codes as floats (exact) into {@code dst[dstOffset ..]}, {@link #length()} of them: for kernels
     * that multiply codes in float lanes, where integer products and sums below 2^24 are exact as well.
     */
    public void codesTo(float[] dst, int dstOffset) {
        if (dstOffset < 0 || dst.length - dstOffset < length) {
            throw new IllegalArgumentException("codes of " + length + " values into float[" + dst.length + "] from " + dstOffset);
        }
        for (int i = 0; i < length; i++) dst[dstOffset + i] = q[i];
    }

    /** Writes the quantized values as ggml {@code block_q8_0} (fp16 d, 32 int8 codes: 34 bytes a block). */
    public void writeQ8_0(MemorySegment dst, long offset) {
        for (int b = 0; b < length / BLOCK; b++) {
            long bo = offset + 34L * b;
            Fp16.write(dst, bo, d[b]);
            for (int j = 0; j < BLOCK; j++) dst.set(Layouts.BYTE, bo + 2 + j, (byte) q[b * BLOCK + j]);
        }
    }

    /** Writes the quantized values as ggml {@code block_q8_1} (fp16 d, fp16 s, 32 int8 codes: 36 bytes a block). */
    public void writeQ8_1(MemorySegment dst, long offset) {
        for (int b = 0; b < length / BLOCK; b++) {
            long bo = offset + 36L * b;
            Fp16.write(dst, bo, d[b]);
            Fp16.write(dst, bo + 2, s[b]);
            for (int j = 0; j < BLOCK; j++) dst.set(Layouts.BYTE, bo + 4 + j, (byte) q[b * BLOCK + j]);
        }
    }

    /**
     * Copies {@code n} tokens' codes and scales (this activation holding {@code n} vectors of {@code cols} values
     * back to back) into token lanes, for batched kernels that put tokens in vector lanes:
     * {@code codes[k * stride + lane(t)]} = code of value {@code k} of token {@code t},
     * {@code scales[b * stride + t]} = scale of block {@code b} of token {@code t}; tokens {@code n <= t < stride}
     * get zeros. Columns {@code [from, to)} only (whole blocks), so threads can share the work.
     *
     * <p>The codes are paired for widening by shifts: within each run of {@code pairing} lanes (a vector of
     * shorts), token {@code i} of the run sits in lane {@code 2i} and token {@code pairing/2 + i} in lane
     * {@code 2i + 1}. Viewed as ints, the low halves then hold the run's first half of tokens in order and the
     * high halves the second half ({@link #pairedLane}). {@code pairing} is a power of two that divides
     * {@code stride}; 1 keeps tokens in order.
     */
    public void packTokenLanes(int n, int cols, int stride, int pairing, short[] codes, float[] scales, int from, int to) {
        if (n < 1 || stride < n || (long) n * cols > length || from % BLOCK != 0 || to % BLOCK != 0 || from < 0
                || to > cols || from > to || codes.length < (long) cols * stride || scales.length < (long) cols / BLOCK * stride
                || Integer.bitCount(pairing) != 1 || stride % pairing != 0) {
            throw new IllegalArgumentException("packing " + n + " tokens of " + cols + " values (columns [" + from + ", "
                    + to + "), stride " + stride + ", pairing " + pairing + ") from " + length + " values");
        }
        int blocksPerToken = cols / BLOCK;
        // Eight columns per pass over the tokens (from and to are whole blocks): one column at a time read each
        // token's codes in a different cache line per element, 2.5x slower.
        for (int k = from; k < to; k += 8) {
            int o = k * stride;
            for (int t = 0; t < n; t++) {
                int s = t * cols + k;
                int d = o + pairedLane(t, pairing);
                codes[d] = q[s];
                codes[d + stride] = q[s + 1];
                codes[d + 2 * stride] = q[s + 2];
                codes[d + 3 * stride] = q[s + 3];
                codes[d + 4 * stride] = q[s + 4];
                codes[d + 5 * stride] = q[s + 5];
                codes[d + 6 * stride] = q[s + 6];
                codes[d + 7 * stride] = q[s + 7];
            }
            for (int t = n; t < stride; t++) {
                int d = o + pairedLane(t, pairing);
                for (int j = 0; j < 8; j++) codes[d + j * stride] = 0;
            }
        }
        for (int b = from / BLOCK; b < to / BLOCK; b++) {
            int o = b * stride;
            for (int t = 0; t < n; t++) scales[o + t] = d[t * blocksPerToken + b];
            for (int t = n; t < stride; t++) scales[o + t] = 0f;
        }
    }

    /** The lane of token {@code t} in {@link #packTokenLanes}'s codes for a {@code pairing} (a power of two). */
    public static int pairedLane(int t, int pairing) {
        if (pairing == 1) return t;
        int half = pairing >> 1;
        return (t & -pairing) | (t & (half - 1)) << 1 | ((t & half) != 0 ? 1 : 0);
    }

    /** Checks that {@code [xOffset, xOffset+n)} of this activation was quantized and is block-aligned. */
    void checkRange(int xOffset, int n) {
        if (xOffset < 0 || xOffset % BLOCK != 0 || n < 0 || xOffset + n > length) {
            throw new IllegalArgumentException("activation range [" + xOffset + ", " + (xOffset + n)
                    + ") is not block-aligned within the " + length + " quantized values");
        }
    }

    private int checkSize(float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, BLOCK, "Q8Activation");
        if (n > q.length) throw new IllegalArgumentException(n + " values exceed the capacity " + q.length);
        if (xOffset < 0 || xOffset + n > x.length) {
            throw new IndexOutOfBoundsException("x[" + xOffset + ", " + (xOffset + n) + ") of " + x.length);
        }
        return nb;
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= length) throw new IndexOutOfBoundsException("value " + i + " of " + length);
        return i;
    }
}
