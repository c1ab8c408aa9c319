package io.ruvector.sparse.sparse;

import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.tensor.Tensor;

/**
 * Training-free neuron selection for gated feed-forward blocks whose activation has no exact zeros (SiLU, GeLU;
 * CATS' criterion): the hidden vector is the exact gate product {@code g = gate . x}, a neuron's score is
 * {@code |act(g_i)|}, and neurons scoring below a per-layer threshold (calibrated as a quantile of that
 * magnitude, {@link GateThresholds}) are skipped. The gate matrix is read whole, once; what is saved is the up
 * and down rows of the skipped neurons (see {@link NeuronPredictor#gateMatrix()}).
 */
public final class GateMagnitudePredictor implements NeuronPredictor {

    private final Tensor gate;
    private final ActivationType activation;
    private final float threshold;

    /** @param threshold the |act(g)| at or above which a neuron is computed (0: all of them) */
    public GateMagnitudePredictor(Tensor gate, ActivationType activation, float threshold) {
        if (!(threshold >= 0) || Float.isInfinite(threshold)) throw new IllegalArgumentException("gate threshold must be finite and >= 0, not " + threshold);
        this.gate = gate;
        this.activation = activation;
        this.threshold = threshold;
    }

    @Override
    public int inputDim() { return gate.cols(); }

    @Override
    public int neurons() { return gate.rows(); }

    /** The gate pre-activations, one per neuron. */
    @Override
    public int hiddenDim() { return gate.rows(); }

    @Override
    public int neuronAlignment() { return 1; }

    @Override
    public float threshold() { return threshold; }

    /** The whole gate matrix: the same bytes the dense block reads for it. */
    @Override
    public long bytes() { return gate.rowBytes() * gate.rows(); }

    @Override
    public Tensor gateMatrix() { return gate; }

    /** Gate rows {@code [from, to)} one by one (the sparse layer uses the dense product instead when it can). */
    @Override
    public void project(float[] x, float[] hidden, int from, int to) {
        for (int i = from; i < to; i++) hidden[i] = gate.dotRow(i, x);
    }

    @Override
    public void scores(float[] hidden, int from, int to, float[] scores) {
        for (int i = from; i < to; i++) scores[i] = Math.abs(activation.apply(hidden[i]));
    }
}
