package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.kernels.MatMul;
import io.ruvector.sparse.kernels.TransposedProduct;

/**
 * The feed-forward block computed in full:
 * {@code out = down . (act(gate . x) * (up . x))}, or {@code down . act(up . x)} without a gate; with the down
 * projection stored transposed ({@link LayerWeights#downT()}), by {@link TransposedProduct}.
 *
 * <p>The hidden activation goes through {@link ActivationType#gated(float[], float[], float[], int)}, the one
 * path the sparse feed-forward block also takes, so a neuron's value is the same bits in both.
 */
public final class DenseFeedForward implements FeedForward {

    private final LayerWeights weights;
    private final ActivationType activation;

    public DenseFeedForward(LayerWeights weights, ActivationType activation) {
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
            ctx.local(GateSplit.class, c -> new GateSplit()).apply(activation, h, up, n, ctx.config().ffnDim(), ctx.pool());
        } else {
            mm.multiply(weights.up(), x, 0, n, h, 0);
            for (int i = 0; i < size; i++) h[i] = activation.apply(h[i]);
        }
        for (int t = 0; t < n; t++) ctx.observe(layer, t, x, h);
        if (weights.down() != null) {
            mm.multiply(weights.down(), h, 0, n, out, 0);
        } else {   // stored transposed only (PowerInfer's files): every neuron's row, scaled, summed
            ctx.local(TransposedProduct.class, c -> new TransposedProduct()).multiply(weights.downT(), h, 0, n, out, 0, ctx.pool());
        }
    }

    /**
     * The gated activation of a batch split by tokens over the model's pool: on the calling thread alone it
     * left the other threads idle for ~3% of a prompt batch. Per session (through {@link FfnContext#local}),
     * as it holds the arguments of the call in flight. Elementwise, so the split changes no result.
     */
    private static final class GateSplit implements Parallel.RangeBody {
        private ActivationType activation;
        private float[] h;
        private float[] up;
        private int width;

        void apply(ActivationType activation, float[] h, float[] up, int n, int width, Parallel pool) {
            this.activation = activation;
            this.h = h;
            this.up = up;
            this.width = width;
            try {
                pool.forRange(n, (long) n * width, this);
            } finally {
                this.h = null;
                this.up = null;
            }
        }

        @Override
        public void run(int from, int to) { activation.gated(h, up, h, from * width, to * width); }
    }
}
