package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.kernels.MatMul;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * A session's working memory for {@link FeedForward} strategies: shared scratch buffers sized for the
 * session's largest batch, its matrix kernel (over the model's thread pool), and the optional
 * {@link FfnObserver}.
 *
 * <p>Owned by one session and used from its thread only. Buffers are overwritten by every layer. Per-session
 * state a strategy keeps here ({@link #local}) that is {@link AutoCloseable} is closed with the session.
 */
public final class FfnContext {

    private final ModelConfig config;
    private final int maxBatch;
    private final MatMul matmul;
    private final float[] hidden;
    private final float[] up;
    private final float[] observedX;
    private final float[] observedH;
    private final Map<Object, Object> locals = new HashMap<>();
    private FfnObserver observer;

    FfnContext(ModelConfig config, int maxBatch, MatMul matmul) {
        this.config = config;
        this.maxBatch = maxBatch;
        this.matmul = matmul;
        this.hidden = new float[maxBatch * config.ffnDim()];
        this.up = new float[maxBatch * config.ffnDim()];
        this.observedX = new float[config.dim()];
        this.observedH = new float[config.ffnDim()];
    }

    public ModelConfig config() { return config; }

    /** Largest {@code n} passed to {@link FeedForward#forward}. */
    public int maxBatch() { return maxBatch; }

    /** The session's allocation-free matrix kernel (and through it the model's thread pool). */
    public MatMul matmul() { return matmul; }

    /** The model's thread pool, which this session shares with the model's other sessions. */
    public Parallel pool() { return matmul.pool(); }

    /** Scratch of {@code maxBatch * ffnDim} floats, for the hidden activation h. */
    public float[] hidden() { return hidden; }

    /** Second scratch of {@code maxBatch * ffnDim} floats, e.g. for the up projection. */
    public float[] up() { return up; }

    /** The observer, or null. */
    public FfnObserver observer() { return observer; }

    void setObserver(FfnObserver observer) { this.observer = observer; }

    /**
     * Passes token {@code t}'s input and hidden activation to the observer, if any, as exact-length arrays.
     *
     * @param x the block input of all tokens, {@code dim} floats per token
     * @param h the hidden activations of all tokens, {@code ffnDim} floats per token
     */
    public void observe(int layer, int t, float[] x, float[] h) {
        if (observer == null) return;
        System.arraycopy(x, t * config.dim(), observedX, 0, config.dim());
        System.arraycopy(h, t * config.ffnDim(), observedH, 0, config.ffnDim());
        observer.observe(layer, observedX, observedH);
    }

    /**
     * Per-session state of a strategy that needs more than the shared buffers: created by {@code create}
     * the first time {@code key} is asked for in this session, then the same object every time. Pass a
     * non-capturing {@code create} so the steady state allocates nothing. A value that is {@link AutoCloseable}
     * is closed when the session closes.
     */
    @SuppressWarnings("unchecked")
    public <T> T local(Object key, Function<FfnContext, T> create) {
        Object v = locals.get(key);
        if (v == null) {
            v = create.apply(this);
            locals.put(key, v);
        }
        return (T) v;
    }

    /** Closes the {@link AutoCloseable} locals (all of them, the first failure thrown with the others suppressed). */
    void close() {
        RuntimeException failure = null;
        for (Object v : locals.values()) {
            if (!(v instanceof AutoCloseable c)) continue;
            try {
                c.close();
            } catch (Exception e) {
                RuntimeException r = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                if (failure == null) failure = r;
                else failure.addSuppressed(r);
            }
        }
        locals.clear();
        if (failure != null) throw failure;
    }
}
