package io.ruvector.sparse.model;

import io.ruvector.sparse.tensor.Tensor;

/**
 * Rotary position embedding: rotates pairs of each head's first {@code ropeDims} dimensions by
 * {@code position / scale * base^(-2i / ropeDims) / freqFactor[i]}, with cos and sin times the configuration's
 * attention factor (1 but for LongRoPE models). Angles are computed in double so the rotation is exact to float
 * precision at any position.
 */
final class Rope {

    private final RopeStyle style;
    private final int headDim;
    private final int pairs;
    private final double[] inverseFrequency;
    private final double positionScale;
    private final double magnitude;

    Rope(ModelConfig c, Tensor freqFactors) { this(c, freqFactors, c.ropeBase(), c.ropeScale()); }

    /** With another base and linear scaling than the configuration's (the local layers of a sliding-window model). */
    Rope(ModelConfig c, Tensor freqFactors, double base, double scale) {
        this.style = c.ropeStyle();
        this.headDim = c.headDim();
        this.pairs = c.ropeDims() / 2;
        this.positionScale = 1.0 / scale;
        this.magnitude = c.ropeAttnFactor();
        this.inverseFrequency = new double[pairs];
        float[] factors = freqFactors == null ? null : freqFactors.toFloatArray();
        for (int i = 0; i < pairs; i++) {
            double f = Math.pow(base, -2.0 * i / c.ropeDims());
            if (factors != null) {
                if (!(factors[i] > 0)) throw new IllegalArgumentException(freqFactors.name() + "[" + i + "] = " + factors[i]);
                f /= factors[i];
            }
            inverseFrequency[i] = f;
        }
    }

    /** Floats of cos/sin per position that {@link #angles} writes. */
    int tableWidth() { return 2 * pairs; }

    /** Writes cos and sin for positions {@code pos .. pos+n} into {@code table} (tableWidth floats each). */
    void angles(int pos, int n, float[] table) {
        for (int t = 0; t < n; t++) {
            double p = (pos + t) * positionScale;
            int base = t * 2 * pairs;
            for (int i = 0; i < pairs; i++) {
                double a = p * inverseFrequency[i];
                table[base + 2 * i] = (float) (Math.cos(a) * magnitude);
                table[base + 2 * i + 1] = (float) (Math.sin(a) * magnitude);
            }
        }
    }

    /** Rotates {@code heads} heads of each of {@code n} tokens in {@code x} (rows of {@code heads*headDim}). */
    void rotate(float[] x, int heads, int n, float[] table) {
        int half = pairs;
        for (int t = 0; t < n; t++) {
            int angles = t * 2 * pairs;
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * headDim;
                for (int i = 0; i < pairs; i++) {
                    float cos = table[angles + 2 * i];
                    float sin = table[angles + 2 * i + 1];
                    int a = style == RopeStyle.INTERLEAVED ? o + 2 * i : o + i;
                    int b = style == RopeStyle.INTERLEAVED ? a + 1 : a + half;
                    float x0 = x[a];
                    float x1 = x[b];
                    x[a] = x0 * cos - x1 * sin;
                    x[b] = x0 * sin + x1 * cos;
                }
            }
        }
    }
}
