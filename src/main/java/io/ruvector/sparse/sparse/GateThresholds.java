package io.ruvector.sparse.sparse;

import io.ruvector.sparse.kernels.ActivationType;

import java.util.Arrays;
import java.util.Locale;

/**
 * Per-layer thresholds of training-free gate selection ({@link GateMagnitudePredictor}), for one or more
 * sparsity levels: {@code threshold[l][k]} is the |act(gate . x)| below which a fraction {@code sparsity[k]} of
 * layer {@code l}'s neuron activations fell over the calibration samples (the quantile CATS calibrates).
 *
 * @param sparsity  fractions of neurons skipped, strictly ascending, each in (0, 1)
 * @param threshold per layer, one threshold per level, finite and >= 0
 */
public record GateThresholds(float[] sparsity, float[][] threshold) {

    public GateThresholds {
        check(sparsity, threshold);
    }

    /** The same checks with the problem named (the sidecar reader reports them as one line about the file). */
    static void check(float[] sparsity, float[][] threshold) {
        if (sparsity.length == 0) throw new IllegalArgumentException("no SwiGLU sparsity levels");
        for (int k = 0; k < sparsity.length; k++) {
            if (!(sparsity[k] > 0 && sparsity[k] < 1)) throw new IllegalArgumentException("SwiGLU sparsity level " + sparsity[k] + " is not in (0, 1)");
            if (k > 0 && !(sparsity[k] > sparsity[k - 1])) throw new IllegalArgumentException("SwiGLU sparsity levels are not strictly ascending");
        }
        for (int l = 0; l < threshold.length; l++) {
            if (threshold[l].length != sparsity.length) {
                throw new IllegalArgumentException("layer " + l + " has " + threshold[l].length + " gate thresholds for " + sparsity.length + " levels");
            }
            for (float t : threshold[l]) {
                if (!(t >= 0) || Float.isInfinite(t)) throw new IllegalArgumentException("layer " + l + " has gate threshold " + t + " (must be finite and >= 0)");
            }
        }
    }

    /** Number of layers. */
    public int layers() { return threshold.length; }

    /**
     * Layer {@code l}'s threshold for {@code wanted} (a stored level, to float precision).
     *
     * @throws IllegalArgumentException naming the stored levels when {@code wanted} is not one
     */
    public float threshold(int layer, double wanted, String source) {
        for (int k = 0; k < sparsity.length; k++) {
            if (Math.abs(sparsity[k] - wanted) < 1e-6) return threshold[layer][k];
        }
        throw new IllegalArgumentException(source + " has SwiGLU thresholds for sparsity " + levels()
                + ", not " + fmt(wanted) + " (calibrate with --swiglu-sparsity " + fmt(wanted) + ")");
    }

    /** The stored levels as text, e.g. "0.25, 0.5". */
    public String levels() {
        StringBuilder b = new StringBuilder();
        for (float s : sparsity) b.append(b.isEmpty() ? "" : ", ").append(fmt(s));
        return b.toString();
    }

    private static String fmt(double v) { return String.format(Locale.ROOT, "%.4g", v).replaceAll("\\.?0+$", ""); }

    /**
     * Thresholds of one layer from sampled gate pre-activations {@code g[0..count)}: for each level s, the value
     * at position {@code round(s * count)} of the sorted magnitudes {@code |act(g)|}, so that "skip when below"
     * skips that many of the samples (fewer where values tie with it). Reorders nothing of {@code g}.
     *
     * @param levels strictly ascending, in (0, 1)
     */
    public static float[] layerThresholds(float[] g, int count, ActivationType act, float[] levels) {
        if (count < 1) throw new IllegalArgumentException("no gate samples");
        float[] mags = new float[count];
        for (int i = 0; i < count; i++) mags[i] = Math.abs(act.apply(g[i]));
        float[] out = new float[levels.length];
        // Quickselect (expected linear time) per level: sorting a layer's samples x neurons took seconds on TinyLlama shapes.
        for (int k = 0; k < levels.length; k++) {
            int at = (int) Math.min(count - 1, Math.round((double) levels[k] * count));
            out[k] = at == 0 ? 0f : SparseLayer.kthSmallest(mags, count, at);
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GateThresholds t && Arrays.equals(sparsity, t.sparsity) && Arrays.deepEquals(threshold, t.threshold);
    }

    @Override
    public int hashCode() { return 31 * Arrays.hashCode(sparsity) + Arrays.deepHashCode(threshold); }

    @Override
    public String toString() { return "GateThresholds[" + levels() + ", " + threshold.length + " layers]"; }
}
