package io.ruvector.sparse.sparse;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Records what calibration needs from a dense run: for every layer a bounded, uniform sample of the FFN inputs
 * (a reservoir over tokens, the same tokens for every layer) and, over every token, how often each neuron's
 * hidden activation was non-zero and the sum of its magnitudes.
 *
 * <p>Memory is {@code layers x maxSamples x dim} floats however long the calibration text is. Observations
 * must come in token order per layer (the model's observer contract); layers may interleave freely, since the
 * reservoir decision for the k-th token is a pure function of k and the seed (Algorithm R with a hashed draw).
 */
public final class ActivationRecorder {

    private final int layers;
    private final int dim;
    private final int ffnDim;
    private final int maxSamples;
    private final long seed;
    private final float[][] samples;
    private final long[] observed;
    private final long[][] nonZero;
    private final double[][] magnitude;

    /**
     * @param maxSamples samples kept per layer (the reservoir size)
     * @param seed       seed of the reservoir draws
     */
    public ActivationRecorder(int layers, int dim, int ffnDim, int maxSamples, long seed) {
        if (layers < 1 || dim < 1 || ffnDim < 1) throw new IllegalArgumentException("bad shape " + layers + "/" + dim + "/" + ffnDim);
        if (maxSamples < 1) throw new IllegalArgumentException("maxSamples must be >= 1, not " + maxSamples);
        this.layers = layers;
        this.dim = dim;
        this.ffnDim = ffnDim;
        this.maxSamples = maxSamples;
        this.seed = seed;
        this.samples = new float[layers][Math.multiplyExact(maxSamples, dim)];
        this.observed = new long[layers];
        this.nonZero = new long[layers][ffnDim];
        this.magnitude = new double[layers][ffnDim];
    }

    /** Reservoir size that keeps the samples of all layers within {@code bytes}. */
    public static int samplesForBudget(long bytes, int layers, int dim) {
        long per = 4L * layers * dim;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE / Math.max(1, dim), bytes / per));
    }

    /**
     * One token's FFN input {@code x[0..dim)} and hidden activation {@code h[0..ffnDim)} at {@code layer}
     * (the signature of the model's {@code FfnObserver}).
     */
    public void observe(int layer, float[] x, float[] h) {
        long k = observed[layer]++;
        int slot = slotOf(k);
        if (slot >= 0) System.arraycopy(x, 0, samples[layer], slot * dim, dim);
        long[] nz = nonZero[layer];
        double[] mag = magnitude[layer];
        for (int i = 0; i < ffnDim; i++) {
            float v = h[i];
            if (v != 0f) {
                nz[i]++;
                mag[i] += Math.abs(v);
            }
        }
    }

    /** Reservoir slot of the k-th token, or -1 when it is not kept (it may be overwritten later). */
    int slotOf(long k) {
        if (k < maxSamples) return (int) k;
        long j = new SplittableRandom(seed ^ (k * 0x9E3779B97F4A7C15L)).nextLong(k + 1);
        return j < maxSamples ? (int) j : -1;
    }

    public int layers() { return layers; }

    public int dim() { return dim; }

    public int ffnDim() { return ffnDim; }

    /** Tokens observed at layer 0. */
    public long tokens() { return observed[0]; }

    /** Samples held for {@code layer}: {@code min(tokens, maxSamples)}. */
    public int sampleCount(int layer) { return (int) Math.min(observed[layer], maxSamples); }

    /** The held samples of {@code layer}, {@code sampleCount x dim} row-major (a copy). */
    public float[] samples(int layer) {
        return Arrays.copyOf(samples[layer], sampleCount(layer) * dim);
    }

    /** Fraction of observed tokens at which each neuron's activation was non-zero. */
    public float[] nonZeroFrequency(int layer) {
        float[] f = new float[ffnDim];
        long n = observed[layer];
        for (int i = 0; i < ffnDim; i++) f[i] = n == 0 ? 0 : (float) ((double) nonZero[layer][i] / n);
        return f;
    }

    /** Mean |h| of each neuron over observed tokens. */
    public float[] meanMagnitude(int layer) {
        float[] m = new float[ffnDim];
        long n = observed[layer];
        for (int i = 0; i < ffnDim; i++) m[i] = n == 0 ? 0 : (float) (magnitude[layer][i] / n);
        return m;
    }

    /** Frees the sample memory of a layer once it has been fitted. */
    public void release(int layer) { samples[layer] = new float[0]; }
}
