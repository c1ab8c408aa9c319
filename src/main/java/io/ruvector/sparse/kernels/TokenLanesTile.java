package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Simd;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-tiled inner kernel of {@link TokenLanesGemm}: a block of decoded weight rows times the packed
 * activations of a column block, added to running sums.
 *
 * <p>Outer-product layout: the activations are packed column-major ({@code xt[k * stride + t]}, tokens in
 * lanes), each weight is broadcast, and one FMA adds weight x (a vector of tokens) to a vector of sums. No
 * lane ever mixes with another, so no lane sum is needed and every output is the same chain
 * {@code s = fma(w[wo + k], x[k], s)} for k = 0, 1, ... whatever tile or edge it falls in: tiling, the thread's
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
    /**
     * Columns per FMA chain. One chain over a whole row (thousands of columns) lost enough precision to fail
     * the fidelity tests; chains this short, summed, are about as accurate as per-lane sums. It divides
     * {@link TokenLanesGemm#BLOCK_COLUMNS}, so chains start at multiples of it whatever the tiling.
     */
    static final int CHAIN = 64;

    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();

    private TokenLanesTile() {}

    /**
     * For rows i < {@code rows} and token lanes t < {@code stride}: adds to {@code acc[ao + i*stride + t]} the
     * products of {@code w[i*kc + k]} and {@code xt[xo + k*stride + t]} over k < kc, as one FMA chain per
     * {@link #CHAIN} columns started from zero, each chain's total then added to {@code acc}.
     *
     * @param w      {@code rows} decoded rows of {@code kc} weights each
     * @param stride tokens per packed column (a multiple of the vector length)
     */
    static void multiply(float[] w, int kc, int rows, float[] xt, int xo, int stride, float[] acc, int ao) {
        int vectors = stride / L;
        for (int k = 0; k < kc; k += CHAIN) {
            int len = Math.min(CHAIN, kc - k);
            int x = xo + k * stride;
            if (rows == ROWS) {
                int v = 0;
                for (; v + 4 <= vectors; v += 4) tile6x4(w, k, kc, len, xt, x + v * L, stride, acc, ao + v * L);
                for (; v + 2 <= vectors; v += 2) tile6x2(w, k, kc, len, xt, x + v * L, stride, acc, ao + v * L);
                for (; v < vectors; v++) tile6x1(w, k, kc, len, xt, x + v * L, stride, acc, ao + v * L);
            } else {
                for (int i = 0; i < rows; i++) {
                    for (int v = 0; v < vectors; v++) tile1x1(w, i * kc + k, len, xt, x + v * L, stride, acc, ao + i * stride + v * L);
                }
            }
        }
    }

    private static void tile6x4(float[] w, int wo, int ws, int len, float[] xt, int xo, int stride, float[] acc, int ao) {
        int w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws, w4 = w3 + ws, w5 = w4 + ws;
        int a1 = ao + stride, a2 = a1 + stride, a3 = a2 + stride, a4 = a3 + stride, a5 = a4 + stride;
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c02 = FloatVector.zero(F), c03 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c12 = FloatVector.zero(F), c13 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c22 = FloatVector.zero(F), c23 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c32 = FloatVector.zero(F), c33 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c42 = FloatVector.zero(F), c43 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c52 = FloatVector.zero(F), c53 = FloatVector.zero(F);
        for (int k = 0; k < len; k++) {
            int x = xo + k * stride;
            FloatVector x0 = FloatVector.fromArray(F, xt, x);
            FloatVector x1 = FloatVector.fromArray(F, xt, x + L);
            FloatVector x2 = FloatVector.fromArray(F, xt, x + 2 * L);
            FloatVector x3 = FloatVector.fromArray(F, xt, x + 3 * L);
            FloatVector b = FloatVector.broadcast(F, w[wo + k]);
            c00 = b.fma(x0, c00); c01 = b.fma(x1, c01); c02 = b.fma(x2, c02); c03 = b.fma(x3, c03);
            b = FloatVector.broadcast(F, w[w1 + k]);
            c10 = b.fma(x0, c10); c11 = b.fma(x1, c11); c12 = b.fma(x2, c12); c13 = b.fma(x3, c13);
            b = FloatVector.broadcast(F, w[w2 + k]);
            c20 = b.fma(x0, c20); c21 = b.fma(x1, c21); c22 = b.fma(x2, c22); c23 = b.fma(x3, c23);
            b = FloatVector.broadcast(F, w[w3 + k]);
            c30 = b.fma(x0, c30); c31 = b.fma(x1, c31); c32 = b.fma(x2, c32); c33 = b.fma(x3, c33);
            b = FloatVector.broadcast(F, w[w4 + k]);
            c40 = b.fma(x0, c40); c41 = b.fma(x1, c41); c42 = b.fma(x2, c42); c43 = b.fma(x3, c43);
            b = FloatVector.broadcast(F, w[w5 + k]);
            c50 = b.fma(x0, c50); c51 = b.fma(x1, c51); c52 = b.fma(x2, c52); c53 = b.fma(x3, c53);
        }
        c00.add(FloatVector.fromArray(F, acc, ao)).intoArray(acc, ao); c01.add(FloatVector.fromArray(F, acc, ao + L)).intoArray(acc, ao + L); c02.add(FloatVector.fromArray(F, acc, ao + 2 * L)).intoArray(acc, ao + 2 * L); c03.add(FloatVector.fromArray(F, acc, ao + 3 * L)).intoArray(acc, ao + 3 * L);
        c10.add(FloatVector.fromArray(F, acc, a1)).intoArray(acc, a1); c11.add(FloatVector.fromArray(F, acc, a1 + L)).intoArray(acc, a1 + L); c12.add(FloatVector.fromArray(F, acc, a1 + 2 * L)).intoArray(acc, a1 + 2 * L); c13.add(FloatVector.fromArray(F, acc, a1 + 3 * L)).intoArray(acc, a1 + 3 * L);
        c20.add(FloatVector.fromArray(F, acc, a2)).intoArray(acc, a2); c21.add(FloatVector.fromArray(F, acc, a2 + L)).intoArray(acc, a2 + L); c22.add(FloatVector.fromArray(F, acc, a2 + 2 * L)).intoArray(acc, a2 + 2 * L); c23.add(FloatVector.fromArray(F, acc, a2 + 3 * L)).intoArray(acc, a2 + 3 * L);
        c30.add(FloatVector.fromArray(F, acc, a3)).intoArray(acc, a3); c31.add(FloatVector.fromArray(F, acc, a3 + L)).intoArray(acc, a3 + L); c32.add(FloatVector.fromArray(F, acc, a3 + 2 * L)).intoArray(acc, a3 + 2 * L); c33.add(FloatVector.fromArray(F, acc, a3 + 3 * L)).intoArray(acc, a3 + 3 * L);
        c40.add(FloatVector.fromArray(F, acc, a4)).intoArray(acc, a4); c41.add(FloatVector.fromArray(F, acc, a4 + L)).intoArray(acc, a4 + L); c42.add(FloatVector.fromArray(F, acc, a4 + 2 * L)).intoArray(acc, a4 + 2 * L); c43.add(FloatVector.fromArray(F, acc, a4 + 3 * L)).intoArray(acc, a4 + 3 * L);
        c50.add(FloatVector.fromArray(F, acc, a5)).intoArray(acc, a5); c51.add(FloatVector.fromArray(F, acc, a5 + L)).intoArray(acc, a5 + L); c52.add(FloatVector.fromArray(F, acc, a5 + 2 * L)).intoArray(acc, a5 + 2 * L); c53.add(FloatVector.fromArray(F, acc, a5 + 3 * L)).intoArray(acc, a5 + 3 * L);
    }

    private static void tile6x2(float[] w, int wo, int ws, int len, float[] xt, int xo, int stride, float[] acc, int ao) {
        int w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws, w4 = w3 + ws, w5 = w4 + ws;
        int a1 = ao + stride, a2 = a1 + stride, a3 = a2 + stride, a4 = a3 + stride, a5 = a4 + stride;
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        for (int k = 0; k < len; k++) {
            int x = xo + k * stride;
            FloatVector x0 = FloatVector.fromArray(F, xt, x);
            FloatVector x1 = FloatVector.fromArray(F, xt, x + L);
            FloatVector b = FloatVector.broadcast(F, w[wo + k]);
            c00 = b.fma(x0, c00); c01 = b.fma(x1, c01);
            b = FloatVector.broadcast(F, w[w1 + k]);
            c10 = b.fma(x0, c10); c11 = b.fma(x1, c11);
            b = FloatVector.broadcast(F, w[w2 + k]);
            c20 = b.fma(x0, c20); c21 = b.fma(x1, c21);
            b = FloatVector.broadcast(F, w[w3 + k]);
            c30 = b.fma(x0, c30); c31 = b.fma(x1, c31);
            b = FloatVector.broadcast(F, w[w4 + k]);
            c40 = b.fma(x0, c40); c41 = b.fma(x1, c41);
            b = FloatVector.broadcast(F, w[w5 + k]);
            c50 = b.fma(x0, c50); c51 = b.fma(x1, c51);
        }
        c00.add(FloatVector.fromArray(F, acc, ao)).intoArray(acc, ao); c01.add(FloatVector.fromArray(F, acc, ao + L)).intoArray(acc, ao + L);
        c10.add(FloatVector.fromArray(F, acc, a1)).intoArray(acc, a1); c11.add(FloatVector.fromArray(F, acc, a1 + L)).intoArray(acc, a1 + L);
        c20.add(FloatVector.fromArray(F, acc, a2)).intoArray(acc, a2); c21.add(FloatVector.fromArray(F, acc, a2 + L)).intoArray(acc, a2 + L);
        c30.add(FloatVector.fromArray(F, acc, a3)).intoArray(acc, a3); c31.add(FloatVector.fromArray(F, acc, a3 + L)).intoArray(acc, a3 + L);
        c40.add(FloatVector.fromArray(F, acc, a4)).intoArray(acc, a4); c41.add(FloatVector.fromArray(F, acc, a4 + L)).intoArray(acc, a4 + L);
        c50.add(FloatVector.fromArray(F, acc, a5)).intoArray(acc, a5); c51.add(FloatVector.fromArray(F, acc, a5 + L)).intoArray(acc, a5 + L);
    }

    private static void tile6x1(float[] w, int wo, int ws, int len, float[] xt, int xo, int stride, float[] acc, int ao) {
        int w1 = wo + ws, w2 = w1 + ws, w3 = w2 + ws, w4 = w3 + ws, w5 = w4 + ws;
        int a1 = ao + stride, a2 = a1 + stride, a3 = a2 + stride, a4 = a3 + stride, a5 = a4 + stride;
        FloatVector c0 = FloatVector.zero(F), c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F), c3 = FloatVector.zero(F);
        FloatVector c4 = FloatVector.zero(F), c5 = FloatVector.zero(F);
        for (int k = 0; k < len; k++) {
            FloatVector x0 = FloatVector.fromArray(F, xt, xo + k * stride);
            c0 = FloatVector.broadcast(F, w[wo + k]).fma(x0, c0);
            c1 = FloatVector.broadcast(F, w[w1 + k]).fma(x0, c1);
            c2 = FloatVector.broadcast(F, w[w2 + k]).fma(x0, c2);
            c3 = FloatVector.broadcast(F, w[w3 + k]).fma(x0, c3);
            c4 = FloatVector.broadcast(F, w[w4 + k]).fma(x0, c4);
            c5 = FloatVector.broadcast(F, w[w5 + k]).fma(x0, c5);
        }
        c0.add(FloatVector.fromArray(F, acc, ao)).intoArray(acc, ao); c1.add(FloatVector.fromArray(F, acc, a1)).intoArray(acc, a1); c2.add(FloatVector.fromArray(F, acc, a2)).intoArray(acc, a2);
        c3.add(FloatVector.fromArray(F, acc, a3)).intoArray(acc, a3); c4.add(FloatVector.fromArray(F, acc, a4)).intoArray(acc, a4); c5.add(FloatVector.fromArray(F, acc, a5)).intoArray(acc, a5);
    }

    private static void tile1x1(float[] w, int wo, int len, float[] xt, int xo, int stride, float[] acc, int ao) {
        FloatVector c = FloatVector.zero(F);
        for (int k = 0; k < len; k++) c = FloatVector.broadcast(F, w[wo + k]).fma(FloatVector.fromArray(F, xt, xo + k * stride), c);
        c.add(FloatVector.fromArray(F, acc, ao)).intoArray(acc, ao);
    }
}
