package io.ruvector.sparse.sparse;

import io.ruvector.sparse.tensor.Tensor;

import java.util.Objects;

/**
 * A rank-r linear predictor of a layer's gate pre-activations, calibrated per neuron:
 * {@code score_i = scale_i * (Q P x)_i + bias_i}, neuron active when {@code score_i >= threshold}.
 *
 * <p>{@code P} ({@code rank x dim}) is stored row by row and applied with dot products; {@code Q} is stored
 * transposed ({@code rank x neurons}) so scoring a range of neurons is {@code rank} long axpy passes over
 * contiguous memory (the Vector API kernels of the stored type, F16 or Q8_0 usually). The per-neuron
 * {@code scale} and {@code bias} (F32) turn the regression output into a calibrated logit, so one threshold per
 * layer serves every neuron.
 */
public final class LowRankPredictor implements NeuronPredictor {

    private final Tensor p;
    private final Tensor qt;
    private final float[] scale;
    private final float[] bias;
    private final float threshold;

    /**
     * @param p         {@code rank x dim}
     * @param qt        {@code rank x neurons}
     * @param scale     per-neuron scale ({@code neurons} values)
     * @param bias      per-neuron bias ({@code neurons} values)
     * @param threshold score at or above which a neuron is predicted active
     */
    public LowRankPredictor(Tensor p, Tensor qt, float[] scale, float[] bias, float threshold) {
        Objects.requireNonNull(p, "p");
        Objects.requireNonNull(qt, "qt");
        if (p.rows() != qt.rows()) {
            throw new IllegalArgumentException("predictor rank mismatch: P has " + p.rows() + " rows, Q^T " + qt.rows());
        }
        if (scale.length != qt.cols() || bias.length != qt.cols()) {
            throw new IllegalArgumentException("predictor of " + qt.cols() + " neurons with " + scale.length
                    + " scales and " + bias.length + " biases");
        }
        if (Float.isNaN(threshold)) throw new IllegalArgumentException("predictor threshold is NaN");
        this.p = p;
        this.qt = qt;
        this.scale = scale.clone();
        this.bias = bias.clone();
        this.threshold = threshold;
    }

    /** The same predictor with another threshold. */
    public LowRankPredictor withThreshold(float t) { return new LowRankPredictor(p, qt, scale, bias, t); }

    public int rank() { return p.rows(); }

    public Tensor p() { return p; }

    public Tensor qt() { return qt; }

    public float[] scale() { return scale.clone(); }

    public float[] bias() { return bias.clone(); }

    @Override
    public int inputDim() { return p.cols(); }

    @Override
    public int neurons() { return qt.cols(); }

    @Override
    public int hiddenDim() { return p.rows(); }

    @Override
    public int neuronAlignment() { return qt.type().blockSize(); }

    @Override
    public float threshold() { return threshold; }

    @Override
    public long bytes() {
        return p.rowBytes() * p.rows() + qt.rowBytes() * qt.rows() + 8L * neurons();
    }

    @Override
    public void project(float[] x, float[] hidden, int from, int to) {
        for (int j = from; j < to; j++) hidden[j] = p.dotRow(j, x);
    }

    @Override
    public void scores(float[] hidden, int from, int to, float[] scores) {
        int n = to - from;
        if (n <= 0) return;
        java.util.Arrays.fill(scores, from, to, 0f);
        long colOffset = qt.type().rowBytes(from);
        if (colOffset < 0) {
            throw new IllegalArgumentException("neuron range must start at a multiple of " + neuronAlignment() + ": " + from);
        }
        for (int j = 0, r = qt.rows(); j < r; j++) {
            float z = hidden[j];
            if (z != 0f) qt.type().axpy(z, qt.data(), qt.rowOffset(j) + colOffset, scores, from, n);
        }
        for (int i = from; i < to; i++) scores[i] = Math.fma(scale[i], scores[i], bias[i]);
    }
}
