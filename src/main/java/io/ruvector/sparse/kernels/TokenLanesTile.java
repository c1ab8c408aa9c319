package io.ruvector.sparse.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-tiled inner kernel of {@link TokenLanesGemm}: a block of decoded weight rows times the packed
 * activations of a column block, added to running sums.
 *
 * <p>Outer-product layout: the activations are packed column-major ({@code xt[k * stride + t]}, tokens in
 * lanes), each weight is broadcast, and one FMA adds weight x (a vector of tokens) to a vector of sums. No
 * lane ever mixes with another, so no lane sum is needed and every output is the same chain
 * {@code s = fma(w[k], x[k], s)} for k = 0, 1, ... whatever tile or edge it falls in: tiling, the thread's
 * slice and the vector width never change a result. (Measured against the column-lanes layout of
 * {@link ColumnLanesTile} on the prompt shapes: ~8% faster, although its 512-bit broadcasts take FP-pipe
 * slots from the FMAs on Zen 4; the column layout pays for short loops and the lane sums instead.)
 *
 * <p>Tiles: 6 rows x 4 vectors of tokens (24 accumulators, 6 broadcasts and 4 loads per 24 FMAs), then
 * 6 x 2 and 6 x 1 for the last token vectors; rows left over (fewer than 6) go one row and one vector at a
 * time. The tiles are written out by hand: the accumulators must be locals for C2 to keep them in
 * registers, and nothing in them may call a method that is not inlined (a vector passed to a call is boxed).
 */
final class TokenLanesTile {

    /** Rows per full tile. */
    static final int ROWS = 6;

    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();

    private TokenLanesTile() {}

    /**
     * For rows i < {@code rows} and token lanes t < {@code stride}:
     * {@code acc[ao + i*stride + t] = fma chain over k < kc of w[i*kc + k] * xt[xo + k*stride + t]}, continuing
     * from the value already in {@code acc}.
     *
     * @param w      {@code rows} decoded rows of {@code kc} weights each
     * @param stride tokens per packed column (a multiple of the vector length)
     */
    static void multiply(float[] w, int kc, int rows, float[] xt, int xo, int stride, float[] acc, int ao) {
        int vectors = stride / L;
        if (rows == ROWS) {
            int v = 0;
            for (; v + 4 <= vectors; v += 4) tile6x4(w, kc, xt, xo + v * L, stride, acc, ao + v * L);
            for (; v + 2 <= vectors; v += 2) tile6x2(w, kc, xt, xo + v * L, stride, acc, ao + v * L);
            for (; v < vectors; v++) tile6x1(w, kc, xt, xo + v * L, stride, acc, ao + v * L);
        } else {
            for (int i = 0; i < rows; i++) {
                for (int v = 0; v < vectors; v++) tile1x1(w, i * kc, kc, xt, xo + v * L, stride, acc, ao + i * stride + v * L);
            }
        }
    }

    private static void tile6x4(float[] w, int kc, float[] xt, int xo, int stride, float[] acc, int ao) {
        int a1 = ao + stride, a2 = a1 + stride, a3 = a2 + stride, a4 = a3 + stride, a5 = a4 + stride;
        FloatVector c00 = FloatVector.fromArray(F, acc, ao), c01 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector c02 = FloatVector.fromArray(F, acc, ao + 2 * L), c03 = FloatVector.fromArray(F, acc, ao + 3 * L);
        FloatVector c10 = FloatVector.fromArray(F, acc, a1), c11 = FloatVector.fromArray(F, acc, a1 + L);
        FloatVector c12 = FloatVector.fromArray(F, acc, a1 + 2 * L), c13 = FloatVector.fromArray(F, acc, a1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(F, acc, a2), c21 = FloatVector.fromArray(F, acc, a2 + L);
        FloatVector c22 = FloatVector.fromArray(F, acc, a2 + 2 * L), c23 = FloatVector.fromArray(F, acc, a2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(F, acc, a3), c31 = FloatVector.fromArray(F, acc, a3 + L);
        FloatVector c32 = FloatVector.fromArray(F, acc, a3 + 2 * L), c33 = FloatVector.fromArray(F, acc, a3 + 3 * L);
        FloatVector c40 = FloatVector.fromArray(F, acc, a4), c41 = FloatVector.fromArray(F, acc, a4 + L);
        FloatVector c42 = FloatVector.fromArray(F, acc, a4 + 2 * L), c43 = FloatVector.fromArray(F, acc, a4 + 3 * L);
        FloatVector c50 = FloatVector.fromArray(F, acc, a5), c51 = FloatVector.fromArray(F, acc, a5 + L);
        FloatVector c52 = FloatVector.fromArray(F, acc, a5 + 2 * L), c53 = FloatVector.fromArray(F, acc, a5 + 3 * L);
        for (int k = 0; k < kc; k++) {
            int x = xo + k * stride;
            FloatVector x0 = FloatVector.fromArray(F, xt, x);
            FloatVector x1 = FloatVector.fromArray(F, xt, x + L);
            FloatVector x2 = FloatVector.fromArray(F, xt, x + 2 * L);
            FloatVector x3 = FloatVector.fromArray(F, xt, x + 3 * L);
            FloatVector b = FloatVector.broadcast(F, w[k]);
            c00 = b.fma(x0, c00); c01 = b.fma(x1, c01); c02 = b.fma(x2, c02); c03 = b.fma(x3, c03);
            b = FloatVector.broadcast(F, w[kc + k]);
            c10 = b.fma(x0, c10); c11 = b.fma(x1, c11); c12 = b.fma(x2, c12); c13 = b.fma(x3, c13);
            b = FloatVector.broadcast(F, w[2 * kc + k]);
            c20 = b.fma(x0, c20); c21 = b.fma(x1, c21); c22 = b.fma(x2, c22); c23 = b.fma(x3, c23);
            b = FloatVector.broadcast(F, w[3 * kc + k]);
            c30 = b.fma(x0, c30); c31 = b.fma(x1, c31); c32 = b.fma(x2, c32); c33 = b.fma(x3, c33);
            b = FloatVector.broadcast(F, w[4 * kc + k]);
            c40 = b.fma(x0, c40); c41 = b.fma(x1, c41); c42 = b.fma(x2, c42); c43 = b.fma(x3, c43);
            b = FloatVector.broadcast(F, w[5 * kc + k]);
            c50 = b.fma(x0, c50); c51 = b.fma(x1, c51); c52 = b.fma(x2, c52); c53 = b.fma(x3, c53);
        }
        c00.intoArray(acc, ao); c01.intoArray(acc, ao + L); c02.intoArray(acc, ao + 2 * L); c03.intoArray(acc, ao + 3 * L);
        c10.intoArray(acc, a1); c11.intoArray(acc, a1 + L); c12.intoArray(acc, a1 + 2 * L); c13.intoArray(acc, a1 + 3 * L);
        c20.intoArray(acc, a2); c21.intoArray(acc, a2 + L); c22.intoArray(acc, a2 + 2 * L); c23.intoArray(acc, a2 + 3 * L);
        c30.intoArray(acc, a3); c31.intoArray(acc, a3 + L); c32.intoArray(acc, a3 + 2 * L); c33.intoArray(acc, a3 + 3 * L);
        c40.intoArray(acc, a4); c41.intoArray(acc, a4 + L); c42.intoArray(acc, a4 + 2 * L); c43.intoArray(acc, a4 + 3 * L);
        c50.intoArray(acc, a5); c51.intoArray(acc, a5 + L); c52.intoArray(acc, a5 + 2 * L); c53.intoArray(acc, a5 + 3 * L);
    }

    private static void tile6x2(float[] w, int kc, float[] xt, int xo, int stride, float[] acc, int ao) {
        int a1 = ao + stride, a2 = a1 + stride, a3 = a2 + stride, a4 = a3 + stride, a5 = a4 + stride;
        FloatVector c00 = FloatVector.fromArray(F, acc, ao), c01 = FloatVector.fromArray(F, acc, ao + L);
        FloatVector c10 = FloatVector.fromArray(F, acc, a1), c11 = FloatVector.fromArray(F, acc, a1 + L);
        FloatVector c20 = FloatVector.fromArray(F, acc, a2), c21 = FloatVector.fromArray(F, acc, a2 + L);
        FloatVector c30 = FloatVector.fromArray(F, acc, a3), c31 = FloatVector.fromArray(F, acc, a3 + L);
        FloatVector c40 = FloatVector.fromArray(F, acc, a4), c41 = FloatVector.fromArray(F, acc, a4 + L);
        FloatVector c50 = FloatVector.fromArray(F, acc, a5), c51 = FloatVector.fromArray(F, acc, a5 + L);
        for (int k = 0; k < kc; k++) {
            int x = xo + k * stride;
            FloatVector x0 = FloatVector.fromArray(F, xt, x);
            FloatVector x1 = FloatVector.fromArray(F, xt, x + L);
            FloatVector b = FloatVector.broadcast(F, w[k]);
            c00 = b.fma(x0, c00); c01 = b.fma(x1, c01);
            b = FloatVector.broadcast(F, w[kc + k]);
            c10 = b.fma(x0, c10); c11 = b.fma(x1, c11);
            b = FloatVector.broadcast(F, w[2 * kc + k]);
            c20 = b.fma(x0, c20); c21 = b.fma(x1, c21);
            b = FloatVector.broadcast(F, w[3 * kc + k]);
            c30 = b.fma(x0, c30); c31 = b.fma(x1, c31);
            b = FloatVector.broadcast(F, w[4 * kc + k]);
            c40 = b.fma(x0, c40); c41 = b.fma(x1, c41);
            b = FloatVector.broadcast(F, w[5 * kc + k]);
            c50 = b.fma(x0, c50); c51 = b.fma(x1, c51);
        }
        c00.intoArray(acc, ao); c01.intoArray(acc, ao + L);
        c10.intoArray(acc, a1); c11.intoArray(acc, a1 + L);
        c20.intoArray(acc, a2); c21.intoArray(acc, a2 + L);
        c30.intoArray(acc, a3); c31.intoArray(acc, a3 + L);
        c40.intoArray(acc, a4); c41.intoArray(acc, a4 + L);
        c50.intoArray(acc, a5); c51.intoArray(acc, a5 + L);
    }

    private static void tile6x1(float[] w, int kc, float[] xt, int xo, int stride, float[] acc, int ao) {
        int a1 = ao + stride, a2 = a1 + stride, a3 = a2 + stride, a4 = a3 + stride, a5 = a4 + stride;
        FloatVector c0 = FloatVector.fromArray(F, acc, ao), c1 = FloatVector.fromArray(F, acc, a1);
        FloatVector c2 = FloatVector.fromArray(F, acc, a2), c3 = FloatVector.fromArray(F, acc, a3);
        FloatVector c4 = FloatVector.fromArray(F, acc, a4), c5 = FloatVector.fromArray(F, acc, a5);
        for (int k = 0; k < kc; k++) {
            FloatVector x0 = FloatVector.fromArray(F, xt, xo + k * stride);
            c0 = FloatVector.broadcast(F, w[k]).fma(x0, c0);
            c1 = FloatVector.broadcast(F, w[kc + k]).fma(x0, c1);
            c2 = FloatVector.broadcast(F, w[2 * kc + k]).fma(x0, c2);
            c3 = FloatVector.broadcast(F, w[3 * kc + k]).fma(x0, c3);
            c4 = FloatVector.broadcast(F, w[4 * kc + k]).fma(x0, c4);
            c5 = FloatVector.broadcast(F, w[5 * kc + k]).fma(x0, c5);
        }
        c0.intoArray(acc, ao); c1.intoArray(acc, a1); c2.intoArray(acc, a2);
        c3.intoArray(acc, a3); c4.intoArray(acc, a4); c5.intoArray(acc, a5);
    }

    private static void tile1x1(float[] w, int wo, int kc, float[] xt, int xo, int stride, float[] acc, int ao) {
        FloatVector c = FloatVector.fromArray(F, acc, ao);
        for (int k = 0; k < kc; k++) c = FloatVector.broadcast(F, w[wo + k]).fma(FloatVector.fromArray(F, xt, xo + k * stride), c);
        c.intoArray(acc, ao);
    }
}
