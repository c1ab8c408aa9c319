package io.ruvector.sparse.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Dot products of one decoded (float) weight row with several tokens' activations, four tokens at a time. */
final class RowDots {

    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();

    private RowDots() {}

    /** {@code out[t*rows + r] = w[0..cols) . xs[t*cols ..)} for every {@code t < tokens}. */
    static void dots(float[] w, int cols, float[] xs, int tokens, float[] out, int rows, int r) {
        int t = 0;
        for (; t + 4 <= tokens; t += 4) dots4(w, cols, xs, t, out, rows, r);
        for (; t < tokens; t++) out[t * rows + r] = dot1(w, cols, xs, t * cols);
    }

    /** Four tokens: each weight vector is loaded once for four FMAs; two chains per token hide FMA latency. */
    private static void dots4(float[] w, int cols, float[] xs, int t, float[] out, int rows, int r) {
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector a0 = FloatVector.zero(F), b0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F), b1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F), b2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F), b3 = FloatVector.zero(F);
        int i = 0;
        for (int upper = cols - 2 * L; i <= upper; i += 2 * L) {
            FloatVector w0 = FloatVector.fromArray(F, w, i);
            FloatVector w1 = FloatVector.fromArray(F, w, i + L);
            a0 = w0.fma(FloatVector.fromArray(F, xs, x0 + i), a0);
            b0 = w1.fma(FloatVector.fromArray(F, xs, x0 + i + L), b0);
            a1 = w0.fma(FloatVector.fromArray(F, xs, x1 + i), a1);
            b1 = w1.fma(FloatVector.fromArray(F, xs, x1 + i + L), b1);
            a2 = w0.fma(FloatVector.fromArray(F, xs, x2 + i), a2);
            b2 = w1.fma(FloatVector.fromArray(F, xs, x2 + i + L), b2);
            a3 = w0.fma(FloatVector.fromArray(F, xs, x3 + i), a3);
            b3 = w1.fma(FloatVector.fromArray(F, xs, x3 + i + L), b3);
        }
        float s0 = a0.add(b0).reduceLanes(VectorOperators.ADD);
        float s1 = a1.add(b1).reduceLanes(VectorOperators.ADD);
        float s2 = a2.add(b2).reduceLanes(VectorOperators.ADD);
        float s3 = a3.add(b3).reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            s0 += w[i] * xs[x0 + i];
            s1 += w[i] * xs[x1 + i];
            s2 += w[i] * xs[x2 + i];
            s3 += w[i] * xs[x3 + i];
        }
        out[t * rows + r] = s0;
        out[(t + 1) * rows + r] = s1;
        out[(t + 2) * rows + r] = s2;
        out[(t + 3) * rows + r] = s3;
    }

    private static float dot1(float[] w, int cols, float[] xs, int x0) {
        FloatVector a = FloatVector.zero(F), b = FloatVector.zero(F);
        int i = 0;
        for (int upper = cols - 2 * L; i <= upper; i += 2 * L) {
            a = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, xs, x0 + i), a);
            b = FloatVector.fromArray(F, w, i + L).fma(FloatVector.fromArray(F, xs, x0 + i + L), b);
        }
        float s = a.add(b).reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) s += w[i] * xs[x0 + i];
        return s;
    }
}
