package io.ruvector.sparse.sparse;

import io.ruvector.sparse.tensor.Tensor;

/**
 * PowerInfer's predictor: a two-layer ReLU MLP {@code score = fc2 . relu(fc1 . x)}, neuron active when
 * {@code score >= threshold} (the file's {@code powerinfer.sparse_threshold}, 0 by default).
 *
 * <p>{@code fc1} is {@code hidden x dim}, {@code fc2} is {@code neurons x hidden} (one row per neuron), exactly
 * as PowerInfer's converter stores {@code blk.N.fc1.weight} and {@code blk.N.fc2.weight}.
 */
public final class MlpPredictor implements NeuronPredictor {

    private final Tensor fc1;
    private final Tensor fc2;
    private final float threshold;

    public MlpPredictor(Tensor fc1, Tensor fc2, float threshold) {
        if (fc2.cols() != fc1.rows()) {
            throw new IllegalArgumentException("MLP predictor: fc1 has " + fc1.rows() + " outputs but fc2 rows are "
                    + fc2.cols() + " long");
        }
        if (Float.isNaN(threshold)) throw new IllegalArgumentException("predictor threshold is NaN");
        this.fc1 = fc1;
        this.fc2 = fc2;
        this.threshold = threshold;
    }

    public MlpPredictor withThreshold(float t) { return new MlpPredictor(fc1, fc2, t); }

    public Tensor fc1() { return fc1; }

    public Tensor fc2() { return fc2; }

    @Override
    public int inputDim() { return fc1.cols(); }

    @Override
    public int neurons() { return fc2.rows(); }

    @Override
    public int hiddenDim() { return fc1.rows(); }

    @Override
    public int neuronAlignment() { return 1; }

    @Override
    public float threshold() { return threshold; }

    @Override
    public long bytes() { return fc1.rowBytes() * fc1.rows() + fc2.rowBytes() * fc2.rows(); }

    @Override
    public void project(float[] x, float[] hidden, int from, int to) {
        for (int j = from; j < to; j++) hidden[j] = Math.max(0f, fc1.dotRow(j, x));
    }

    @Override
    public void scores(float[] hidden, int from, int to, float[] scores) {
        for (int i = from; i < to; i++) scores[i] = fc2.dotRow(i, hidden);
    }
}
