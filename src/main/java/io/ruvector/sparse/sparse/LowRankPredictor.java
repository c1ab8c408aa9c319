package io.ruvector.sparse.sparse;

import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.tensor.Tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * A rank-r linear predictor of a layer's gate pre-activations, calibrated per neuron:
 * <pre>
 *   g_hat_i = (Q P x)_i + offset_i                       (the predicted gate pre-activation)
 *   score_i = scale_i * f(g_hat_i) + bias_i               (a calibrated logit of "neuron i fires")
 * </pre>
 * with {@code f} the identity for ReLU-like activations (firing means {@code g > 0}) or {@code |act(.)|} for the
 * others (firing means {@code |act(g)|} above a threshold, which is not monotone in {@code g} for SiLU and GeLU).
 * A neuron is predicted active when {@code score_i >= threshold}.
 *
 * <p>{@code P} ({@code rank x dim}) is stored row by row and applied with dot products; {@code Q} is stored
 * transposed ({@code rank x neurons}) so scoring a range of neurons is {@code rank} long axpy passes over
 * contiguous memory (the Vector API kernels of the stored type, Q8_0 or F16 usually). {@code offset},
 * {@code scale} and {@code bias} are F32.
 */
public final class LowRankPredictor implements NeuronPredictor {

    private final Tensor p;
    private final Tensor qt;
    private final float[] offset;
    private final float[] scale;
    private final float[] bias;
    private final ActivationType magnitudeOf;
    private final float threshold;

    /**
     * @param p           {@code rank x dim}
     * @param qt          {@code rank x neurons}
     * @param offset      per-neuron offset of the predicted pre-activation
     * @param scale       per-neuron scale of the calibrated logit
     * @param bias        per-neuron bias of the calibrated logit
     * @param magnitudeOf null for a linear score, else the activation whose magnitude {@code f} takes
     * @param threshold   score at or above which a neuron is predicted active
     */
    public LowRankPredictor(Tensor p, Tensor qt, float[] offset, float[] scale, float[] bias, ActivationType magnitudeOf,
                            float threshold) {
        Objects.requireNonNull(p, "p");
        Objects.requireNonNull(qt, "qt");
        if (p.rows() != qt.rows()) {
            throw new IllegalArgumentException("predictor rank mismatch: P has " + p.rows() + " rows, Q^T " + qt.rows());
        }
        int n = qt.cols();
        if (offset.length != n || scale.length != n || bias.length != n) {
            throw new IllegalArgumentException("predictor of " + n + " neurons with " + offset.length + " offsets, "
                    + scale.length + " scales and " + bias.length + " biases");
        }
        if (Float.isNaN(threshold)) throw new IllegalArgumentException("predictor threshold is NaN");
        this.p = p;
        this.qt = qt;
        this.offset = offset.clone();
        this.scale = scale.clone();
        this.bias = bias.clone();
        this.magnitudeOf = magnitudeOf;
        this.threshold = threshold;
    }

    /** The same predictor with another threshold. */
    public LowRankPredictor withThreshold(float t) {
        return new LowRankPredictor(p, qt, offset, scale, bias, magnitudeOf, t);
    }

    public int rank() { return p.rows(); }

    public Tensor p() { return p; }

    public Tensor qt() { return qt; }

    public float[] offset() { return offset.clone(); }

    public float[] scale() { return scale.clone(); }

    public float[] bias() { return bias.clone(); }

    /** The activation whose magnitude the score is taken of, or null for a linear score. */
    public ActivationType magnitudeOf() { return magnitudeOf; }

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
        return p.rowBytes() * p.rows() + qt.rowBytes() * qt.rows() + 12L * neurons();
    }

    @Override
    public void project(float[] x, float[] hidden, int from, int to) {
        for (int j = from; j < to; j++) hidden[j] = p.dotRow(j, x);
    }

    @Override
    public void scores(float[] hidden, int from, int to, float[] scores) {
        int n = to - from;
        if (n <= 0) return;
        Arrays.fill(scores, from, to, 0f);
        long colOffset = qt.type().rowBytes(from);
        if (colOffset < 0) {
            throw new IllegalArgumentException("neuron range must start at a multiple of " + neuronAlignment() + ": " + from);
        }
        for (int j = 0, r = qt.rows(); j < r; j++) {
            float z = hidden[j];
            if (z != 0f) qt.type().axpy(z, qt.data(), qt.rowOffset(j) + colOffset, scores, from, n);
        }
        if (magnitudeOf == null) {
            for (int i = from; i < to; i++) scores[i] = Math.fma(scale[i], scores[i] + offset[i], bias[i]);
        } else {
            for (int i = from; i < to; i++) {
                scores[i] = Math.fma(scale[i], Math.abs(magnitudeOf.apply(scores[i] + offset[i])), bias[i]);
            }
        }
    }
}
