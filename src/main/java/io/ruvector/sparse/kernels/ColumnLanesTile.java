package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Simd;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-tiled inner kernel of {@link ColumnLanesGemm}: decoded weight rows times token rows over one block of
 * columns, added to running per-lane sums.
 *
 * <p>Inner-product layout: lane j of the running sum of (row, token) collects the products of the columns
 * k = j (mod lane count), in column order, across every column block. This suits batches too small to fill
 * the token lanes of {@link TokenLanesTile}. The lanes are summed once per output, at the end, in a fixed
 * order (see {@link ColumnLanesGemm}), so tiling and the thread's slice never change a result.
 *
 * <p>Tiles: 5 rows x 4 tokens (20 accumulators, 9 loads per 20 FMAs), then 5 x 1 for the last tokens; rows
 * left over (fewer than 5) take 1 x 4 and 1 x 1. The tiles are written out by hand: the accumulators must be
 * locals for C2 to keep them in registers, and nothing in them may call a method that is not inlined (a
 * vector passed to a call is boxed).
 */
final class ColumnLanesTile {

    /** Rows per full tile. */
    static final int ROWS = 5;
    /** Tokens per full tile. */
    static final int TOKENS = 4;

    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();

    private ColumnLanesTile() {}

    /**
     * For rows i < {@code rows} and tokens t < {@code n}, lanes of
     * {@code sums[so + (i*n + t)*L ..]} += products of {@code w[i*kc + k]} and {@code x[xo + t*cols + k]} for the
     * whole vectors k < {@code kv} (k = 0 being the block's first column).
     *
     * @param w  {@code rows} decoded rows of the block, {@code kc} floats each
     * @param xo where the block starts in token 0's row of {@code x}
     */
    static void multiply(float[] w, int kc, int kv, int rows, float[] x, int xo, int cols, int n, float[] sums, int so) {
        int stride = n * L;   // from one row's sums to the next
        if (rows == ROWS) {
            int t = 0;
            for (; t + TOKENS <= n; t += TOKENS) tile5x4(w, kc, kv, x, xo + t * cols, cols, sums, so + t * L, stride);
            for (; t < n; t++) tile5x1(w, kc, kv, x, xo + t * cols, sums, so + t * L, stride);
        } else {
            for (int i = 0; i < rows; i++) {
                int t = 0;
                for (; t + TOKENS <= n; t += TOKENS) tile1x4(w, i * kc, kv, x, xo + t * cols, cols, sums, so + i * stride + t * L);
                for (; t < n; t++) tile1x1(w, i * kc, kv, x, xo + t * cols, sums, so + i * stride + t * L);
            }
        }
    }

    private static void tile5x4(float[] w, int kc, int kv, float[] x, int xo, int cols, float[] s, int so, int stride) {
        int s1 = so + stride, s2 = s1 + stride, s3 = s2 + stride, s4 = s3 + stride;
        FloatVector c00 = FloatVector.fromArray(F, s, so), c01 = FloatVector.fromArray(F, s, so + L);
        FloatVector c02 = FloatVector.fromArray(F, s, so + 2 * L), c03 = FloatVector.fromArray(F, s, so + 3 * L);
        FloatVector c10 = FloatVector.fromArray(F, s, s1), c11 = FloatVector.fromArray(F, s, s1 + L);
        FloatVector c12 = FloatVector.fromArray(F, s, s1 + 2 * L), c13 = FloatVector.fromArray(F, s, s1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(F, s, s2), c21 = FloatVector.fromArray(F, s, s2 + L);
        FloatVector c22 = FloatVector.fromArray(F, s, s2 + 2 * L), c23 = FloatVector.fromArray(F, s, s2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(F, s, s3), c31 = FloatVector.fromArray(F, s, s3 + L);
        FloatVector c32 = FloatVector.fromArray(F, s, s3 + 2 * L), c33 = FloatVector.fromArray(F, s, s3 + 3 * L);
        FloatVector c40 = FloatVector.fromArray(F, s, s4), c41 = FloatVector.fromArray(F, s, s4 + L);
        FloatVector c42 = FloatVector.fromArray(F, s, s4 + 2 * L), c43 = FloatVector.fromArray(F, s, s4 + 3 * L);
        int x1 = xo + cols, x2 = x1 + cols, x3 = x2 + cols;
        int w1 = kc, w2 = 2 * kc, w3 = 3 * kc, w4 = 4 * kc;
        for (int k = 0; k < kv; k += L) {
            FloatVector t0 = FloatVector.fromArray(F, x, xo + k);
            FloatVector t1 = FloatVector.fromArray(F, x, x1 + k);
            FloatVector t2 = FloatVector.fromArray(F, x, x2 + k);
            FloatVector t3 = FloatVector.fromArray(F, x, x3 + k);
            FloatVector r = FloatVector.fromArray(F, w, k);
            c00 = r.fma(t0, c00); c01 = r.fma(t1, c01); c02 = r.fma(t2, c02); c03 = r.fma(t3, c03);
            r = FloatVector.fromArray(F, w, w1 + k);
            c10 = r.fma(t0, c10); c11 = r.fma(t1, c11); c12 = r.fma(t2, c12); c13 = r.fma(t3, c13);
            r = FloatVector.fromArray(F, w, w2 + k);
            c20 = r.fma(t0, c20); c21 = r.fma(t1, c21); c22 = r.fma(t2, c22); c23 = r.fma(t3, c23);
            r = FloatVector.fromArray(F, w, w3 + k);
            c30 = r.fma(t0, c30); c31 = r.fma(t1, c31); c32 = r.fma(t2, c32); c33 = r.fma(t3, c33);
            r = FloatVector.fromArray(F, w, w4 + k);
            c40 = r.fma(t0, c40); c41 = r.fma(t1, c41); c42 = r.fma(t2, c42); c43 = r.fma(t3, c43);
        }
        c00.intoArray(s, so); c01.intoArray(s, so + L); c02.intoArray(s, so + 2 * L); c03.intoArray(s, so + 3 * L);
        c10.intoArray(s, s1); c11.intoArray(s, s1 + L); c12.intoArray(s, s1 + 2 * L); c13.intoArray(s, s1 + 3 * L);
        c20.intoArray(s, s2); c21.intoArray(s, s2 + L); c22.intoArray(s, s2 + 2 * L); c23.intoArray(s, s2 + 3 * L);
        c30.intoArray(s, s3); c31.intoArray(s, s3 + L); c32.intoArray(s, s3 + 2 * L); c33.intoArray(s, s3 + 3 * L);
        c40.intoArray(s, s4); c41.intoArray(s, s4 + L); c42.intoArray(s, s4 + 2 * L); c43.intoArray(s, s4 + 3 * L);
    }

    private static void tile5x1(float[] w, int kc, int kv, float[] x, int xo, float[] s, int so, int stride) {
        int s1 = so + stride, s2 = s1 + stride, s3 = s2 + stride, s4 = s3 + stride;
        FloatVector c0 = FloatVector.fromArray(F, s, so), c1 = FloatVector.fromArray(F, s, s1);
        FloatVector c2 = FloatVector.fromArray(F, s, s2), c3 = FloatVector.fromArray(F, s, s3);
        FloatVector c4 = FloatVector.fromArray(F, s, s4);
        for (int k = 0; k < kv; k += L) {
            FloatVector t0 = FloatVector.fromArray(F, x, xo + k);
            c0 = FloatVector.fromArray(F, w, k).fma(t0, c0);
            c1 = FloatVector.fromArray(F, w, kc + k).fma(t0, c1);
            c2 = FloatVector.fromArray(F, w, 2 * kc + k).fma(t0, c2);
            c3 = FloatVector.fromArray(F, w, 3 * kc + k).fma(t0, c3);
            c4 = FloatVector.fromArray(F, w, 4 * kc + k).fma(t0, c4);
        }
        c0.intoArray(s, so); c1.intoArray(s, s1); c2.intoArray(s, s2); c3.intoArray(s, s3); c4.intoArray(s, s4);
    }

    private static void tile1x4(float[] w, int wo, int kv, float[] x, int xo, int cols, float[] s, int so) {
        FloatVector c0 = FloatVector.fromArray(F, s, so), c1 = FloatVector.fromArray(F, s, so + L);
        FloatVector c2 = FloatVector.fromArray(F, s, so + 2 * L), c3 = FloatVector.fromArray(F, s, so + 3 * L);
        int x1 = xo + cols, x2 = x1 + cols, x3 = x2 + cols;
        for (int k = 0; k < kv; k += L) {
            FloatVector r = FloatVector.fromArray(F, w, wo + k);
            c0 = r.fma(FloatVector.fromArray(F, x, xo + k), c0);
            c1 = r.fma(FloatVector.fromArray(F, x, x1 + k), c1);
            c2 = r.fma(FloatVector.fromArray(F, x, x2 + k), c2);
            c3 = r.fma(FloatVector.fromArray(F, x, x3 + k), c3);
        }
        c0.intoArray(s, so); c1.intoArray(s, so + L); c2.intoArray(s, so + 2 * L); c3.intoArray(s, so + 3 * L);
    }

    private static void tile1x1(float[] w, int wo, int kv, float[] x, int xo, float[] s, int so) {
        FloatVector c = FloatVector.fromArray(F, s, so);
        for (int k = 0; k < kv; k += L) c = FloatVector.fromArray(F, w, wo + k).fma(FloatVector.fromArray(F, x, xo + k), c);
        c.intoArray(s, so);
    }
}
