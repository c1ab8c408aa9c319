package io.ruvector.sparse.sparse;

import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.tensor.Tensor;

/**
 * The perfect predictor, for measurements: it computes every gate pre-activation exactly and scores a neuron by
 * its true firing quantity ({@code g} for ReLU-like activations, {@code |act(g)|} otherwise). It reads the whole
 * gate matrix, so it saves nothing; it shows what sparsity itself costs in quality, apart from prediction errors.
 */
public final class OraclePredictor implements NeuronPredictor {

    private final Tensor gate;
    private final ActivationType activation;
    private final float threshold;

    /** @param threshold score at or above which a neuron is selected (e.g. tau), when not selecting top-K */
    public OraclePredictor(Tensor gate, ActivationType activation, float threshold) {
        this.gate = gate;
        this.activation = activation;
        this.threshold = threshold;
    }

    @Override
    public int inputDim() { return gate.cols(); }

    @Override
    public int neurons() { return gate.rows(); }

    /** The hidden vector is the input itself. */
    @Override
    public int hiddenDim() { return gate.cols(); }

    @Override
    public int neuronAlignment() { return 1; }

    @Override
    public float threshold() { return threshold; }

    @Override
    public long bytes() { return gate.rowBytes() * gate.rows(); }

    @Override
    public void project(float[] x, float[] hidden, int from, int to) { System.arraycopy(x, from, hidden, from, to - from); }

    @Override
    public void scores(float[] hidden, int from, int to, float[] scores) {
        for (int i = from; i < to; i++) {
            float g = gate.dotRow(i, hidden);
            scores[i] = activation.hasExactZeros() ? g : Math.abs(activation.apply(g));
        }
    }
}
