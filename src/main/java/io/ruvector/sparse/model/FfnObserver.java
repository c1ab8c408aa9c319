package io.ruvector.sparse.model;

/**
 * Sees every feed-forward evaluation of a session, e.g. to record activation statistics for calibration.
 *
 * <p>Called on the session's thread once per token and layer, in token order. The arrays are the
 * session's scratch buffers: valid only during the call, never to be modified or kept.
 */
@FunctionalInterface
public interface FfnObserver {

    /**
     * @param layer the transformer block
     * @param x     the RMS-normalized input of the block, {@code dim} values
     * @param h     the hidden activation before the down projection, {@code ffnDim} values:
     *              {@code act(gate . x) * (up . x)} (or {@code act(up . x)} without a gate)
     */
    void observe(int layer, float[] x, float[] h);
}
