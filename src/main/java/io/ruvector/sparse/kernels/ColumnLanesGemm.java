package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Batched product of a weight matrix with a few tokens (fewer than half a vector), as a float matrix-matrix
 * product blocked for the caches: each weight is decoded once per batch, by the type's vector decoder, and
 * multiplied with every token by {@link ColumnLanesTile}. Columns are in vector lanes, so no lane is wasted
 * however few the tokens; larger batches go to {@link TokenLanesGemm}, which needs no lane sums at the end.
 *
 * <p>Blocking, per thread over its slice of rows: a panel of rows keeps its running per-lane sums (panel rows x
 * tokens vectors, about {@link #SUMS_BYTES}) in scratch while the columns are walked in blocks of
 * {@link #BLOCK_COLUMNS}; within a column block every tile of the panel is decoded (into L1) and multiplied,
 * so the tokens' slice of that block is reused from cache by the whole panel.
 *
 * <p>Every output is computed whole by the thread that owns its row with one fixed arithmetic: per-lane FMA
 * chains over the columns in order, the lanes summed in the tree order of {@link #sumLanes}, then the columns
 * past the last whole vector added one by one. That is what {@link VectorMath}-style dots do for one token,
 * and it does not depend on the tile, panel or thread an output falls in.
 */
final class ColumnLanesGemm {

    /** Columns decoded and multiplied per step: 5 decoded rows (20 KB) stay in L1; shorter steps measured slower. */
    static final int BLOCK_COLUMNS = 1024;
    /** Scratch for a panel's running sums: L2-resident, leaving room for the tokens' column block. */
    static final int SUMS_BYTES = 192 * 1024;

    private static final VectorSpecies<Float> F = Simd.F;
    private static final int L = F.length();

    /** Per-thread scratch: decoded weights of one tile, then the panel's running sums. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[][] {new float[0], new float[0]});

    private ColumnLanesGemm() {}

    /**
     * Rows [from, to) of {@code w} times {@code n} tokens {@code x[xOffset + t*cols ..]}:
     * {@code out[outOffset + t*rows + r] = row r . token t}.
     */
    static void rows(Tensor w, float[] x, int xOffset, int n, float[] out, int outOffset, int from, int to) {
        TensorType type = w.type();
        int cols = w.cols();
        int rows = w.rows();
        int block = Math.min(cols, Math.max(type.blockSize(), BLOCK_COLUMNS / type.blockSize() * type.blockSize()));
        int sumsPerRow = n * L;
        int panel = Math.max(1, SUMS_BYTES / 4 / sumsPerRow / ColumnLanesTile.ROWS) * ColumnLanesTile.ROWS;
        float[][] scratch = SCRATCH.get();
        if (scratch[0].length < ColumnLanesTile.ROWS * block) scratch[0] = new float[ColumnLanesTile.ROWS * block];
        if (scratch[1].length < panel * sumsPerRow) scratch[1] = new float[panel * sumsPerRow];
        float[] decoded = scratch[0];
        float[] sums = scratch[1];
        for (int p = from; p < to; p += panel) {
            int panelRows = Math.min(panel, to - p);
            for (int k = 0; k < cols; k += block) {
                int kc = Math.min(block, cols - k);
                int kv = kc / L * L;   // whole vectors; only the last block can have a remainder
                long skip = type.rowBytes(k);   // k is a whole number of the type's blocks
                for (int g = 0; g < panelRows; g += ColumnLanesTile.ROWS) {
                    int tileRows = Math.min(ColumnLanesTile.ROWS, panelRows - g);
                    for (int i = 0; i < tileRows; i++) {
                        type.dequantizeVector(w.data(), w.rowOffset(p + g + i) + skip, decoded, i * kc, kc);
                    }
                    int so = g * sumsPerRow;
                    if (k == 0) Arrays.fill(sums, so, so + tileRows * sumsPerRow, 0f);
                    ColumnLanesTile.multiply(decoded, kc, kv, tileRows, x, xOffset + k, cols, n, sums, so);
                    if (k + kc == cols) {
                        for (int i = 0; i < tileRows; i++) {
                            finish(sums, so + i * sumsPerRow, n, decoded, i * kc + kv, x, xOffset + k + kv, cols, kc - kv,
                                    out, outOffset + p + g + i, rows);
                        }
                    }
                }
            }
        }
    }

    /**
     * One row's outputs for the n tokens: each token's lanes at {@code sums[si + t*L ..]} summed, then the
     * {@code count} columns past the last whole vector ({@code w[wo ..]} times {@code x[xo + t*cols ..]}) added,
     * written to {@code out[o + t*rows]}.
     */
    private static void finish(float[] sums, int si, int n, float[] w, int wo, float[] x, int xo, int cols, int count,
                               float[] out, int o, int rows) {
        int t = 0;
        for (; t + L <= n; t += L) {
            sumLanesOfVectors(sums, si + t * L);
            for (int j = 0; j < L; j++) {
                out[o + (t + j) * rows] = tail(sums[si + t * L + j], w, wo, x, xo + (t + j) * cols, count);
            }
        }
        for (; t < n; t++) out[o + t * rows] = tail(sumLanes(sums, si + t * L), w, wo, x, xo + t * cols, count);
    }

    /**
     * Lane sums of the L vectors at {@code v[at + j*L ..]} (j < L), left in order in {@code v[at .. at+L)}: the
     * tree of {@link #sumLanes} for all L at once. At each level, lanes i and i + h of each vector meet in one
     * add, after two-vector shuffles have paired them up; a scalar tree per output cost ~30% of the product.
     */
    static void sumLanesOfVectors(float[] v, int at) {
        int level = 0;
        for (int h = L >> 1, count = L; h > 0; h >>= 1, count >>= 1, level++) {
            FloatVector low = FloatVector.fromArray(F, PAIR_LOW, level * L);
            FloatVector high = FloatVector.fromArray(F, PAIR_HIGH, level * L);
            for (int m = 0; m < count >> 1; m++) {
                FloatVector a = FloatVector.fromArray(F, v, at + 2 * m * L);
                FloatVector b = FloatVector.fromArray(F, v, at + (2 * m + 1) * L);
                low.selectFrom(a, b).add(high.selectFrom(a, b)).intoArray(v, at + m * L);
            }
        }
    }

    /*
     * Shuffle indices (as floats, which selectFrom takes; >= L picks from the second vector) per level of
     * sumLanesOfVectors. At the level of half-width h an input vector holds L/(2h) segments of 2h partial sums,
     * one segment per token; output lane j = segment j/h, offset j%h, takes the segment's lane offset (LOW) and
     * offset + h (HIGH), from the first vector for the first L/(2h) segments, else from the second.
     */
    private static final float[] PAIR_LOW = pairIndices(0);
    private static final float[] PAIR_HIGH = pairIndices(1);

    private static float[] pairIndices(int high) {
        int levels = Integer.numberOfTrailingZeros(L);
        float[] idx = new float[Math.max(1, levels) * L];
        int level = 0;
        for (int h = L >> 1; h > 0; h >>= 1, level++) {
            int segments = L / (2 * h);
            for (int j = 0; j < L; j++) {
                int seg = j / h;
                int lane = (seg % segments) * 2 * h + high * h + j % h;
                idx[level * L + j] = seg < segments ? lane : L + lane;
            }
        }
        return idx;
    }

    /** Sum of one accumulator's lanes stored at {@code lanes[at ..]} (overwritten), in the tree order of {@link VectorMath#sum}. */
    static float sumLanes(float[] lanes, int at) {
        for (int half = L >> 1; half > 0; half >>= 1) {
            for (int i = 0; i < half; i++) lanes[at + i] += lanes[at + i + half];
        }
        return lanes[at];
    }

    /** {@code sum} plus the {@code count} products {@code a[ao + i] * b[bo + i]}, in order. */
    static float tail(float sum, float[] a, int ao, float[] b, int bo, int count) {
        for (int i = 0; i < count; i++) sum += a[ao + i] * b[bo + i];
        return sum;
    }
}
