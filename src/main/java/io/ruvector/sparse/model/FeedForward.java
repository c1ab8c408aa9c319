package io.ruvector.sparse.model;

/**
 * How one transformer block computes its feed-forward output: the pluggable strategy of the forward pass
 * ({@link DenseFeedForward} computes every row; a sparse strategy skips the rows predicted to be zero).
 *
 * <p>An instance belongs to one layer of one model and is shared by every session using it, so it must
 * keep no per-session state itself: per-session buffers come from the {@link FfnContext}.
 */
public interface FeedForward {

    /**
     * Computes the block's output for {@code n} tokens at once.
     *
     * @param layer the block index
     * @param x     the RMS-normalized inputs, token {@code t} at {@code x[t*dim .. (t+1)*dim)}; read only
     * @param out   receives the outputs, token {@code t} at {@code out[t*dim .. (t+1)*dim)} (overwritten,
     *              not accumulated)
     * @param n     tokens, 1 ≤ n ≤ {@link FfnContext#maxBatch()}
     * @param ctx   the session's scratch buffers, thread pool and observer
     */
    void forward(int layer, float[] x, float[] out, int n, FfnContext ctx);
}
