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
        int nb = Blocks.count(n, BLOCK, "Q8KActivation");
        if (n > q.length) throw new IllegalArgumentException(n + " values exceed the capacity " + q.length);
        if (xOffset < 0 || xOffset + n > x.length) {
            throw new IndexOutOfBoundsException("x[" + xOffset + ", " + (xOffset + n) + ") of " + x.length);
        }
        for (int b = 0; b < nb; b++) {
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

    /** The quantized values as floats ({@code d * q}) into {@code dst[dstOffset ..]}: what the int8 kernels multiply. */
    public void dequantize(float[] dst, int dstOffset) {
        for (int i = 0; i < length; i++) dst[dstOffset + i] = d[i / BLOCK] * q[i];
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= length) throw new IndexOutOfBoundsException("value " + i + " of " + length);
        return i;
    }
}
