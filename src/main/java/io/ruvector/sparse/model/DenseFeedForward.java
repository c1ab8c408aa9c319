package io.ruvector.sparse.model;

import io.ruvector.sparse.kernels.MatMul;

/**
 * The feed-forward block computed in full:
 * {@code out = down . (act(gate . x) * (up . x))}, or {@code down . act(up . x)} without a gate.
 */
public final class DenseFeedForward implements FeedForward {

    private final LayerWeights weights;
    private final Activation activation;

    public DenseFeedForward(LayerWeights weights, Activation activation) {
        this.weights = weights;
        this.activation = activation;
    }

    @Override
    public void forward(int layer, float[] x, float[] out, int n, FfnContext ctx) {
        MatMul mm = ctx.matmul();
        float[] h = ctx.hidden();
        int size = n * ctx.config().ffnDim();
        if (weights.gate() != null) {
            float[] up = ctx.up();
            mm.multiply(weights.gate(), h, weights.up(), up, null, null, x, n);
            for (int i = 0; i < size; i++) h[i] = activation.apply(h[i]) * up[i];
        } else {
            mm.multiply(weights.up(), x, 0, n, h, 0);
            for (int i = 0; i < size; i++) h[i] = activation.apply(h[i]);
        }
        for (int t = 0; t < n; t++) ctx.observe(layer, t, x, h);
        mm.multiply(weights.down(), h, 0, n, out, 0);
    }
}
