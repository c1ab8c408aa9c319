package io.ruvector.sparse.sparse;

/**
 * Predicts, from a layer's FFN input, which neurons of the layer will fire, before any of the FFN is computed.
 *
 * <p>Two steps so the work can be split across threads: {@link #project} maps the input to a small hidden
 * vector (once per token), then {@link #scores} turns it into one score per neuron for any range of neurons
 * (each range by one thread). A neuron is predicted active when its score is {@code >= }{@link #threshold()}.
 * Ranges must start at a multiple of {@link #neuronAlignment()} (the block size of the stored weights).
 *
 * <p>Implementations are immutable and thread-safe; callers own the scratch arrays.
 */
public interface NeuronPredictor {

    /** Length of the input vector (the model's embedding length). */
    int inputDim();

    /** Number of neurons scored (the FFN's hidden length). */
    int neurons();

    /** Length of the hidden vector {@link #project} writes. */
    int hiddenDim();

    /** Neuron ranges given to {@link #scores} must start at a multiple of this. */
    int neuronAlignment();

    /** The score at or above which a neuron is predicted active. */
    float threshold();

    /** Bytes of weights read per evaluation (all neurons): the predictor's share of bytes read per token. */
    long bytes();

    /** {@code hidden[j]} for {@code j} in {@code [from, to)}, from {@code x[0..inputDim)}. */
    void project(float[] x, float[] hidden, int from, int to);

    /** {@code hidden[0..hiddenDim)} from {@code x[0..inputDim)}. */
    default void project(float[] x, float[] hidden) { project(x, hidden, 0, hiddenDim()); }

    /**
     * The gate matrix when {@link #project} computes the gate pre-activations themselves ({@code hidden[i] =
     * gate_i . x}, {@link #hiddenDim()} = {@link #neurons()}), else null. The sparse layer then computes that
     * product as the dense block does (same kernel, same activation rounding) and takes the selected neurons'
     * gate values from it instead of reading their gate rows a second time.
     */
    default io.ruvector.sparse.tensor.Tensor gateMatrix() { return null; }

    /** {@code scores[i]} for every neuron {@code i} in {@code [from, to)}, from the hidden vector. */
    void scores(float[] hidden, int from, int to, float[] scores);
}
