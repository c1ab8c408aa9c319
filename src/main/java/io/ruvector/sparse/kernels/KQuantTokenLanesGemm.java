package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.quant.KQuantCodes;
import io.ruvector.sparse.quant.Q8KActivation;
import io.ruvector.sparse.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Batched product of a Q2_K, Q3_K or Q4_K matrix with many tokens quantized to Q8_K ({@link Q8KActivation}),
 * multiplied in 16-bit integer lanes: the K-quant counterpart of {@link Q4_0TokenLanesGemm}, whose blocking,
 * tiles and token packing it shares.
 *
 * <p>Each weight row of a column step is decoded once per batch to small integer codes with one integer scale
 * and min per run of 16 or 32 values ({@link KQuantCodes}). Tokens sit in the lanes of a vector of shorts; a
 * run's products of a code with an activation code (|q| &le; 127) add up exactly in 16 bits (at most 16 * 4 * 127
 * for Q2_K and Q3_K, 32 * 8 * 127 = 32512 for Q4_K's centred codes), so the tile needs no widening inside a run.
 * After the runs of a super-block, {@link #flush} widens each run's sums S_j to 32 bits, adds back the code offset
 * times the token's run sum B_j, weights them by the run scales ({@code I = sum scale_j * (S_j + offset * B_j)})
 * and the run sums by the run mins ({@code M = sum min_j * B_j}), exact in 32 bits (below 2^26), and adds
 * {@code dx * (d * I - dmin * M)} to the float sums: the integers of {@link KQuantCodes#dotQ8KScalar} and the same
 * float operations, so every output equals that reference bit for bit, for any tiling, width or thread count.
 */
final class KQuantTokenLanesGemm {

    private static final VectorSpecies<Short> S = Simd.S;
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final int LS = S.length();
    private static final int LF = F.length();
    private static final int QK = KQuantCodes.BLOCK;
    private static final int RUN = KQuantCodes.RUN;
    private static final int RUNS = KQuantCodes.RUNS;

    /** Rows per full tile. */
    static final int TILE_ROWS = Q4_0TokenLanesGemm.TILE_ROWS;
    /** Rows whose float sums stay in scratch while the columns are walked. */
    static final int PANEL_ROWS = Q4_0TokenLanesGemm.PANEL_ROWS;
    /** Columns decoded and multiplied per step (whole super-blocks). */
    static final int BLOCK_COLUMNS = 2048;
    /** How the packed codes pair tokens ({@link Q8KActivation#packTokenLanes}). */
    static final int PAIRING = LS;
    /** Tokens per tile: two vectors of shorts. */
    static final int MIN_TOKENS = 2 * LS;
    /** Fewest tokens for which batches take this GEMM: more than one vector of shorts, as for Q4_0. */
    static final int MIN_BATCH = Q4_0TokenLanesGemm.MIN_BATCH;

    /** Whether batches of {@code w} can take this GEMM. */
    static boolean supports(Tensor w) { return KQuantCodes.supports(w.ggmlType()) && w.cols() % QK == 0; }

    private static final class Scratch {
        short[] codes = new short[0];
        int[] scales = new int[0];
        int[] mins = new int[0];
        float[] d = new float[0];
        float[] dmin = new float[0];
        float[] sums = new float[0];
        final short[] acc = new short[RUNS * 2 * TILE_ROWS * LS];   // 16-bit sums of a tile, per run
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private KQuantTokenLanesGemm() {}

    /** Tokens per packed column for {@code n} tokens: {@code n} rounded up to whole tiles. */
    static int stride(int n) { return (n + MIN_TOKENS - 1) / MIN_TOKENS * MIN_TOKENS; }

    /**
     * Rows [from, to) of {@code w} times {@code n} tokens packed by {@link Q8KActivation#packTokenLanes} with
     * {@link #stride} and {@link #PAIRING} (codes, scales, sums of 16 and of 32 codes): {@code out[outOffset + t*rows + r] = row r . token t}.
     */
    static void rows(Tensor w, short[] xc, float[] xd, int[] xsum, int[] xpair, int n, float[] out, int outOffset, int from, int to) {
        GgmlType type = w.ggmlType();
        int len = KQuantCodes.runLength(type);
        int runs = QK / len;
        int[] bsum = len == RUN ? xsum : xpair;
        int cols = w.cols();
        int rows = w.rows();
        int stride = stride(n);
        int block = Math.min(cols, BLOCK_COLUMNS);
        Scratch sc = SCRATCH.get();
        if (sc.codes.length < TILE_ROWS * block) {
            sc.codes = new short[TILE_ROWS * block];
            sc.scales = new int[TILE_ROWS * block / RUN];
            sc.mins = new int[TILE_ROWS * block / RUN];
            sc.d = new float[TILE_ROWS * block / QK];
            sc.dmin = new float[TILE_ROWS * block / QK];
        }
        if (sc.sums.length < PANEL_ROWS * stride) sc.sums = new float[PANEL_ROWS * stride];
        float[] sums = sc.sums;
        for (int p = from; p < to; p += PANEL_ROWS) {
            int panelRows = Math.min(PANEL_ROWS, to - p);
            Arrays.fill(sums, 0, panelRows * stride, 0f);
            for (int k = 0; k < cols; k += block) {
                int kc = Math.min(block, cols - k);
                long skip = w.type().rowBytes(k);
                for (int g = 0; g < panelRows; g += TILE_ROWS) {
                    int tileRows = Math.min(TILE_ROWS, panelRows - g);
                    for (int i = 0; i < tileRows; i++) {
                        KQuantCodes.decode(type, w.data(), w.rowOffset(p + g + i) + skip, kc, sc.codes, i * kc,
                                sc.scales, sc.mins, i * (kc / len), sc.d, sc.dmin, i * (kc / QK));
                    }
                    for (int t = 0; t < stride; t += MIN_TOKENS) {
                        for (int b = 0; b < kc / QK; b++) {
                            int x0 = (k + b * QK) * stride + t;
                            if (tileRows == TILE_ROWS) {
                                for (int j = 0; j < runs; j++) {
                                    run4(sc.codes, kc, b * QK + j * len, len, xc, x0 + j * len * stride, stride, sc.acc,
                                            j * 2 * TILE_ROWS * LS);
                                }
                            } else {
                                for (int i = 0; i < tileRows; i++) {
                                    for (int j = 0; j < runs; j++) {
                                        run1(sc.codes, i * kc + b * QK + j * len, len, xc, x0 + j * len * stride, stride, sc.acc,
                                                (j * 2 * TILE_ROWS + 2 * i) * LS);
                                    }
                                }
                            }
                            flush(sc, tileRows, runs, KQuantCodes.offset(type), kc, b, xd, bsum,
                                    (k / QK + b) * stride + t, ((k + b * QK) / len) * stride + t, stride, sums, g * stride + t);
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
     * The 16-bit sums of one run (16 columns from {@code c0}) for four rows: {@code acc[ao + (2i + v) * LS ..]}
     * for row i, token vector v. Weight codes are broadcast explicitly (see {@link Q4_0TokenLanesGemm}: the
     * scalar form of {@code mul} got the activation vectors boxed when C2 compiled the method standalone).
     */
    private static void run4(short[] wc, int kc, int c0, int len, short[] xc, int x0, int stride, short[] acc, int ao) {
        ShortVector a00 = ShortVector.zero(S), a01 = ShortVector.zero(S);
        ShortVector a10 = ShortVector.zero(S), a11 = ShortVector.zero(S);
        ShortVector a20 = ShortVector.zero(S), a21 = ShortVector.zero(S);
        ShortVector a30 = ShortVector.zero(S), a31 = ShortVector.zero(S);
        int w1 = kc, w2 = 2 * kc, w3 = 3 * kc;
        for (int j = 0; j < len; j++) {
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

    /** One row's run alone (tiles of fewer than four rows), the same arithmetic: {@code acc[ao ..]}, two vectors. */
    private static void run1(short[] wc, int c0, int len, short[] xc, int x0, int stride, short[] acc, int ao) {
        ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S);
        for (int j = 0; j < len; j++) {
            int x = x0 + j * stride;
            ShortVector e = ShortVector.broadcast(S, wc[c0 + j]);
            a0 = a0.add(ShortVector.fromArray(S, xc, x).mul(e));
            a1 = a1.add(ShortVector.fromArray(S, xc, x + LS).mul(e));
        }
        a0.intoArray(acc, ao);
        a1.intoArray(acc, ao + LS);
    }

    /**
     * Adds super-block {@code b} of the step, for {@code rows} rows of the tile, to the float sums at
     * {@code sums[so + i*stride ..]}: the {@code runs} runs' 16-bit sums ({@code acc}, run j's row i and token
     * vector v at {@code (j * 2 * TILE_ROWS + 2i + v) * LS}) widened, plus {@code offset} times the tokens' run
     * sums ({@code bsum} from {@code xr}, a run further every {@code stride}), weighted by the run scales, and the
     * run sums by the run mins, both in 32 bits; then {@code dx * (d * I - dmin * M)} in float. The shorts widen
     * by shifts of their int view, as in {@link Q4_0TokenLanesGemm}: the pairing puts a vector's first half of
     * tokens in the low halves. The 32-bit multiplies run on the unit of the tile's 16-bit ones; Q4_K's runs of
     * 32 (its centred codes) need half as many as runs of 16 would.
     */
    private static void flush(Scratch sc, int rows, int runs, int offset, int kc, int b, float[] xd,
                              int[] bsum, int xb, int xr, int stride, float[] sums, int so) {
        // No branch on the weight type: one file mixes Q2_K, Q3_K and Q4_K matrices, and with branches on mins and
        // offset this method was deoptimized and recompiled about six times per prompt run as new types reached
        // it. Q3_K's mins are 0 (M = 0, and subtracting dmin * M = +0 changes no bit) and Q2_K's and Q3_K's offset
        // is 0: the same integers and floats either way.
        short[] acc = sc.acc;
        for (int i = 0; i < rows; i++) {
            int wr = (i * kc / QK + b) * runs;
            float d = sc.d[i * (kc / QK) + b];
            float dmin = sc.dmin[i * (kc / QK) + b];
            for (int v = 0; v < 2; v++) {
                IntVector low = IntVector.zero(I), high = IntVector.zero(I);
                IntVector lowM = IntVector.zero(I), highM = IntVector.zero(I);
                for (int j = 0; j < runs; j++) {
                    IntVector pairs = ShortVector.fromArray(S, acc, (j * 2 * TILE_ROWS + 2 * i + v) * LS).reinterpretAsInts();
                    int x = xr + j * stride + v * LS;
                    IntVector bl = IntVector.fromArray(I, bsum, x), bh = IntVector.fromArray(I, bsum, x + LF);
                    IntVector l = pairs.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(bl.mul(offset));
                    IntVector h = pairs.lanewise(VectorOperators.ASHR, 16).add(bh.mul(offset));
                    IntVector scale = IntVector.broadcast(I, sc.scales[wr + j]);
                    IntVector m = IntVector.broadcast(I, sc.mins[wr + j]);
                    low = low.add(l.mul(scale));
                    high = high.add(h.mul(scale));
                    lowM = lowM.add(bl.mul(m));
                    highM = highM.add(bh.mul(m));
                }
                int lane = so + i * stride + v * LS;
                FloatVector lowSum = ((FloatVector) low.convertShape(VectorOperators.I2F, F, 0)).mul(d)
                        .sub(((FloatVector) lowM.convertShape(VectorOperators.I2F, F, 0)).mul(dmin));
                FloatVector highSum = ((FloatVector) high.convertShape(VectorOperators.I2F, F, 0)).mul(d)
                        .sub(((FloatVector) highM.convertShape(VectorOperators.I2F, F, 0)).mul(dmin));
                int x = xb + v * LS;
                FloatVector.fromArray(F, xd, x).mul(lowSum).add(FloatVector.fromArray(F, sums, lane)).intoArray(sums, lane);
                FloatVector.fromArray(F, xd, x + LF).mul(highSum).add(FloatVector.fromArray(F, sums, lane + LF))
                        .intoArray(sums, lane + LF);
            }
        }
    }
}
