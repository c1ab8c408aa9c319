package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Simd;
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
 * instruction: in scratch benchmarks the integer tile ran 1.27-1.4x faster than {@link TokenLanesTile}'s float
 * tile in cache, and the whole product measured 1.22x the float GEMM in JMH ({@code MatMulBenchmark}
 * {@code precision=AUTO}, 2048x5632, 64 tokens, 2 threads), 1.24x once {@link #flush} took four blocks at a
 * time. Each block's sums are widened, converted, multiplied by the block's weight scale times the token's
 * activation scale and added, in block order, to float sums: operation for operation
 * {@link Q4_0#dotQ8Scalar}, so every output equals that reference bit for bit (and the single-token products of
 * {@code InterleavedQ4_0}), for any tiling, width or thread count.
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
    /** How the packed codes pair tokens ({@link Q8Activation#packTokenLanes}): per vector of shorts. */
    static final int PAIRING = LS;
    /** Tokens per tile: two vectors of shorts. A batch is padded to whole tiles ({@link #stride}). */
    static final int MIN_TOKENS = 2 * LS;
    /**
     * Fewest tokens for which batches take this GEMM rather than the float one: more than one vector of shorts.
     * Its time per batch hardly depends on how full the tile is, the float GEMM's grows with the tokens:
     * at 512 bits, TinyLlama-shape Q4_0 prompts of 48 tokens ran 1.18x faster here (padded to 64) and prompts
     * of 32 tokens 0.82x as fast ({@code bench -p 48} and {@code -p 32 -n 0 -t 2 -r 3}, the two thresholds
     * alternating over 4 rounds). Against the previous threshold of a whole tile, prompts of 33 tokens ran 1.40x
     * and prompts of 100 tokens (a batch of 64, then 36) 1.09x as fast (the two builds alternating, 3 rounds).
     */
    static final int MIN_BATCH = LS + 1;
    /** Blocks whose 16-bit sums are flushed together (see {@link #flush}). */
    static final int FLUSH_BLOCKS = 4;

    /** Per-thread buffers, grown once. */
    private static final class Scratch {
        short[] codes = new short[0];                      // a tile's decoded codes
        float[] scales = new float[0];                     // and their block scales
        float[] sums = new float[0];                       // the panel's float sums
        final short[] acc = new short[FLUSH_BLOCKS * 2 * TILE_ROWS * LS];  // 16-bit sums of a tile, per block
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Q4_0TokenLanesGemm() {}

    /** Tokens per packed column for {@code n} tokens: {@code n} rounded up to whole tiles. */
    static int stride(int n) { return (n + MIN_TOKENS - 1) / MIN_TOKENS * MIN_TOKENS; }

    /**
     * Rows [from, to) of {@code w} times {@code n} tokens packed by {@link Q8Activation#packTokenLanes} with
     * {@link #stride} and {@link #PAIRING}: {@code out[outOffset + t*rows + r] = row r . token t}.
     */
    static void rows(Tensor w, short[] codes, float[] scales, int n, float[] out, int outOffset, int from, int to) {
        Q4_0 type = (Q4_0) w.type();
        int cols = w.cols();
        int rows = w.rows();
        int stride = stride(n);
        int block = Math.min(cols, BLOCK_COLUMNS);
        Scratch scratch = SCRATCH.get();
        if (scratch.codes.length < TILE_ROWS * block) {
            scratch.codes = new short[TILE_ROWS * block];
            scratch.scales = new float[TILE_ROWS * block / QK];
        }
        if (scratch.sums.length < PANEL_ROWS * stride) scratch.sums = new float[PANEL_ROWS * stride];
        short[] wc = scratch.codes;
        float[] wd = scratch.scales;
        float[] sums = scratch.sums;
        short[] acc = scratch.acc;
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
                            tile4(wc, wd, kc, codes, scales, k, stride, t, acc, sums, g * stride + t);
                        } else {
                            for (int i = 0; i < tileRows; i++) {
                                tile1(wc, wd, kc, i, codes, scales, k, stride, t, acc, sums, (g + i) * stride + t);
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
     * {@link #block4} leaves each block's 16-bit sums in {@code acc}, and {@link #flush} adds those of
     * {@link #FLUSH_BLOCKS} blocks at a time, scaled, to the float sums. Two small methods rather than one large
     * one: in one method (sums kept in registers across blocks, or flushed in place) C2 sometimes, depending on
     * what it had compiled before, gave up inlining part of the Vector API and boxed every vector (megabytes of
     * garbage per prompt); only arrays cross these calls.
     */
    private static void tile4(short[] wc, float[] wd, int kc, short[] xc, float[] xs, int k, int stride, int t,
                              short[] acc, float[] sums, int so) {
        int nb = kc / QK;
        for (int b = 0; b < nb; b += FLUSH_BLOCKS) {
            int blocks = Math.min(FLUSH_BLOCKS, nb - b);
            for (int q = 0; q < blocks; q++) {
                block4(wc, kc, (b + q) * QK, xc, (k + (b + q) * QK) * stride + t, stride, acc, q * 2 * TILE_ROWS * LS);
            }
            flush(acc, TILE_ROWS, blocks, wd, 0, nb, b, xs, (k / QK + b) * stride + t, sums, so, stride);
        }
    }

    /**
     * The 16-bit sums of one block for four rows: {@code acc[ao + (2i + v) * LS ..]} for row i, token vector v.
     * The weight codes are broadcast explicitly rather than passed as scalars ({@code v.mul(short)}): with the
     * scalar form, C2 compiled this method standalone (it is too big to inline) with the loaded activation
     * vectors boxed, 60 MB of garbage per 64-token prompt of a 2-layer test model under
     * {@code -XX:-TieredCompilation}, 11 MB in a tiered CI run; broadcast first, nothing is boxed.
     */
    private static void block4(short[] wc, int kc, int c0, short[] xc, int x0, int stride, short[] acc, int ao) {
        ShortVector a00 = ShortVector.zero(S), a01 = ShortVector.zero(S);
        ShortVector a10 = ShortVector.zero(S), a11 = ShortVector.zero(S);
        ShortVector a20 = ShortVector.zero(S), a21 = ShortVector.zero(S);
        ShortVector a30 = ShortVector.zero(S), a31 = ShortVector.zero(S);
        int w1 = kc, w2 = 2 * kc, w3 = 3 * kc;
        for (int j = 0; j < QK; j++) {
            int x = x0 + j * stride;
            ShortVector v0 = ShortVector.fromArray(S, xc, x);
            ShortVector v1 = ShortVector.fromArray(S, xc, x + LS);
            ShortVector e0 = ShortVector.broadcast(S, wc[c0 + j]), e1 = ShortVector.broadcast(S, wc[w1 + c0 + j]);
            ShortVector e2 = ShortVector.broadcast(S, wc[w2 + c0 + j]), e3 = ShortVector.broadcast(S, wc[w3 + c0 + j]);
            a00 = a00.add(v0.mul(e0));
            a01 = a01.add(v1.mul(e0));
            a10 = a10.add(v0.mul(e1));
            a11 = a11.add(v1.mul(e1));
            a20 = a20.add(v0.mul(e2));
            a21 = a21.add(v1.mul(e2));
            a30 = a30.add(v0.mul(e3));
            a31 = a31.add(v1.mul(e3));
        }
        a00.intoArray(acc, ao);
        a01.intoArray(acc, ao + LS);
        a10.intoArray(acc, ao + 2 * LS);
        a11.intoArray(acc, ao + 3 * LS);
        a20.intoArray(acc, ao + 4 * LS);
        a21.intoArray(acc, ao + 5 * LS);
        a30.intoArray(acc, ao + 6 * LS);
        a31.intoArray(acc, ao + 7 * LS);
    }

    /** Row {@code i} of the tile alone (panels whose row count is not a multiple of four), the same arithmetic. */
    private static void tile1(short[] wc, float[] wd, int kc, int i, short[] xc, float[] xs, int k, int stride, int t,
                              short[] acc, float[] sums, int so) {
        int nb = kc / QK;
        int wo = i * kc;
        for (int b = 0; b < nb; b++) {
            ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S);
            int c0 = wo + b * QK;
            int x0 = (k + b * QK) * stride + t;
            for (int j = 0; j < QK; j++) {
                int x = x0 + j * stride;
                ShortVector e = ShortVector.broadcast(S, wc[c0 + j]);
                a0 = a0.add(ShortVector.fromArray(S, xc, x).mul(e));
                a1 = a1.add(ShortVector.fromArray(S, xc, x + LS).mul(e));
            }
            a0.intoArray(acc, 0);
            a1.intoArray(acc, LS);
            flush(acc, 1, 1, wd, i, nb, b, xs, (k / QK + b) * stride + t, sums, so, stride);
        }
    }

    /**
     * Adds the 16-bit sums of {@code blocks} blocks from block {@code b0} on, for {@code rows} rows ({@code acc},
     * block q's row i and token vector v at {@code ((2 * rows) * q + 2i + v) * LS}) to the float sums at
     * {@code sums[so + i*stride ..]}: each widened, converted, times d_w * d_x, then added in block order, as
     * {@link Q4_0#dotQ8Scalar} does (d_x * d_w is the same float product). Row i's weight scales start at
     * {@code wd[(firstRow + i) * nb]}; the token scales of block b0 at {@code xs[xb0 ..]}, a block further
     * every {@code stride}.
     *
     * <p>Several blocks per call keep the float sums in registers between blocks and give the out-of-order core
     * independent work. Flushing one block at a time took a quarter of the product's time in a scratch benchmark
     * (one thread, 2048x5632, 64 tokens); flushing four together made TinyLlama-shape Q4_0 prompts 1.09x faster
     * ({@code bench -p 64 -n 0 -t 2 -r 3}, the two variants alternating, 6 rounds); eight were no faster than four.
     *
     * <p>The shorts are widened by shifts of their int view: the tokens were packed in pairs
     * ({@link Q8Activation#packTokenLanes} with a pairing of {@link #PAIRING}), so the low halves hold the
     * vector's first half of tokens in order and the high halves the second. Widening by lane conversion instead
     * (a cross-lane extract for the upper half) made the whole tile 2-5% slower in scratch benchmarks.
     */
    private static void flush(short[] acc, int rows, int blocks, float[] wd, int firstRow, int nb, int b0,
                              float[] xs, int xb0, float[] sums, int so, int stride) {
        for (int i = 0; i < rows; i++) {
            int o = so + i * stride;
            for (int v = 0; v < 2; v++) {
                int lane = o + v * LS;
                FloatVector low = FloatVector.fromArray(F, sums, lane);
                FloatVector high = FloatVector.fromArray(F, sums, lane + LF);
                for (int q = 0; q < blocks; q++) {
                    float dw = wd[(firstRow + i) * nb + b0 + q];
                    IntVector pairs = ShortVector.fromArray(S, acc, (2 * rows * q + 2 * i + v) * LS).reinterpretAsInts();
                    FloatVector lowSums = (FloatVector) pairs.lanewise(VectorOperators.LSHL, 16)
                            .lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
                    FloatVector highSums = (FloatVector) pairs.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0);
                    int scale = xb0 + q * stride + v * LS;
                    low = low.add(lowSums.mul(FloatVector.fromArray(F, xs, scale).mul(dw)));
                    high = high.add(highSums.mul(FloatVector.fromArray(F, xs, scale + LF).mul(dw)));
                }
                low.intoArray(sums, lane);
                high.intoArray(sums, lane + LF);
            }
        }
    }
}
