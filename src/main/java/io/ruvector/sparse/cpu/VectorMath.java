package io.ruvector.sparse.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Small dense float kernels of the forward pass (Vector API, no allocation). */
public final class VectorMath {

    private static final VectorSpecies<Float> S = Simd.F;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(Simd.LE);

    // Rotations by half, a quarter, ... of the lanes: the steps of a fixed-order tree sum (unused ones null).
    // Public for kernels that write the steps of sum() out in their own body: a call taking a vector that C2
    // leaves out of line (a big caller is past its inlining budget) boxes the vector, on every call.
    public static final VectorShuffle<Float> ROTATE_1 = rotation(1);
    public static final VectorShuffle<Float> ROTATE_2 = rotation(2);
    public static final VectorShuffle<Float> ROTATE_3 = rotation(3);
    public static final VectorShuffle<Float> ROTATE_4 = rotation(4);

    private VectorMath() {}

    private static VectorShuffle<Float> rotation(int step) {
        int lanes = S.length();
        int by = lanes >> step;
        return by == 0 ? null : VectorShuffle.fromOp(S, i -> (i + by) % lanes);
    }

    /**
     * The sum of a vector's lanes in a fixed order (a tree: lanes i and i + len/2, then i + len/4, ...).
     *
     * <p>Use this instead of {@code reduceLanes(ADD)}: that one sums in one order when interpreted and in
     * another once C2 has compiled it, so the same dot product would change its last bits as the JIT warms up
     * (and with it the results of a run, depending on timing and thread count).
     */
    public static float sum(FloatVector v) {
        v = v.add(v.rearrange(ROTATE_1));
        if (ROTATE_2 != null) v = v.add(v.rearrange(ROTATE_2));
        if (ROTATE_3 != null) v = v.add(v.rearrange(ROTATE_3));
        if (ROTATE_4 != null) v = v.add(v.rearrange(ROTATE_4));
        return v.lane(0);
    }

    /** sum over i < n of a[i] * b[bOffset + i]. */
    public static float dot(float[] a, float[] b, int bOffset, int n) {
        return dot(a, 0, b, bOffset, n);
    }

    /** sum over i < n of a[aOffset + i] * b[bOffset + i]. */
    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        FloatVector acc0 = FloatVector.zero(S);
        FloatVector acc1 = FloatVector.zero(S);
        int len = S.length();
        int i = 0;
        for (int upper = n - 2 * len; i <= upper; i += 2 * len) {
            acc0 = FloatVector.fromArray(S, a, aOffset + i).fma(FloatVector.fromArray(S, b, bOffset + i), acc0);
            acc1 = FloatVector.fromArray(S, a, aOffset + i + len).fma(FloatVector.fromArray(S, b, bOffset + i + len), acc1);
        }
        for (int upper = n - len; i <= upper; i += len) {
            acc0 = FloatVector.fromArray(S, a, aOffset + i).fma(FloatVector.fromArray(S, b, bOffset + i), acc0);
        }
        float sum = sum(acc0.add(acc1));
        for (; i < n; i++) sum += a[aOffset + i] * b[bOffset + i];
        return sum;
    }

    /** y[yOffset + i] += a * x[xOffset + i] for i < n. */
    public static void axpy(float a, float[] x, int xOffset, float[] y, int yOffset, int n) {
        FloatVector va = FloatVector.broadcast(S, a);
        int len = S.length();
        int i = 0;
        for (int upper = n - len; i <= upper; i += len) {
            FloatVector.fromArray(S, x, xOffset + i).fma(va, FloatVector.fromArray(S, y, yOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < n; i++) y[yOffset + i] += a * x[xOffset + i];
    }

    /**
     * Dot products of one vector with many, the many stored transposed: {@code out[s] = scale * sum over d < n of
     * q[qOffset + d] * kt[d * stride + s]}, for every s below {@code count} rounded up to whole vectors (so
     * {@code stride} and {@code out} must reach that far). Each sum is one fused multiply-add chain over d in
     * order, so no lane sums are needed: the attention scores of a query against keys laid out by position.
     */
    public static void transposedDots(float[] q, int qOffset, int n, float[] kt, int stride, int count, float scale, float[] out) {
        int len = S.length();
        int vectors = (count + len - 1) / len;
        int v = 0;
        for (; v + 4 <= vectors; v += 4) {
            int o = v * len;
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
            for (int d = 0; d < n; d++) {
                FloatVector b = FloatVector.broadcast(S, q[qOffset + d]);
                int k = d * stride + o;
                a0 = FloatVector.fromArray(S, kt, k).fma(b, a0);
                a1 = FloatVector.fromArray(S, kt, k + len).fma(b, a1);
                a2 = FloatVector.fromArray(S, kt, k + 2 * len).fma(b, a2);
                a3 = FloatVector.fromArray(S, kt, k + 3 * len).fma(b, a3);
            }
            a0.mul(scale).intoArray(out, o);
            a1.mul(scale).intoArray(out, o + len);
            a2.mul(scale).intoArray(out, o + 2 * len);
            a3.mul(scale).intoArray(out, o + 3 * len);
        }
        for (; v < vectors; v++) {
            int o = v * len;
            FloatVector a = FloatVector.zero(S);
            for (int d = 0; d < n; d++) a = FloatVector.fromArray(S, kt, d * stride + o).fma(FloatVector.broadcast(S, q[qOffset + d]), a);
            a.mul(scale).intoArray(out, o);
        }
    }

    /**
     * {@code out[outOffset + i] = sum over s < count of w[wOffset + s] * row_s[i]} for i < n, the float32 rows
     * {@code row_s} at {@code offset + s * rowBytes} of {@code rows}: per element one fused multiply-add chain
     * over s in order, starting from zero, the same operations as {@code count} {@code axpy} calls into a zeroed
     * {@code out}, with the sums kept in registers instead of stored and reloaded once per row.
     */
    public static void weightedRows(MemorySegment rows, long offset, long rowBytes, float[] w, int wOffset, int count,
                                    float[] out, int outOffset, int n) {
        int len = S.length();
        int i = 0;
        for (; i + 4 * len <= n; i += 4 * len) {
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
            for (int s = 0; s < count; s++) {
                FloatVector b = FloatVector.broadcast(S, w[wOffset + s]);
                long r = offset + s * rowBytes + 4L * i;
                a0 = FloatVector.fromMemorySegment(S, rows, r, Simd.LE).fma(b, a0);
                a1 = FloatVector.fromMemorySegment(S, rows, r + 4L * len, Simd.LE).fma(b, a1);
                a2 = FloatVector.fromMemorySegment(S, rows, r + 8L * len, Simd.LE).fma(b, a2);
                a3 = FloatVector.fromMemorySegment(S, rows, r + 12L * len, Simd.LE).fma(b, a3);
            }
            a0.intoArray(out, outOffset + i);
            a1.intoArray(out, outOffset + i + len);
            a2.intoArray(out, outOffset + i + 2 * len);
            a3.intoArray(out, outOffset + i + 3 * len);
        }
        for (; i + len <= n; i += len) {
            FloatVector a = FloatVector.zero(S);
            for (int s = 0; s < count; s++) {
                a = FloatVector.fromMemorySegment(S, rows, offset + s * rowBytes + 4L * i, Simd.LE).fma(FloatVector.broadcast(S, w[wOffset + s]), a);
            }
            a.intoArray(out, outOffset + i);
        }
        for (; i < n; i++) {
            float a = 0f;
            for (int s = 0; s < count; s++) a = Math.fma(rows.get(F32_LE, offset + s * rowBytes + 4L * i), w[wOffset + s], a);
            out[outOffset + i] = a;
        }
    }

    /** y[yOffset + i] += x[xOffset + i] for i < n. */
    public static void add(float[] x, int xOffset, float[] y, int yOffset, int n) {
        int len = S.length();
        int i = 0;
        for (int upper = n - len; i <= upper; i += len) {
            FloatVector.fromArray(S, y, yOffset + i).add(FloatVector.fromArray(S, x, xOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < n; i++) y[yOffset + i] += x[xOffset + i];
    }

    /**
     * RMSNorm: {@code out[o + i] = x[xo + i] / sqrt(mean(x^2) + eps) * weight[i]}. The mean of squares is
     * summed in double, as ggml does.
     */
    public static void rmsNorm(float[] x, int xOffset, float[] weight, float eps, float[] out, int outOffset, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOffset + i];
            sum += v * v;
        }
        float scale = (float) (1.0 / Math.sqrt(sum / n + eps));
        for (int i = 0; i < n; i++) out[outOffset + i] = x[xOffset + i] * scale * weight[i];
    }

    /**
     * In-place softmax of {@code x[offset .. offset+n)}: e^(x - max) in vector lanes ({@link FloatExp}, within
     * 2 ulp; the tail takes the same operations), the normalizer summed in a fixed order (lane sums, then the tail).
     */
    public static void softmax(float[] x, int offset, int n) {
        int len = S.length();
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[offset + i]);
        float inv = 1f / FloatExp.expShifted(x, offset, n, max);
        int i = 0;
        for (; i + len <= n; i += len) FloatVector.fromArray(S, x, offset + i).mul(inv).intoArray(x, offset + i);
        for (; i < n; i++) x[offset + i] *= inv;
    }

    /** Index of the largest of {@code x[offset .. offset+n)}; ties go to the lowest index. */
    public static int argmax(float[] x, int offset, int n) {
        int best = 0;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            if (x[offset + i] > bestValue) {
                bestValue = x[offset + i];
                best = i;
            }
        }
        return best;
    }
}
