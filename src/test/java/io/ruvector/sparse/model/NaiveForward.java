package io.ruvector.sparse.model;

import io.ruvector.sparse.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A deliberately plain float64 transformer written from the definitions, independent of the engine's code
 * (no shared kernels, RoPE or attention), to check the engine on configurations the llama.cpp references do
 * not cover: partial RoPE, linear scaling, frequency factors, other activations, ungated blocks, MQA, and gemma's
 * scaled embeddings, post norms, sliding windows with their own RoPE, and soft-capping.
 */
final class NaiveForward {

    private final ModelConfig c;
    private final double[][] embd;
    private final double[][] output;
    private final double[] outNorm;
    private final double[] freqFactors;
    private final List<double[][][]> layers = new ArrayList<>();   // per layer: wq, wk, wv, wo, gate, up, down
    private final List<double[][]> vectors = new ArrayList<>();    // per layer: attnNorm, ffnNorm, bq, bk, bv, qNorm, kNorm, postAttnNorm, postFfnNorm
    private final List<double[][]> keys = new ArrayList<>();       // per layer: [pos][kvDim]
    private final List<double[][]> values = new ArrayList<>();

    private final double ropeMagnitude;

    /** For a session of the model's trained context. */
    NaiveForward(LanguageModel model) { this(model, model.config().contextLength()); }

    /** For a session of {@code sessionContext} positions (which LongRoPE factors apply depends on it). */
    NaiveForward(LanguageModel model, int sessionContext) {
        c = model.config();
        ModelWeights w = model.weights();
        ropeMagnitude = c.ropeAttnFactor();
        embd = matrix(w.tokenEmbedding());
        output = matrix(w.output());
        outNorm = vector(w.outputNorm());
        Tensor factors = w.ropeFreqs();
        if (w.ropeFactorsShort() != null) {
            factors = sessionContext > c.ropeOriginalContext() ? w.ropeFactorsLong() : w.ropeFactorsShort();
        }
        freqFactors = vector(factors);
        for (LayerWeights l : w.layers()) {
            layers.add(new double[][][]{matrix(l.wq()), matrix(l.wk()), matrix(l.wv()), matrix(l.wo()),
                    l.gate() == null ? null : matrix(l.gate()), matrix(l.up()), matrix(l.down())});
            vectors.add(new double[][]{vector(l.attnNorm()), vector(l.ffnNorm()), vector(l.bq()), vector(l.bk()), vector(l.bv()),
                    vector(l.qNorm()), vector(l.kNorm()), vector(l.postAttnNorm()), vector(l.postFfnNorm())});
            keys.add(new double[c.contextLength()][]);
            values.add(new double[c.contextLength()][]);
        }
    }

    /** Logits after each token, appended at positions 0, 1, ... */
    double[][] run(int[] tokens) {
        double[][] result = new double[tokens.length][];
        for (int pos = 0; pos < tokens.length; pos++) result[pos] = step(tokens[pos], pos);
        return result;
    }

    private double[] step(int token, int pos) {
        AttentionSettings a = c.attention();
        double[] x = embd[token].clone();
        if (c.block().scaledEmbedding()) for (int i = 0; i < x.length; i++) x[i] *= Math.sqrt(c.dim());
        for (int l = 0; l < c.layers(); l++) {
            double[][][] m = layers.get(l);
            double[][] v = vectors.get(l);
            boolean local = a.local(l);
            double base = local ? a.localRopeBase() : c.ropeBase();
            double scale = local ? a.localRopeScale() : c.ropeScale();
            int first = local ? Math.max(0, pos - a.window() + 1) : 0;
            double[] h = norm(x, v[0]);
            double[] q = add(mul(m[0], h), v[2]);
            double[] k = add(mul(m[1], h), v[3]);
            double[] val = add(mul(m[2], h), v[4]);
            if (v[5] != null) headNorms(q, c.heads(), v[5]);
            if (v[6] != null) headNorms(k, c.kvHeads(), v[6]);
            for (int head = 0; head < c.heads(); head++) rope(q, head * c.headDim(), pos, base, scale);
            for (int head = 0; head < c.kvHeads(); head++) rope(k, head * c.headDim(), pos, base, scale);
            keys.get(l)[pos] = k;
            values.get(l)[pos] = val;
            double[] att = new double[c.qDim()];
            for (int head = 0; head < c.heads(); head++) {
                int kvOff = head / (c.heads() / c.kvHeads()) * c.headDim();
                int qOff = head * c.headDim();
                double[] s = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int p = first; p <= pos; p++) {
                    double d = 0;
                    for (int i = 0; i < c.headDim(); i++) d += q[qOff + i] * keys.get(l)[p][kvOff + i];
                    s[p] = d * a.queryScale();
                    if (a.softCap() > 0) s[p] = a.softCap() * Math.tanh(s[p] / a.softCap());
                    max = Math.max(max, s[p]);
                }
                double sum = 0;
                for (int p = first; p <= pos; p++) sum += s[p] = Math.exp(s[p] - max);
                for (int p = first; p <= pos; p++) {
                    for (int i = 0; i < c.headDim(); i++) att[qOff + i] += s[p] / sum * values.get(l)[p][kvOff + i];
                }
            }
            double[] attOut = mul(m[3], att);
            x = add(x, v[7] == null ? attOut : norm(attOut, v[7]));
            h = norm(x, v[1]);
            double[] up = mul(m[5], h);
            double[] act = new double[c.ffnDim()];
            double[] gate = m[4] == null ? null : mul(m[4], h);
            for (int i = 0; i < act.length; i++) act[i] = gate == null ? activation(up[i]) : activation(gate[i]) * up[i];
            double[] ffnOut = mul(m[6], act);
            x = add(x, v[8] == null ? ffnOut : norm(ffnOut, v[8]));
        }
        double[] logits = mul(output, norm(x, outNorm));
        if (a.finalSoftCap() > 0) for (int i = 0; i < logits.length; i++) logits[i] = a.finalSoftCap() * Math.tanh(logits[i] / a.finalSoftCap());
        return logits;
    }

    private void rope(double[] v, int off, int pos, double base, double scale) {
        int d = c.ropeDims();
        for (int i = 0; i < d / 2; i++) {
            double freq = Math.pow(base, -2.0 * i / d);
            if (freqFactors != null) freq /= freqFactors[i];
            double theta = pos / scale * freq;
            int a = c.ropeStyle() == RopeStyle.INTERLEAVED ? off + 2 * i : off + i;
            int b = c.ropeStyle() == RopeStyle.INTERLEAVED ? a + 1 : off + i + d / 2;
            double x0 = v[a];
            double x1 = v[b];
            double cos = Math.cos(theta) * ropeMagnitude;
            double sin = Math.sin(theta) * ropeMagnitude;
            v[a] = x0 * cos - x1 * sin;
            v[b] = x0 * sin + x1 * cos;
        }
    }

    private double activation(double x) {
        return switch (c.activation()) {
            case SILU -> x / (1 + Math.exp(-x));
            case RELU -> Math.max(0, x);
            case RELU_SQUARED -> x > 0 ? x * x : 0;
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case GELU -> x * phi(x);
            case IDENTITY -> x;
            case DRELU -> throw new UnsupportedOperationException("dReLU needs the up branch too");
        };
    }

    /** Standard normal CDF by Simpson integration of the density (no shared erf code). */
    private static double phi(double x) {
        int n = 2000;
        double a = 0;
        double h = x / n;
        double s = 0;
        for (int i = 0; i <= n; i++) {
            double t = a + i * h;
            double f = Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
            s += (i == 0 || i == n) ? f : (i % 2 == 1 ? 4 * f : 2 * f);
        }
        return 0.5 + s * h / 3;
    }

    /** RMS norm of each head of {@code v} on its own, with one weight shared by all heads (qwen3's q/k norms). */
    private void headNorms(double[] v, int heads, double[] w) {
        int d = c.headDim();
        for (int head = 0; head < heads; head++) {
            double[] one = java.util.Arrays.copyOfRange(v, head * d, (head + 1) * d);
            System.arraycopy(norm(one, w), 0, v, head * d, d);
        }
    }

    private double[] norm(double[] x, double[] w) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double scale = 1 / Math.sqrt(ss / x.length + c.rmsEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * scale * w[i];
        return out;
    }

    private static double[] mul(double[][] m, double[] x) {
        double[] out = new double[m.length];
        for (int r = 0; r < m.length; r++) {
            double s = 0;
            for (int i = 0; i < x.length; i++) s += m[r][i] * x[i];
            out[r] = s;
        }
        return out;
    }

    private static double[] add(double[] a, double[] b) {
        if (b == null) return a;
        double[] out = a.clone();
        for (int i = 0; i < a.length; i++) out[i] += b[i];
        return out;
    }

    private static double[][] matrix(Tensor t) {
        float[] f = t.toFloatArray();
        double[][] m = new double[t.rows()][t.cols()];
        for (int r = 0; r < t.rows(); r++) for (int i = 0; i < t.cols(); i++) m[r][i] = f[r * t.cols() + i];
        return m;
    }

    private static double[] vector(Tensor t) {
        if (t == null) return null;
        float[] f = t.toFloatArray();
        double[] v = new double[f.length];
        for (int i = 0; i < f.length; i++) v[i] = f[i];
        return v;
    }
}
