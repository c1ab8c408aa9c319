package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.kernels.MatMul;

import java.util.List;

/**
 * The forward pass of one token of each of several sessions in one pass over the weights
 * ({@link LanguageModel#evaluateTogether}): the sequences' activations are the columns of every product, computed
 * each as alone ({@link MatMul#eachColumnAlone()}); attention, and the feed-forward block of sessions that do not
 * use the model's dense one, run per session in that session's own buffers ({@link Forward#attendStep},
 * {@link Forward#feedForwardStep}).
 *
 * <p>A workspace for up to {@link #capacity()} sequences, allocated once; not thread-safe (the model hands it to
 * one call at a time).
 */
final class BatchForward {

    private final LanguageModel model;
    private final ModelConfig c;
    private final ModelWeights weights;
    private final List<LayerVectors> vectors;
    private final List<FeedForward> dense;
    private final float[] outputNorm;
    private final Parallel pool;
    private final MatMul mm;
    private final FfnContext ffnContext;
    private final int capacity;
    private final float embeddingScale;   // 1, or sqrt(dim) for architectures that scale token embeddings

    // Row i of each: sequence i.
    private final float[] x;
    private final float[] xn;
    private final float[] delta;
    private final float[] q;
    private final float[] k;
    private final float[] v;
    private final float[] attended;
    private final float[] logits;

    // The call in flight: its sessions (in the caller's order and in lock order) and tokens.
    private final Session[] sessions;
    private final Session[] lockOrder;
    private final Forward[] forwards;
    private final int[] positions;
    private int[] tokens;
    private int n;
    private final Runnable locked = this::compute;

    private final RowNorms norms;

    BatchForward(LanguageModel model, int capacity) {
        this.model = model;
        this.c = model.config();
        this.weights = model.weights();
        this.vectors = model.layerVectors();
        this.dense = model.denseFeedForward();
        this.outputNorm = model.outputNormVector();
        this.pool = model.pool();
        this.norms = new RowNorms(pool, c);
        this.capacity = capacity;
        this.embeddingScale = c.block().scaledEmbedding() ? (float) Math.sqrt(c.dim()) : 1f;
        ModelOptions o = model.options();
        this.mm = new MatMul(pool, o.newActivationRounding(), model.repacked()).eachColumnAlone();
        this.ffnContext = new FfnContext(c, capacity, mm);
        this.x = new float[capacity * c.dim()];
        this.xn = new float[capacity * c.dim()];
        this.delta = new float[capacity * c.dim()];
        this.q = new float[capacity * c.qDim()];
        this.k = new float[capacity * c.kvDim()];
        this.v = new float[capacity * c.kvDim()];
        this.attended = new float[capacity * c.qDim()];
        this.logits = new float[Math.multiplyExact(capacity, c.vocabSize())];
        this.sessions = new Session[capacity];
        this.lockOrder = new Session[capacity];
        this.forwards = new Forward[capacity];
        this.positions = new int[capacity];
    }

    int capacity() { return capacity; }

    /** Checks the sessions and tokens, locks the sessions (in creation order, so concurrent calls cannot deadlock) and runs the step. */
    void run(List<Session> list, int[] tokens) {
        int n = list.size();
        int vocab = c.vocabSize();
        try {
            for (int i = 0; i < n; i++) {
                Session s = list.get(i);
                if (s == null) throw new IllegalArgumentException("session " + i + " is null");
                if (s.model() != model) throw new IllegalArgumentException("session " + i + " belongs to another model");
                for (int j = 0; j < i; j++) {
                    if (sessions[j] == s) throw new IllegalArgumentException("session " + i + " is also session " + j + ": each may take one token per step");
                }
                if (tokens[i] < 0 || tokens[i] >= vocab) {
                    throw new IllegalArgumentException("token id " + tokens[i] + " of session " + i + " is outside the vocabulary [0, " + vocab + ")");
                }
                sessions[i] = s;
                // insertion into creation order
                int at = i;
                while (at > 0 && lockOrder[at - 1].id > s.id) {
                    lockOrder[at] = lockOrder[at - 1];
                    at--;
                }
                lockOrder[at] = s;
            }
            this.n = n;
            this.tokens = tokens;
            lockAndCompute(0);
        } finally {
            for (int i = 0; i < n; i++) {
                sessions[i] = null;
                lockOrder[i] = null;
                forwards[i] = null;
            }
            this.tokens = null;
        }
    }

    private void lockAndCompute(int i) {
        if (i == n) {
            locked.run();
            return;
        }
        synchronized (lockOrder[i]) {
            lockAndCompute(i + 1);
        }
    }

    /** The step, with every session locked. */
    private void compute() {
        for (int i = 0; i < n; i++) sessions[i].checkStep();
        int dim = c.dim();
        for (int i = 0; i < n; i++) {
            forwards[i] = sessions[i].forward();
            positions[i] = sessions[i].positionUnchecked();
            forwards[i].beginStep(positions[i]);
            weights.tokenEmbedding().dequantizeRow(tokens[i], x, i * dim);
        }
        if (embeddingScale != 1f) for (int i = 0; i < n * dim; i++) x[i] *= embeddingScale;

        for (int l = 0; l < c.layers(); l++) {
            LayerWeights w = weights.layers().get(l);
            LayerVectors lv = vectors.get(l);

            normalize(x, lv.attnNorm(), xn);
            mm.multiply(w.wq(), q, w.wk(), k, w.wv(), v, xn, n);
            addBias(q, lv.bq());
            addBias(k, lv.bk());
            addBias(v, lv.bv());
            for (int i = 0; i < n; i++) forwards[i].attendStep(l, positions[i], q, k, v, i, attended);
            mm.multiply(w.wo(), attended, 0, n, delta, 0);
            addToResidual(lv.postAttnNorm());

            normalize(x, lv.ffnNorm(), xn);
            if (sharesDenseFeedForward(l)) {
                dense.get(l).forward(l, xn, delta, n, ffnContext);
            } else {
                for (int i = 0; i < n; i++) forwards[i].feedForwardStep(l, xn, i, delta);
            }
            addToResidual(lv.postFfnNorm());
        }

        normalize(x, outputNorm, xn);
        mm.multiply(weights.output(), xn, 0, n, logits, 0);
        int vocab = c.vocabSize();
        Forward.softCap(logits, 0, n * vocab, c.attention().finalSoftCap());
        for (int i = 0; i < n; i++) {
            System.arraycopy(logits, i * vocab, sessions[i].logitsArray(), 0, vocab);
            sessions[i].advance();
        }
    }

    /** x += the sub-block's output {@code delta}, RMS-normalized first when the block has a post norm (gemma). */
    private void addToResidual(float[] postNorm) {
        norms.addToResidual(delta, postNorm, xn, x, n);   // xn is free here: the sub-block has read it
    }

    /** Whether every session computes layer {@code l}'s block with the model's dense strategy, unobserved. */
    private boolean sharesDenseFeedForward(int l) {
        FeedForward d = dense.get(l);
        for (int i = 0; i < n; i++) {
            if (forwards[i].feedForward().get(l) != d || forwards[i].ffnContext().observer() != null) return false;
        }
        return true;
    }

    private void addBias(float[] rows, float[] bias) { Forward.addBias(rows, bias, n); }

    private void normalize(float[] in, float[] weight, float[] out) { norms.normalize(in, weight, out, n); }
}
