package io.ruvector.sparse.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot products of decoded (float) weight rows with several tokens' activations: the inner kernel of the
 * batched product. Tiles of 4 rows x 4 tokens keep 16 accumulators in registers, so every loaded weight vector
 * serves four tokens and every loaded activation vector four rows.
 */
final class RowDots {

    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();

    private RowDots() {}

    /**
     * {@code out[t*rows + r0 + k] = w[k*cols ..][0..cols) . xs[t*cols ..)} for {@code k < nRows} decoded rows held
     * back to back in {@code w}, and every {@code t < tokens}.
     */
    static void dots(float[] w, int nRows, int cols, float[] xs, int tokens, float[] out, int rows, int r0) {
        int t = 0;
        if (nRows == 4) {
            for (; t + 4 <= tokens; t += 4) tile4x4(w, cols, xs, t, out, rows, r0);
        }
        for (int k = 0; k < nRows; k++) {
            int tk = t;
            for (; tk + 4 <= tokens; tk += 4) dots4(w, k * cols, cols, xs, tk, out, rows, r0 + k);
            for (; tk < tokens; tk++) out[tk * rows + r0 + k] = dot1(w, k * cols, cols, xs, tk * cols);
        }
    }

    /** Four rows (at w[0], w[cols], w[2 cols], w[3 cols]) times tokens t..t+3. */
    private static void tile4x4(float[] w, int cols, float[] xs, int t, float[] out, int rows, int r0) {
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F), c02 = FloatVector.zero(F), c03 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F), c12 = FloatVector.zero(F), c13 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F), c22 = FloatVector.zero(F), c23 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F), c32 = FloatVector.zero(F), c33 = FloatVector.zero(F);
        int i = 0;
        for (int upper = cols - L; i <= upper; i += L) {
            FloatVector a0 = FloatVector.fromArray(F, xs, x0 + i);
            FloatVector a1 = FloatVector.fromArray(F, xs, x1 + i);
            FloatVector a2 = FloatVector.fromArray(F, xs, x2 + i);
            FloatVector a3 = FloatVector.fromArray(F, xs, x3 + i);
            FloatVector w0 = FloatVector.fromArray(F, w, i);
            c00 = w0.fma(a0, c00);
            c01 = w0.fma(a1, c01);
            c02 = w0.fma(a2, c02);
            c03 = w0.fma(a3, c03);
            FloatVector w1 = FloatVector.fromArray(F, w, cols + i);
            c10 = w1.fma(a0, c10);
            c11 = w1.fma(a1, c11);
            c12 = w1.fma(a2, c12);
            c13 = w1.fma(a3, c13);
            FloatVector w2 = FloatVector.fromArray(F, w, 2 * cols + i);
            c20 = w2.fma(a0, c20);
            c21 = w2.fma(a1, c21);
            c22 = w2.fma(a2, c22);
            c23 = w2.fma(a3, c23);
            FloatVector w3 = FloatVector.fromArray(F, w, 3 * cols + i);
            c30 = w3.fma(a0, c30);
            c31 = w3.fma(a1, c31);
            c32 = w3.fma(a2, c32);
            c33 = w3.fma(a3, c33);
        }
        store(out, rows, t, r0, c00, c01, c02, c03, w, 0, cols, xs, i);
        store(out, rows, t, r0 + 1, c10, c11, c12, c13, w, cols, cols, xs, i);
        store(out, rows, t, r0 + 2, c20, c21, c22, c23, w, 2 * cols, cols, xs, i);
        store(out, rows, t, r0 + 3, c30, c31, c32, c33, w, 3 * cols, cols, xs, i);
    }

    /** Reduces one row's four token accumulators, adds the scalar tail from column {@code i}, stores. */
    private static void store(float[] out, int rows, int t, int r, FloatVector c0, FloatVector c1, FloatVector c2,
                              FloatVector c3, float[] w, int wOff, int cols, float[] xs, int i) {
        float s0 = Simd.sum(c0);
        float s1 = Simd.sum(c1);
        float s2 = Simd.sum(c2);
        float s3 = Simd.sum(c3);
        for (int j = i; j < cols; j++) {
            float wj = w[wOff + j];
            s0 += wj * xs[t * cols + j];
            s1 += wj * xs[(t + 1) * cols + j];
            s2 += wj * xs[(t + 2) * cols + j];
            s3 += wj * xs[(t + 3) * cols + j];
        }
        out[t * rows + r] = s0;
        out[(t + 1) * rows + r] = s1;
        out[(t + 2) * rows + r] = s2;
        out[(t + 3) * rows + r] = s3;
    }

    /*
     * Every (row, token) result is summed in the same order whichever kernel computes it (one vector accumulator
     * stepping by the vector length, reduced, then the scalar tail), so how rows and tokens fall into tiles,
     * which depends on the thread's slice, never changes a bit of the result.
     */

    /** One row (at w[wOff]) times tokens t..t+3. */
    private static void dots4(float[] w, int wOff, int cols, float[] xs, int t, float[] out, int rows, int r) {
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F), c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        int i = 0;
        for (int upper = cols - L; i <= upper; i += L) {
            FloatVector w0 = FloatVector.fromArray(F, w, wOff + i);
            c0 = w0.fma(FloatVector.fromArray(F, xs, x0 + i), c0);
            c1 = w0.fma(FloatVector.fromArray(F, xs, x1 + i), c1);
            c2 = w0.fma(FloatVector.fromArray(F, xs, x2 + i), c2);
            c3 = w0.fma(FloatVector.fromArray(F, xs, x3 + i), c3);
        }
        store(out, rows, t, r, c0, c1, c2, c3, w, wOff, cols, xs, i);
    }

    /** One row (at w[wOff]) times one token. */
    private static float dot1(float[] w, int wOff, int cols, float[] xs, int x0) {
        FloatVector c = FloatVector.zero(F);
        int i = 0;
        for (int upper = cols - L; i <= upper; i += L) {
            c = FloatVector.fromArray(F, w, wOff + i).fma(FloatVector.fromArray(F, xs, x0 + i), c);
        }
        float s = Simd.sum(c);
        for (; i < cols; i++) s += w[wOff + i] * xs[x0 + i];
        return s;
    }
}
