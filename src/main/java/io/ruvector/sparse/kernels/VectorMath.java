package io.ruvector.sparse.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/** Small dense float kernels of the forward pass (Vector API, no allocation). */
public final class VectorMath {

    private static final VectorSpecies<Float> S = Simd.F;

    // Rotations by half, a quarter, ... of the lanes: the steps of a fixed-order tree sum (unused ones null).
    private static final VectorShuffle<Float> ROTATE_1 = rotation(1);
    private static final VectorShuffle<Float> ROTATE_2 = rotation(2);
    private static final VectorShuffle<Float> ROTATE_3 = rotation(3);
    private static final VectorShuffle<Float> ROTATE_4 = rotation(4);

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

    /** In-place softmax of {@code x[offset .. offset+n)}; the normalizer is summed in double. */
    public static void softmax(float[] x, int offset, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[offset + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[offset + i] - max);
            x[offset + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) x[offset + i] *= inv;
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
