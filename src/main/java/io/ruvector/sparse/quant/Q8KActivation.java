package io.ruvector.sparse.quant;

/**
 * A float activation vector quantized to ggml's Q8_K blocks, the activation side of every K-quant product in
 * ggml-cpu ({@code vec_dot_qX_K_q8_K}): 256 values per block, one float scale, int8 codes, and the exact sum
 * of each run of 16 codes ({@code bsums}), which the K-quant kernels use for the sub-block mins.
 *
 * <p>Per block, as ggml's {@code quantize_row_q8_K_ref}: {@code max} is the first value of largest magnitude,
 * {@code iscale = -127 / max}, {@code q = min(127, nearest_int(iscale * x))} (half to even), {@code d = 1 / iscale};
 * an all-zero block gets {@code d = 0} and zero codes. The values the kernels multiply with are {@code d * q},
 * which {@link Q8_K#roundTrip} also yields.
 *
 * <p>The codes are kept widened to shorts, the form the interleaved kernels broadcast. One instance is meant to
 * be reused for every product of a session (no garbage per token). Not thread-safe while being written;
 * read-only use from many threads after {@link #quantize} returns is fine.
 */
public final class Q8KActivation {

    /** Values per block. */
    public static final int BLOCK = 256;
    /** Values per {@link #sum16} run. */
    public static final int RUN = 16;

    final short[] q;
    final float[] d;
    final int[] sum16;
    private int length;

    /** Room for {@code capacity} values (a multiple of 256). */
    public Q8KActivation(int capacity) {
        Blocks.count(capacity, BLOCK, "Q8KActivation");
        q = new short[capacity];
        d = new float[capacity / BLOCK];
        sum16 = new int[capacity / RUN];
    }

    public int capacity() { return q.length; }

    /** Values quantized by the last {@link #quantize}. */
    public int length() { return length; }

    /** Code of value {@code i}, in [-127, 127]. */
    public int code(int i) { return q[checkIndex(i)]; }

    /** Scale of block {@code b}. */
    public float scale(int b) { checkIndex(b * BLOCK); return d[b]; }

    /** Exact sum of the codes of values {@code [16r, 16r + 16)}. */
    public int runSum(int r) { checkIndex(r * RUN); return sum16[r]; }

    /**
     * Quantizes {@code x[xOffset .. xOffset+n)}. Scalar: it runs once per product over a vector as long as one
     * matrix row, a few thousandths of the product's time.
     *
     * @throws IllegalArgumentException when a value is not finite (it has no Q8_K code), or on bad sizes
     */
    public void quantize(float[] x, int xOffset, int n) {
        quantizeBlocks(x, xOffset, n, 0, checkSize(x, xOffset, n));
    }

    /**
     * Blocks [fromBlock, toBlock) of {@link #quantize}{@code (x, xOffset, n)}: disjoint ranges may be quantized by
     * different threads (each block is computed alone; a prompt batch quantizes all its tokens at once), and once
     * every block is done the activation reads as if {@link #quantize} had run. Each call records {@code n} as
     * the length.
     *
     * @throws IllegalArgumentException when a value is not finite (it has no Q8_K code), or on bad sizes
     */
    public void quantizeBlocks(float[] x, int xOffset, int n, int fromBlock, int toBlock) {
        int nb = checkSize(x, xOffset, n);
        if (fromBlock < 0 || fromBlock > toBlock || toBlock > nb) {
            throw new IndexOutOfBoundsException("blocks [" + fromBlock + ", " + toBlock + ") of " + nb);
        }
        for (int b = fromBlock; b < toBlock; b++) {
            int xb = xOffset + b * BLOCK;
            float max = 0f;
            float amax = 0f;
            for (int i = 0; i < BLOCK; i++) {
                float v = x[xb + i];
                float a = Math.abs(v);
                if (!(a <= Float.MAX_VALUE)) {
                    throw new IllegalArgumentException("cannot quantize " + v + " (value " + (xb + i - xOffset) + ") to Q8_K");
                }
                if (a > amax) {
                    amax = a;
                    max = v;
                }
            }
            int qb = b * BLOCK;
            if (amax == 0f) {
                d[b] = 0f;
                java.util.Arrays.fill(q, qb, qb + BLOCK, (short) 0);
                java.util.Arrays.fill(sum16, qb / RUN, (qb + BLOCK) / RUN, 0);
                continue;
            }
            float iscale = -127f / max;
            for (int r = 0; r < BLOCK / RUN; r++) {
                int sum = 0;
                for (int i = 0; i < RUN; i++) {
                    int c = Math.min(127, Rounding.nearestInt(iscale * x[xb + RUN * r + i]));
                    q[qb + RUN * r + i] = (short) c;
                    sum += c;
                }
                sum16[qb / RUN + r] = sum;
            }
            d[b] = 1f / iscale;
        }
        length = n;
    }

    /**
     * Copies columns [from, to) (whole blocks) of {@code n} quantized tokens of {@code cols} values each into
     * token lanes, the form a batched kernel multiplies with tokens in vector lanes: code of token t, column k
     * at {@code codes[k * stride + Q8Activation.pairedLane(t, pairing)]}; block scales at
     * {@code scales[(k / 256) * stride + t]}, run sums ({@link #runSum}) at {@code runSums[(k / 16) * stride + t]}
     * and the sums of 32 codes at {@code pairSums[(k / 32) * stride + t]}, in plain token order. Tokens n..stride-1 are zero (padding). Disjoint column ranges may be packed by
     * different threads.
     */
    public void packTokenLanes(int n, int cols, int stride, int pairing, short[] codes, float[] scales, int[] runSums,
                               int[] pairSums, int from, int to) {
        if (n < 1 || stride < n || (long) n * cols > length || cols % BLOCK != 0 || from % BLOCK != 0 || to % BLOCK != 0
                || from < 0 || to > cols || from > to || codes.length < (long) cols * stride
                || scales.length < (long) cols / BLOCK * stride || runSums.length < (long) cols / RUN * stride
                || pairSums.length < (long) cols / (2 * RUN) * stride
                || Integer.bitCount(pairing) != 1 || stride % pairing != 0) {
            throw new IllegalArgumentException("packing " + n + " tokens of " + cols + " values (columns [" + from + ", "
                    + to + "), stride " + stride + ", pairing " + pairing + ") from " + length + " values");
        }
        // Eight columns per pass over the tokens, as Q8Activation.packTokenLanes (a column at a time reads every
        // token's codes in a different cache line per element).
        for (int k = from; k < to; k += 8) {
            int o = k * stride;
            for (int t = 0; t < n; t++) {
                int s = t * cols + k;
                int dst = o + Q8Activation.pairedLane(t, pairing);
                for (int j = 0; j < 8; j++) codes[dst + j * stride] = q[s + j];
            }
            for (int t = n; t < stride; t++) {
                int dst = o + Q8Activation.pairedLane(t, pairing);
                for (int j = 0; j < 8; j++) codes[dst + j * stride] = 0;
            }
        }
        for (int r = from / RUN; r < to / RUN; r++) {
            int o = r * stride;
            for (int t = 0; t < n; t++) runSums[o + t] = sum16[t * (cols / RUN) + r];
            java.util.Arrays.fill(runSums, o + n, o + stride, 0);
        }
        for (int r = from / (2 * RUN); r < to / (2 * RUN); r++) {
            int o = r * stride;
            for (int t = 0; t < n; t++) pairSums[o + t] = runSums[2 * r * stride + t] + runSums[(2 * r + 1) * stride + t];
            java.util.Arrays.fill(pairSums, o + n, o + stride, 0);
        }
        for (int b = from / BLOCK; b < to / BLOCK; b++) {
            int o = b * stride;
            for (int t = 0; t < n; t++) scales[o + t] = d[t * (cols / BLOCK) + b];
            java.util.Arrays.fill(scales, o + n, o + stride, 0f);
        }
    }

    private int checkSize(float[] x, int xOffset, int n) {
        int nb = Blocks.count(n, BLOCK, "Q8KActivation");
        if (n > q.length) throw new IllegalArgumentException(n + " values exceed the capacity " + q.length);
        if (xOffset < 0 || xOffset + n > x.length) {
            throw new IndexOutOfBoundsException("x[" + xOffset + ", " + (xOffset + n) + ") of " + x.length);
        }
        return nb;
    }

    /** The quantized values as floats ({@code d * q}) into {@code dst[dstOffset ..]}: what the int8 kernels multiply. */
    public void dequantize(float[] dst, int dstOffset) {
        for (int i = 0; i < length; i++) dst[dstOffset + i] = d[i / BLOCK] * q[i];
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= length) throw new IndexOutOfBoundsException("value " + i + " of " + length);
        return i;
    }
}
