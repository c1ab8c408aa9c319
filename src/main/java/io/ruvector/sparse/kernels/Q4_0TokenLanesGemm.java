package io.ruvector.sparse.kernels;

import io.ruvector.sparse.quant.Q4_0;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Batched product of a Q4_0 matrix with many tokens whose activations are quantized to int8 blocks
 * ({@link Q8Activation}), multiplied in 16-bit integer lanes: the int8 counterpart of {@link TokenLanesGemm}.
 *
 * <p>Tokens sit in the lanes of a vector of shorts (32 at 512 bits); each signed weight code ({@code code - 8},
 * in [-8, 7]) is broadcast and multiplied with a vector of activation codes, and a block's 32 products add up
 * exactly in 16 bits (32 * 8 * 127 = 32512). A 16-bit multiply and add do twice the work of a float FMA per
 * instruction; in a scratch benchmark a 6-row tile ran 1.27x faster than {@link TokenLanesTile}'s float tile
 * (73 against 58 multiply-adds per ns, one core, in cache). After each block the sums are widened, converted,
 * multiplied by the block's weight scale times the token's activation scale and added, in block order, to float
 * sums: operation for operation {@link Q4_0#dotQ8Scalar}, so every output equals that reference bit for bit
 * (and the single-token products of {@code InterleavedQ4_0}), for any tiling, width or thread count.
 *
 * <p>Blocking as in {@link TokenLanesGemm}: panels of {@link #PANEL_ROWS} rows keep their float sums in scratch,
 * columns are walked in steps of {@link #BLOCK_COLUMNS}, each 4-row tile is decoded ({@link Q4_0#decodeCodes})
 * and multiplied with the packed activations of the step.
 */
final class Q4_0TokenLanesGemm {

    private static final VectorSpecies<Short> S = Simd.S;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final int LS = S.length();
    private static final int LF = F.length();
    private static final int QK = Q8Activation.BLOCK;

    /** Rows per full tile. */
    static final int TILE_ROWS = 4;
    /** Rows whose float sums stay in scratch while the columns are walked. */
    static final int PANEL_ROWS = 3 * TILE_ROWS;
    /** Columns decoded and multiplied per step (whole blocks); see {@link TokenLanesGemm#BLOCK_COLUMNS}. */
    static final int BLOCK_COLUMNS = 2048;
    /** Tokens per tile: two vectors of shorts. Fewer tokens than this would leave most lanes empty. */
    static final int MIN_TOKENS = 2 * LS;

    /** Per-thread scratch: decoded codes of a tile; their scales; the panel's float sums. */
    private static final ThreadLocal<Object[]> SCRATCH =
            ThreadLocal.withInitial(() -> new Object[] {new short[0], new float[0], new float[0]});

    private Q4_0TokenLanesGemm() {}

    /** Tokens per packed column for {@code n} tokens: {@code n} rounded up to whole tiles. */
    static int stride(int n) { return (n + MIN_TOKENS - 1) / MIN_TOKENS * MIN_TOKENS; }

    /**
     * Rows [from, to) of {@code w} times {@code n} tokens packed by {@link Q8Activation#packTokenLanes} with
     * {@link #stride}: {@code out[outOffset + t*rows + r] = row r . token t}.
     */
    static void rows(Tensor w, short[] codes, float[] scales, int n, float[] out, int outOffset, int from, int to) {
        Q4_0 type = (Q4_0) w.type();
        int cols = w.cols();
        int rows = w.rows();
        int stride = stride(n);
        int block = Math.min(cols, BLOCK_COLUMNS);
        Object[] scratch = SCRATCH.get();
        if (((short[]) scratch[0]).length < TILE_ROWS * block) {
            scratch[0] = new short[TILE_ROWS * block];
            scratch[1] = new float[TILE_ROWS * block / QK];
        }
        if (((float[]) scratch[2]).length < PANEL_ROWS * stride) scratch[2] = new float[PANEL_ROWS * stride];
        short[] wc = (short[]) scratch[0];
        float[] wd = (float[]) scratch[1];
        float[] sums = (float[]) scratch[2];
        for (int p = from; p < to; p += PANEL_ROWS) {
            int panelRows = Math.min(PANEL_ROWS, to - p);
            Arrays.fill(sums, 0, panelRows * stride, 0f);
            for (int k = 0; k < cols; k += block) {
                int kc = Math.min(block, cols - k);
                int nb = kc / QK;
                long skip = type.rowBytes(k);
                for (int g = 0; g < panelRows; g += TILE_ROWS) {
                    int tileRows = Math.min(TILE_ROWS, panelRows - g);
                    for (int i = 0; i < tileRows; i++) {
                        type.decodeCodes(w.data(), w.rowOffset(p + g + i) + skip, wc, i * kc, wd, i * nb, kc);
                    }
                    for (int t = 0; t < stride; t += MIN_TOKENS) {
                        if (tileRows == TILE_ROWS) {
                            tile4(wc, wd, kc, codes, scales, k, stride, t, sums, g * stride + t);
                        } else {
                            for (int i = 0; i < tileRows; i++) {
                                tile1(wc, wd, kc, i, codes, scales, k, stride, t, sums, (g + i) * stride + t);
                            }
                        }
                    }
                }
            }
            for (int t = 0; t < n; t++) {
                int o = outOffset + t * rows + p;
                for (int i = 0; i < panelRows; i++) out[o + i] = sums[i * stride + t];
            }
        }
    }

    /**
     * Four rows x {@link #MIN_TOKENS} tokens over the {@code kc} columns of a step starting at column {@code k}:
     * 8 vectors of 16-bit sums stay in registers through a block, then each is widened, scaled and added to
     * its float sums in {@code sums} (L1-resident). Written out by hand, conversions included: nothing here may
     * call a method that is not inlined (a vector passed to a call is boxed). Keeping the float sums in
     * registers too (4 rows) measured slower in this method: C2 then boxed vectors.
     */
    private static void tile4(short[] wc, float[] wd, int kc, short[] xc, float[] xs, int k, int stride, int t,
                              float[] sums, int so) {
        int nb = kc / QK;
        int s0 = so + 0 * stride, w0 = 0 * kc;
        int s1 = so + 1 * stride, w1 = 1 * kc;
        int s2 = so + 2 * stride, w2 = 2 * kc;
        int s3 = so + 3 * stride, w3 = 3 * kc;
        for (int b = 0; b < nb; b++) {
            ShortVector a00 = ShortVector.zero(S), a01 = ShortVector.zero(S);
            ShortVector a10 = ShortVector.zero(S), a11 = ShortVector.zero(S);
            ShortVector a20 = ShortVector.zero(S), a21 = ShortVector.zero(S);
            ShortVector a30 = ShortVector.zero(S), a31 = ShortVector.zero(S);
            int c0 = b * QK;
            for (int j = 0; j < QK; j++) {
                int x = (k + c0 + j) * stride + t;
                ShortVector x0 = ShortVector.fromArray(S, xc, x);
                ShortVector x1 = ShortVector.fromArray(S, xc, x + LS);
                short v0 = wc[w0 + c0 + j];
                a00 = a00.add(x0.mul(v0));
                a01 = a01.add(x1.mul(v0));
                short v1 = wc[w1 + c0 + j];
                a10 = a10.add(x0.mul(v1));
                a11 = a11.add(x1.mul(v1));
                short v2 = wc[w2 + c0 + j];
                a20 = a20.add(x0.mul(v2));
                a21 = a21.add(x1.mul(v2));
                short v3 = wc[w3 + c0 + j];
                a30 = a30.add(x0.mul(v3));
                a31 = a31.add(x1.mul(v3));
            }
            int xb = (k / QK + b) * stride + t;
            FloatVector d0 = FloatVector.fromArray(F, xs, xb), d1 = FloatVector.fromArray(F, xs, xb + LF);
            FloatVector d2 = FloatVector.fromArray(F, xs, xb + LS), d3 = FloatVector.fromArray(F, xs, xb + LS + LF);
            // sum * (d_w * d_x), then +, as Q4_0.dotQ8Scalar: d_x * d_w is the same float product.
            float e0 = wd[0 * nb + b];
            FloatVector.fromArray(F, sums, s0).add(((FloatVector) ((IntVector) a00.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(d0.mul(e0))).intoArray(sums, s0);
            FloatVector.fromArray(F, sums, s0 + LF).add(((FloatVector) ((IntVector) a00.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(d1.mul(e0))).intoArray(sums, s0 + LF);
            FloatVector.fromArray(F, sums, s0 + LS).add(((FloatVector) ((IntVector) a01.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(d2.mul(e0))).intoArray(sums, s0 + LS);
            FloatVector.fromArray(F, sums, s0 + LS + LF).add(((FloatVector) ((IntVector) a01.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(d3.mul(e0))).intoArray(sums, s0 + LS + LF);
            float e1 = wd[1 * nb + b];
            FloatVector.fromArray(F, sums, s1).add(((FloatVector) ((IntVector) a10.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(d0.mul(e1))).intoArray(sums, s1);
            FloatVector.fromArray(F, sums, s1 + LF).add(((FloatVector) ((IntVector) a10.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(d1.mul(e1))).intoArray(sums, s1 + LF);
            FloatVector.fromArray(F, sums, s1 + LS).add(((FloatVector) ((IntVector) a11.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(d2.mul(e1))).intoArray(sums, s1 + LS);
            FloatVector.fromArray(F, sums, s1 + LS + LF).add(((FloatVector) ((IntVector) a11.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(d3.mul(e1))).intoArray(sums, s1 + LS + LF);
            float e2 = wd[2 * nb + b];
            FloatVector.fromArray(F, sums, s2).add(((FloatVector) ((IntVector) a20.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(d0.mul(e2))).intoArray(sums, s2);
            FloatVector.fromArray(F, sums, s2 + LF).add(((FloatVector) ((IntVector) a20.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(d1.mul(e2))).intoArray(sums, s2 + LF);
            FloatVector.fromArray(F, sums, s2 + LS).add(((FloatVector) ((IntVector) a21.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(d2.mul(e2))).intoArray(sums, s2 + LS);
            FloatVector.fromArray(F, sums, s2 + LS + LF).add(((FloatVector) ((IntVector) a21.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(d3.mul(e2))).intoArray(sums, s2 + LS + LF);
            float e3 = wd[3 * nb + b];
            FloatVector.fromArray(F, sums, s3).add(((FloatVector) ((IntVector) a30.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(d0.mul(e3))).intoArray(sums, s3);
            FloatVector.fromArray(F, sums, s3 + LF).add(((FloatVector) ((IntVector) a30.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(d1.mul(e3))).intoArray(sums, s3 + LF);
            FloatVector.fromArray(F, sums, s3 + LS).add(((FloatVector) ((IntVector) a31.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(d2.mul(e3))).intoArray(sums, s3 + LS);
            FloatVector.fromArray(F, sums, s3 + LS + LF).add(((FloatVector) ((IntVector) a31.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(d3.mul(e3))).intoArray(sums, s3 + LS + LF);
        }
    }

    /** Row {@code i} of the tile alone (panels whose row count is not a multiple of four), the same arithmetic. */
    private static void tile1(short[] wc, float[] wd, int kc, int i, short[] xc, float[] xs, int k, int stride, int t,
                              float[] sums, int so) {
        int nb = kc / QK;
        FloatVector f0 = FloatVector.fromArray(F, sums, so), f1 = FloatVector.fromArray(F, sums, so + LF);
        FloatVector f2 = FloatVector.fromArray(F, sums, so + LS), f3 = FloatVector.fromArray(F, sums, so + LS + LF);
        int wo = i * kc;
        for (int b = 0; b < nb; b++) {
            ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S);
            int c0 = b * QK;
            for (int j = 0; j < QK; j++) {
                int x = (k + c0 + j) * stride + t;
                short v = wc[wo + c0 + j];
                a0 = a0.add(ShortVector.fromArray(S, xc, x).mul(v));
                a1 = a1.add(ShortVector.fromArray(S, xc, x + LS).mul(v));
            }
            int xb = (k / QK + b) * stride + t;
            float e = wd[i * nb + b];
            f0 = f0.add(((FloatVector) ((IntVector) a0.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xs, xb).mul(e)));
            f1 = f1.add(((FloatVector) ((IntVector) a0.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xs, xb + LF).mul(e)));
            f2 = f2.add(((FloatVector) ((IntVector) a1.convertShape(VectorOperators.S2I, I, 0)).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xs, xb + LS).mul(e)));
            f3 = f3.add(((FloatVector) ((IntVector) a1.convertShape(VectorOperators.S2I, I, 1)).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xs, xb + LS + LF).mul(e)));
        }
        f0.intoArray(sums, so); f1.intoArray(sums, so + LF); f2.intoArray(sums, so + LS); f3.intoArray(sums, so + LS + LF);
    }
}
