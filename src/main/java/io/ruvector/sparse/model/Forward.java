package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.kernels.MatMul;

import java.util.List;

/**
 * The transformer forward pass of one session over a batch of consecutive tokens, with every buffer it
 * needs allocated once up front, so steady-state decoding allocates nothing.
 *
 * <p>Not thread-safe: the owning {@link Session} serializes calls. Work inside one call is spread over the
 * model's {@link Parallel} pool (shared by its sessions, one job at a time) by output rows (matrix products) and by heads (attention).
 */
final class Forward implements AutoCloseable {

    private final ModelConfig c;
    private final ModelWeights weights;
    private final List<LayerVectors> vectors;
    private final float[] outputNorm;
    private final List<? extends FeedForward> ffn;
    private final Rope rope;
    private final Rope localRope;   // the sliding-window layers' RoPE when it differs from rope's, else null
    private final AttentionSettings attentionSettings;
    private final float embeddingScale;   // 1, or sqrt(dim) for architectures that scale token embeddings
    private final KvCache kv;
    private final Parallel pool;
    private final MatMul mm;
    private final FfnContext ffnContext;
    private final int maxBatch;
    private final float attentionScale;

    // Activations of the batch in flight, token t's row at t * width.
    private final float[] x;        // residual stream [maxBatch x dim]
    private final float[] xn;       // normalized input of the current sub-block [maxBatch x dim]
    private final float[] delta;    // output of the current sub-block [maxBatch x dim]
    private final float[] q;        // [maxBatch x qDim]
    private final float[] k;        // [maxBatch x kvDim]
    private final float[] v;        // [maxBatch x kvDim]
    private final float[] attended; // attention output before its projection [maxBatch x qDim]
    private final float[] ropeTable;
    private final float[] localRopeTable;
    private final float[] scores;   // one row of attention weights per head [heads x capacity]

    // Arguments of the attention call in flight (read by the pool's threads).
    private final Parallel.RangeBody attentionBody = this::attentionHeads;
    private int attLayer;
    private int attPos;
    private int attTokens;
    private int attWindow;   // 0: the layer in flight sees every earlier position
    private int attHeadsPerUnit;   // query heads per unit of the attention's parallel range

    private final RowNorms norms;

    Forward(LanguageModel model, List<? extends FeedForward> ffn, int capacity) {
        this.c = model.config();
        this.weights = model.weights();
        this.vectors = model.layerVectors();
        this.outputNorm = model.outputNormVector();
        this.ffn = List.copyOf(ffn);
        this.rope = model.rope(capacity);
        this.localRope = model.localRope();
        this.attentionSettings = c.attention();
        this.embeddingScale = c.block().scaledEmbedding() ? (float) Math.sqrt(c.dim()) : 1f;
        ModelOptions o = model.options();
        this.maxBatch = o.batchSize();
        this.attentionScale = attentionSettings.queryScale();
        this.x = new float[maxBatch * c.dim()];
        this.xn = new float[maxBatch * c.dim()];
        this.delta = new float[maxBatch * c.dim()];
        this.q = new float[maxBatch * c.qDim()];
        this.k = new float[maxBatch * c.kvDim()];
        this.v = new float[maxBatch * c.kvDim()];
        this.attended = new float[maxBatch * c.qDim()];
        this.ropeTable = new float[maxBatch * rope.tableWidth()];
        this.localRopeTable = localRope == null ? null : new float[maxBatch * localRope.tableWidth()];
        this.scores = new float[Math.multiplyExact(c.heads(), capacity)];
        this.pool = model.pool();
        this.norms = new RowNorms(pool, c);
        this.mm = new MatMul(pool, o.newActivationRounding(), model.repacked());
        this.ffnContext = new FfnContext(c, maxBatch, mm);
        // Last: the only resource here that must be freed explicitly, so nothing after it can fail and leak it
        // (KvCache frees its own memory when its constructor fails).
        this.kv = new KvCache(c, capacity, o.kvCacheType());
    }

    int maxBatch() { return maxBatch; }

    int capacity() { return kv.capacity(); }

    FfnContext ffnContext() { return ffnContext; }

    /**
     * Runs {@code n <= maxBatch} tokens {@code tokens[from ..]} at positions {@code pos ..}, appending their
     * keys and values to the cache. Writes logits into {@code logits[logitsOffset ..]}: for every token
     * ({@code n * vocab} floats) when {@code allPositions}, else for the last token only; none when
     * {@code logits} is null (a prompt chunk that is not the last).
     */
    void run(int[] tokens, int from, int n, int pos, boolean allPositions, float[] logits, int logitsOffset) {
        int dim = c.dim();
        for (int t = 0; t < n; t++) weights.tokenEmbedding().dequantizeRow(tokens[from + t], x, t * dim);
        if (embeddingScale != 1f) for (int i = 0; i < n * dim; i++) x[i] *= embeddingScale;
        rope.angles(pos, n, ropeTable);
        if (localRope != null) localRope.angles(pos, n, localRopeTable);

        for (int l = 0; l < c.layers(); l++) {
            LayerWeights w = weights.layers().get(l);
            LayerVectors lv = vectors.get(l);
            boolean local = attentionSettings.local(l);
            Rope layerRope = local && localRope != null ? localRope : rope;
            float[] angles = local && localRope != null ? localRopeTable : ropeTable;

            // Attention: x += pn(wo . attention(rope(qn(wq . norm(x))), rope(kn(wk . norm(x))), wv . norm(x))),
            // qn and kn per-head norms and pn a post norm where the architecture has them (else identity), biases
            // where the file has them; a sliding window on the layers the architecture makes local
            normalize(x, lv.attnNorm(), xn, n);
            mm.multiply(w.wq(), q, w.wk(), k, w.wv(), v, xn, n);
            addBias(q, lv.bq(), n);
            addBias(k, lv.bk(), n);
            addBias(v, lv.bv(), n);
            normalizeHeads(q, lv.qNorm(), c.heads() * n);
            normalizeHeads(k, lv.kNorm(), c.kvHeads() * n);
            layerRope.rotate(q, c.heads(), n, angles);
            layerRope.rotate(k, c.kvHeads(), n, angles);
            kv.store(l, pos, n, k, v);
            attend(l, pos, n, local ? attentionSettings.window() : 0);
            mm.multiply(w.wo(), attended, 0, n, delta, 0);
            addToResidual(delta, lv.postAttnNorm(), n);

            // Feed-forward: x += pn(ffn(norm(x)))
            normalize(x, lv.ffnNorm(), xn, n);
            ffn.get(l).forward(l, xn, delta, n, ffnContext);
            addToResidual(delta, lv.postFfnNorm(), n);
        }

        if (logits == null) return;
        int rows = allPositions ? n : 1;
        if (allPositions) {
            normalize(x, outputNorm, xn, n);
        } else {
            VectorMath.rmsNorm(x, (n - 1) * dim, outputNorm, c.rmsEps(), xn, 0, dim);
        }
        mm.multiply(weights.output(), xn, 0, rows, logits, logitsOffset);
        softCap(logits, logitsOffset, rows * c.vocabSize(), attentionSettings.finalSoftCap());
    }

    /** x += the sub-block's output {@code delta}, RMS-normalized first when the block has a post norm (gemma). */
    private void addToResidual(float[] delta, float[] postNorm, int n) {
        norms.addToResidual(delta, postNorm, xn, x, n);   // xn is free here: the sub-block has read it
    }

    /** {@code v = cap * tanh(v / cap)} over {@code [from, from + count)}; nothing when {@code cap} is 0. */
    static void softCap(float[] v, int from, int count, float cap) {
        if (cap == 0) return;
        for (int i = from; i < from + count; i++) v[i] = cap * (float) Math.tanh(v[i] / cap);
    }

    // One token of a batch of sequences (BatchForward): this session's share of the step, in its own buffers.

    /** The feed-forward strategies of this session, one per layer. */
    List<? extends FeedForward> feedForward() { return ffn; }

    /** Starts a step of one token at {@code pos}: its rotation angles (and the sliding-window layers' own). */
    void beginStep(int pos) {
        rope.angles(pos, 1, ropeTable);
        if (localRope != null) localRope.angles(pos, 1, localRopeTable);
    }

    /**
     * Attention of this session's one token at {@code pos} in {@code layer}, as {@link #run} computes it for one
     * token: takes the token's projected query, key and value from row {@code i} of the batch's {@code q, k, v}
     * (biases added), applies the per-head norms and the rotation, appends key and value to the cache, attends, and
     * writes the attention output to row {@code i} of {@code out}.
     */
    void attendStep(int layer, int pos, float[] q, float[] k, float[] v, int i, float[] out) {
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        LayerVectors lv = vectors.get(layer);
        System.arraycopy(q, i * qDim, this.q, 0, qDim);
        System.arraycopy(k, i * kvDim, this.k, 0, kvDim);
        System.arraycopy(v, i * kvDim, this.v, 0, kvDim);
        boolean local = attentionSettings.local(layer);
        Rope layerRope = local && localRope != null ? localRope : rope;
        float[] angles = local && localRope != null ? localRopeTable : ropeTable;
        normalizeHeads(this.q, lv.qNorm(), c.heads());
        normalizeHeads(this.k, lv.kNorm(), c.kvHeads());
        layerRope.rotate(this.q, c.heads(), 1, angles);
        layerRope.rotate(this.k, c.kvHeads(), 1, angles);
        kv.store(layer, pos, 1, this.k, this.v);
        attend(layer, pos, 1, local ? attentionSettings.window() : 0);
        System.arraycopy(attended, 0, out, i * qDim, qDim);
    }

    /**
     * This session's feed-forward block for one token: row {@code i} of {@code in} through its own strategy and
     * context (as {@link #run} computes one token), the output to row {@code i} of {@code out}.
     */
    void feedForwardStep(int layer, float[] in, int i, float[] out) {
        int dim = c.dim();
        System.arraycopy(in, i * dim, xn, 0, dim);
        ffn.get(layer).forward(layer, xn, delta, 1, ffnContext);
        System.arraycopy(delta, 0, out, i * dim, dim);
    }

    private void normalize(float[] in, float[] weight, float[] out, int n) { norms.normalize(in, weight, out, n); }

    /** In-place RMS norm of each of {@code count} consecutive heads (qwen3's q/k norms); nothing when {@code weight} is null. */
    private void normalizeHeads(float[] rows, float[] weight, int count) {
        if (weight == null) return;
        int headDim = c.headDim();
        for (int h = 0; h < count; h++) VectorMath.rmsNorm(rows, h * headDim, weight, c.rmsEps(), rows, h * headDim, headDim);
    }

    static void addBias(float[] rows, float[] bias, int n) {
        if (bias == null) return;
        for (int t = 0; t < n; t++) VectorMath.add(bias, 0, rows, t * bias.length, bias.length);
    }

    /**
     * Causal attention of the batch's queries over the cache, one head per task; with a {@code window} > 0 a query
     * at p sees the positions p - window + 1 .. p only.
     */
    private void attend(int layer, int pos, int n, int window) {
        attLayer = layer;
        attPos = pos;
        attTokens = n;
        attWindow = window;
        // Per head and visible position: a dot and a multiply-add of headDim values and an exponential, counted as
        // ATTENTION_WORK_PER_VALUE per value. Counted as bare multiply-adds, a decoded token's attention stayed on
        // one thread through its first 32 positions (~11 us a layer at 16 positions, the other thread idle).
        long work = (long) c.heads() * c.headDim() * n * (pos + n) * ATTENTION_WORK_PER_VALUE;
        // Split by KV heads where there are enough of them to go round: the heads of one KV head share its cache rows,
        // which a decoded token reads cold from memory, so a thread that takes all of them reads each row once, and a
        // prompt transposes each KV head's keys once. Split by query heads, a decoded token's attention was no faster
        // on two threads than on one (both fetched the same rows); by KV heads ~10% faster (PERFORMANCE.md). Else
        // (few KV heads) by query heads.
        attHeadsPerUnit = c.kvHeads() >= 2 * pool.threads() ? c.groupSize() : 1;
        pool.forRange(c.heads() / attHeadsPerUnit, work, attentionBody);
    }

    /** Query heads {@code [from, to) * attHeadsPerUnit}: whole KV heads' groups, or single heads. */
    private void attentionHeads(int fromUnit, int toUnit) {
        int fromHead = fromUnit * attHeadsPerUnit;
        int toHead = toUnit * attHeadsPerUnit;
        if (attTokens >= TRANSPOSED_KEYS_MIN_TOKENS) {
            attentionHeadsTransposed(fromHead, toHead);
            return;
        }
        int headDim = c.headDim();
        int qDim = c.qDim();
        int group = c.groupSize();
        int capacity = kv.capacity();
        for (int h = fromHead; h < toHead; h++) {
            int kvHead = h / group;
            int row = h * capacity;
            for (int t = 0; t < attTokens; t++) {
                int last = attPos + t;   // a token sees every position up to its own (in its window)
                int first = firstVisible(last);
                int qOffset = t * qDim + h * headDim;
                for (int s = first; s <= last; s++) {
                    scores[row + s] = kv.dotKey(attLayer, kvHead, s, q, qOffset) * attentionScale;
                }
                softCap(scores, row + first, last + 1 - first, attentionSettings.softCap());
                VectorMath.softmax(scores, row + first, last + 1 - first);
                kv.weightedValues(attLayer, kvHead, first, scores, row + first, last + 1 - first, attended, qOffset);
            }
        }
    }

    /**
     * Prompt batches: the keys of a KV head are transposed once per run of heads that share it, then each
     * query's scores are plain multiply-adds against them ({@link VectorMath#transposedDots}), with no lane sum
     * per position. One dot per position with its lane sum was ~3% of a 64-token prompt.
     */
    private void attentionHeadsTransposed(int fromHead, int toHead) {
        int headDim = c.headDim();
        int qDim = c.qDim();
        int group = c.groupSize();
        int count = attPos + attTokens;
        int stride = (count + Simd.F.length() - 1) / Simd.F.length() * Simd.F.length();
        AttentionScratch scratch = ATTENTION_SCRATCH.get().ensure(headDim, stride);
        int built = -1;
        for (int h = fromHead; h < toHead; h++) {
            int kvHead = h / group;
            if (kvHead != built) {
                kv.transposedKeys(attLayer, kvHead, count, scratch.keys, stride, scratch.row);
                built = kvHead;
            }
            for (int t = 0; t < attTokens; t++) {
                int last = attPos + t;
                int first = firstVisible(last);
                int qOffset = t * qDim + h * headDim;
                VectorMath.transposedDots(q, qOffset, headDim, scratch.keys, stride, last + 1, attentionScale, scratch.scores);
                softCap(scratch.scores, first, last + 1 - first, attentionSettings.softCap());
                VectorMath.softmax(scratch.scores, first, last + 1 - first);
                kv.weightedValues(attLayer, kvHead, first, scratch.scores, first, last + 1 - first, attended, qOffset);
            }
        }
    }

    /** The first position a query at {@code last} attends to in the layer in flight. */
    private int firstVisible(int last) { return attWindow > 0 ? Math.max(0, last - attWindow + 1) : 0; }

    /**
     * Work units per head value and visible position in {@link #attend}'s estimate: the scores' dot, the values'
     * multiply-add, the exponential and the reads from the cache's rows (cold: the weights streamed since evicted
     * them) come to several times a weight product's multiply-add. With 4, a 32-head 64-wide layer is shared from its 8th position on.
     */
    static final int ATTENTION_WORK_PER_VALUE = 4;

    /** From this many tokens in a batch on, attention transposes the keys (below, one dot per position is cheaper). */
    static final int TRANSPOSED_KEYS_MIN_TOKENS = 8;

    /** Per-thread buffers of the transposed attention, grown once. */
    private static final class AttentionScratch {
        float[] keys = new float[0];
        float[] scores = new float[0];
        float[] row = new float[0];

        AttentionScratch ensure(int headDim, int stride) {
            if (keys.length < headDim * stride) keys = new float[headDim * stride];
            if (scores.length < stride) scores = new float[stride];
            if (row.length < headDim) row = new float[headDim];
            return this;
        }
    }

    private static final ThreadLocal<AttentionScratch> ATTENTION_SCRATCH = ThreadLocal.withInitial(AttentionScratch::new);

    /** Frees the cache and the strategies' per-session state; the pool is the model's and stays. */
    @Override
    public void close() {
        try {
            ffnContext.close();
        } finally {
            kv.close();
        }
    }
}
