package io.ruvector.sparse.embedding;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.kernels.ErfGelu;
import io.ruvector.sparse.kernels.MatMul;
import io.ruvector.sparse.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * One encoder pass over several texts at once: their tokens are laid end to end (no padding), every weight
 * product takes all of them in one pass over the weights ({@link MatMul}), and attention stays within each text.
 * Working buffers grow with the largest batch seen. Not thread-safe: {@link EmbeddingModel} gives each caller
 * its own instance.
 *
 * <p>A bert block: {@code a = LN(x + O(attn(Qx+bq, Kx+bk, Vx+bv)) + bo)}, then
 * {@code x = LN(a + down(gelu(up a + bu)) + bd)} (post-norm, erf GELU as BERT was trained with). nomic-bert
 * rotates queries and keys instead of adding position embeddings and uses {@code down(silu(gate a) * up a)}.
 * Each output element is computed whole by one thread, so results do not depend on the thread count.
 */
final class BertForward {

    private final BertConfig c;
    private final BertWeights w;
    private final Parallel pool;
    private final MatMul mm;
    private final float[] ropeCos;   // [position * headDim/2 + i], or null
    private final float[] ropeSin;

    private float[] x = new float[0], q = x, k = x, v = x, att = x, tmp = x, h = x, g = x;
    private int capacity;

    // the batch in flight
    private int[] ids;
    private int[] positions;
    private int[] starts;
    private int[] lengths;
    private int tokens;
    private BertWeights.Layer layer;

    private final Parallel.RangeBody embedBody = this::embedTokens;
    private final Parallel.RangeBody qkvBody = this::qkvBiasAndRope;
    private final Parallel.RangeBody attentionBody = this::attention;
    private final Parallel.RangeBody attnOutBody = this::attentionResidual;
    private final Parallel.RangeBody upBody = this::activation;
    private final Parallel.RangeBody downBody = this::ffnResidual;

    BertForward(BertConfig c, BertWeights w, Parallel pool, float[] ropeCos, float[] ropeSin) {
        this.c = c;
        this.w = w;
        this.pool = pool;
        this.mm = new MatMul(pool);
        this.ropeCos = ropeCos;
        this.ropeSin = ropeSin;
    }

    /**
     * The pooled, L2-normalized embedding of each text ({@code texts.get(i)} holds its token ids, at most the
     * model's context, at least one).
     */
    float[][] embed(List<int[]> texts, Pooling pooling) {
        int n = texts.size();
        starts = new int[n];
        lengths = new int[n];
        int total = 0;
        for (int i = 0; i < n; i++) {
            starts[i] = total;
            lengths[i] = texts.get(i).length;
            total += lengths[i];
        }
        tokens = total;
        ids = new int[total];
        positions = new int[total];
        for (int i = 0; i < n; i++) {
            int[] t = texts.get(i);
            for (int p = 0; p < t.length; p++) {
                ids[starts[i] + p] = t[p];
                positions[starts[i] + p] = p;
            }
        }
        ensureCapacity(total);
        int d = c.dim();
        long rowWork = (long) d * 8;
        pool.forRange(total, total * rowWork, embedBody);
        for (BertWeights.Layer l : w.layers()) {
            layer = l;
            mm.multiply(l.wq(), q, l.wk(), k, l.wv(), v, x, total);
            pool.forRange(total, total * rowWork, qkvBody);
            long attnWork = 0;
            for (int len : lengths) attnWork += 4L * len * len * d;
            pool.forRange(n * c.heads(), attnWork, attentionBody);
            mm.multiply(l.wo(), att, 0, total, tmp, 0);
            pool.forRange(total, total * rowWork, attnOutBody);
            if (l.gate() != null) mm.multiply(l.gate(), g, l.up(), h, null, null, x, total);
            else mm.multiply(l.up(), x, 0, total, h, 0);
            pool.forRange(total, total * (long) c.ffnDim() * 16, upBody);
            mm.multiply(l.down(), h, 0, total, tmp, 0);
            pool.forRange(total, total * rowWork, downBody);
        }
        layer = null;
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) out[i] = normalize(pool(i, pooling));
        return out;
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) return;
        int d = c.dim();
        x = new float[n * d];
        q = new float[n * d];
        k = new float[n * d];
        v = new float[n * d];
        att = new float[n * d];
        tmp = new float[n * d];
        h = new float[n * c.ffnDim()];
        g = c.rotary() ? new float[n * c.ffnDim()] : g;
        capacity = n;
    }

    /** Token, token-type (0) and position embeddings, then LayerNorm, for tokens [from, to). */
    private void embedTokens(int from, int to) {
        int d = c.dim();
        Tensor positionTable = w.positions();
        float[] row = new float[d];
        for (int t = from; t < to; t++) {
            int o = t * d;
            w.tokenEmbedding().dequantizeRow(ids[t], tmp, o);
            if (w.tokenType0() != null) VectorMath.add(w.tokenType0(), 0, tmp, o, d);
            if (positionTable != null) {
                positionTable.dequantizeRow(positions[t], row, 0);
                VectorMath.add(row, 0, tmp, o, d);
            }
            layerNorm(tmp, o, w.embedNorm(), x, o);
        }
    }

    /** Biases of q, k, v and (nomic-bert) rotation of q and k, for tokens [from, to). */
    private void qkvBiasAndRope(int from, int to) {
        int d = c.dim();
        BertWeights.Layer l = layer;
        for (int t = from; t < to; t++) {
            int o = t * d;
            if (l.bq() != null) VectorMath.add(l.bq(), 0, q, o, d);
            if (l.bk() != null) VectorMath.add(l.bk(), 0, k, o, d);
            if (l.bv() != null) VectorMath.add(l.bv(), 0, v, o, d);
            if (ropeCos != null) {
                rotate(q, o, positions[t]);
                rotate(k, o, positions[t]);
            }
        }
    }

    /** NeoX RoPE on every head of one token: dimension i turns with i + headDim/2. */
    private void rotate(float[] a, int offset, int position) {
        int hd = c.headDim();
        int half = hd / 2;
        int table = position * half;
        for (int head = 0; head < c.heads(); head++) {
            int base = offset + head * hd;
            for (int i = 0; i < half; i++) {
                float cos = ropeCos[table + i];
                float sin = ropeSin[table + i];
                float x0 = a[base + i];
                float x1 = a[base + i + half];
                a[base + i] = x0 * cos - x1 * sin;
                a[base + i + half] = x0 * sin + x1 * cos;
            }
        }
    }

    /**
     * Attention of jobs [from, to), job = text * heads + head: every token of the text looks at all of them. The
     * head's keys and values are copied transposed (one row per dimension, positions along it), so a query's
     * scores and its output are long vector loops over positions rather than many short ones over the head.
     */
    private void attention(int from, int to) {
        int d = c.dim();
        int hd = c.headDim();
        float scale = (float) (1.0 / Math.sqrt(hd));
        int lanes = Simd.F.length();
        int maxLen = 0;
        for (int j = from; j < to; j++) maxLen = Math.max(maxLen, lengths[j / c.heads()]);
        int maxStride = (maxLen + lanes - 1) / lanes * lanes;
        float[] scores = new float[maxStride];
        float[] kt = new float[hd * maxStride];
        float[] vt = new float[hd * maxStride];
        for (int j = from; j < to; j++) {
            int text = j / c.heads();
            int headOffset = (j % c.heads()) * hd;
            int first = starts[text];
            int len = lengths[text];
            int stride = (len + lanes - 1) / lanes * lanes;
            for (int s = 0; s < len; s++) {
                int o = (first + s) * d + headOffset;
                for (int e = 0; e < hd; e++) {
                    kt[e * stride + s] = k[o + e];
                    vt[e * stride + s] = v[o + e];
                }
            }
            for (int e = 0; e < hd; e++) Arrays.fill(kt, e * stride + len, (e + 1) * stride, 0f);  // padding lanes
            for (int i = 0; i < len; i++) {
                int qo = (first + i) * d + headOffset;
                VectorMath.transposedDots(q, qo, hd, kt, stride, len, scale, scores);
                VectorMath.softmax(scores, 0, len);
                for (int e = 0; e < hd; e++) att[qo + e] = VectorMath.dot(scores, 0, vt, e * stride, len);
            }
        }
    }

    /** {@code x = LN(x + attention output + bias)} for tokens [from, to). */
    private void attentionResidual(int from, int to) {
        residualNorm(from, to, layer.bo(), layer.attnNorm());
    }

    /** {@code x = LN(x + ffn output + bias)} for tokens [from, to). */
    private void ffnResidual(int from, int to) {
        residualNorm(from, to, layer.downBias(), layer.outNorm());
    }

    private void residualNorm(int from, int to, float[] bias, BertWeights.Norm norm) {
        int d = c.dim();
        for (int t = from; t < to; t++) {
            int o = t * d;
            if (bias != null) VectorMath.add(bias, 0, tmp, o, d);
            VectorMath.add(x, o, tmp, o, d);
            layerNorm(tmp, o, norm, x, o);
        }
    }

    /** The feed-forward nonlinearity for tokens [from, to): erf GELU of up + bias, or SwiGLU. */
    private void activation(int from, int to) {
        int f = c.ffnDim();
        BertWeights.Layer l = layer;
        if (l.gate() != null) {
            ActivationType.SILU.gated(g, h, h, from * f, to * f);
            return;
        }
        float[] bias = l.upBias();
        for (int t = from; t < to; t++) {
            int o = t * f;
            if (bias != null) VectorMath.add(bias, 0, h, o, f);
            ErfGelu.apply(h, o, o + f);
        }
    }

    /** LayerNorm of {@code src[so .. so+dim)} into {@code dst[do ..]}; mean and variance in double. */
    private void layerNorm(float[] src, int so, BertWeights.Norm norm, float[] dst, int dOff) {
        int d = c.dim();
        double sum = 0;
        for (int i = 0; i < d; i++) sum += src[so + i];
        double mean = sum / d;
        double var = 0;
        for (int i = 0; i < d; i++) {
            double e = src[so + i] - mean;
            var += e * e;
        }
        double inv = 1.0 / Math.sqrt(var / d + c.normEps());
        float[] wt = norm.weight();
        float[] b = norm.bias();
        for (int i = 0; i < d; i++) dst[dOff + i] = (float) ((src[so + i] - mean) * inv) * wt[i] + b[i];
    }

    /** The pooled vector of text {@code i}. */
    private float[] pool(int i, Pooling pooling) {
        int d = c.dim();
        float[] out = new float[d];
        int first = starts[i];
        int len = lengths[i];
        switch (pooling) {
            case CLS -> System.arraycopy(x, first * d, out, 0, d);
            case LAST -> System.arraycopy(x, (first + len - 1) * d, out, 0, d);
            case MEAN -> {
                double[] sum = new double[d];
                for (int t = first; t < first + len; t++) {
                    for (int j = 0; j < d; j++) sum[j] += x[t * d + j];
                }
                for (int j = 0; j < d; j++) out[j] = (float) (sum[j] / len);
            }
            case NONE -> throw new IllegalStateException("no pooling");
        }
        return out;
    }

    /** {@code v / |v|} (a zero vector stays zero). */
    static float[] normalize(float[] v) {
        double sq = 0;
        for (float e : v) sq += (double) e * e;
        if (sq == 0) return v;
        double inv = 1.0 / Math.sqrt(sq);
        for (int i = 0; i < v.length; i++) v[i] = (float) (v[i] * inv);
        return v;
    }
}
