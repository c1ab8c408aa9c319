package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Fits one layer's {@link LowRankPredictor} from recorded FFN inputs.
 *
 * <ol>
 *   <li>Exact gate (and, for dReLU, up) pre-activations of every sample, with the model's own kernels; the
 *       firing labels from them: the activation is non-zero for ReLU-like activations; otherwise
 *       {@code |act(gate . x)|} is above a per-layer threshold chosen for the target density, as CATS does
 *       (neurons below it contribute little and are skipped).</li>
 *   <li>Reduced-rank regression of the gate pre-activations on the input: the best rank-r map under the
 *       data's distribution is {@code V_r V_r^T G}, with {@code V_r} the top right singular vectors of the
 *       centred sample pre-activations (randomized SVD). With white inputs this is the truncated SVD of the gate
 *       weights; real inputs are far from white, and the data-weighted version predicts much better.</li>
 *   <li>Per-neuron logistic calibration (two parameters by Newton's method) turns each regression output (or,
 *       for SiLU-like activations, the magnitude of the activation of it) into a calibrated logit, so one
 *       threshold per layer is the best rule for recall at a given density.</li>
 *   <li>Rank chosen per layer among candidates by the bytes it costs per token (predictor bytes plus bytes of
 *       the predicted-active rows), the threshold set on validation samples to reach the target recall with the
 *       stored (quantized) predictor, recall and density reported on test samples the fit never saw.</li>
 * </ol>
 */
public final class PredictorTrainer {

    /**
     * Fitting options.
     *
     * @param targetRecall    fraction of firing neurons the predictor must select (validation samples)
     * @param targetDensity   for activations without exact zeros: fraction of neurons counted as firing
     * @param ranks           candidate ranks (those above what the data supports are skipped)
     * @param predictorTypes  storage types to try for P and Q, in order (F32 when none fits)
     * @param trainFraction   share of samples used for fitting
     * @param validationFraction share used to choose the threshold; the rest is the test split
     * @param oversample      randomized-SVD oversampling
     * @param powerIterations randomized-SVD power iterations
     * @param seed            seed of the split and of the sketch
     */
    public record Options(double targetRecall, double targetDensity, int[] ranks, List<GgmlType> predictorTypes,
                          double trainFraction, double validationFraction, int oversample, int powerIterations,
                          long seed) {
        public Options {
            if (!(targetRecall > 0 && targetRecall <= 1)) throw new IllegalArgumentException("target recall must be in (0, 1]: " + targetRecall);
            if (!(targetDensity > 0 && targetDensity <= 1)) throw new IllegalArgumentException("target density must be in (0, 1]: " + targetDensity);
            if (ranks.length == 0) throw new IllegalArgumentException("no candidate ranks");
            ranks = ranks.clone();
            Arrays.sort(ranks);
            if (ranks[0] < 1) throw new IllegalArgumentException("ranks must be >= 1");
            predictorTypes = List.copyOf(predictorTypes);
            if (!(trainFraction > 0 && validationFraction > 0 && trainFraction + validationFraction < 1)) {
                throw new IllegalArgumentException("train and validation fractions must leave a test split");
            }
        }

        @Override
        public int[] ranks() { return ranks.clone(); }

        /**
         * The recall thresholds are set for on the validation samples: the target with 40% of its miss rate held
         * back (0.994 for 0.99), a margin for text that differs from the calibration text (measured recall on
         * held-out text ran about 0.003 below the test split's).
         */
        public double validationRecall() { return 1 - 0.6 * (1 - targetRecall); }

        /** Recall 0.99, density 0.5, ranks 16..256, Q8_0 then F16 predictors, 70/15/15 split. */
        public static Options defaults() {
            return new Options(0.99, 0.5, new int[]{16, 32, 64, 96, 128, 192, 256},
                    List.of(GgmlType.Q8_0, GgmlType.F16), 0.7, 0.15, 10, 2, 42);
        }

        public Options withTargetRecall(double r) {
            return new Options(r, targetDensity, ranks, predictorTypes, trainFraction, validationFraction, oversample, powerIterations, seed);
        }

        public Options withTargetDensity(double d) {
            return new Options(targetRecall, d, ranks, predictorTypes, trainFraction, validationFraction, oversample, powerIterations, seed);
        }

        public Options withRanks(int... r) {
            return new Options(targetRecall, targetDensity, r, predictorTypes, trainFraction, validationFraction, oversample, powerIterations, seed);
        }

        public Options withPredictorTypes(List<GgmlType> types) {
            return new Options(targetRecall, targetDensity, ranks, types, trainFraction, validationFraction, oversample, powerIterations, seed);
        }
    }

    /**
     * The weights of one layer's FFN.
     *
     * @param gate         {@code neurons x dim}
     * @param up           {@code neurons x dim}
     * @param activation   the gate activation
     * @param neuronBytes  bytes read per active neuron at inference (gate, up and transposed down rows)
     */
    public record FfnWeights(Tensor gate, Tensor up, ActivationType activation, long neuronBytes) {
        public FfnWeights {
            if (gate.rows() != up.rows() || gate.cols() != up.cols()) {
                throw new IllegalArgumentException("gate " + gate.rows() + "x" + gate.cols() + " and up "
                        + up.rows() + "x" + up.cols() + " differ");
            }
        }
    }

    /**
     * Result of a fit.
     *
     * @param predictor the predictor with its threshold
     * @param frequency per-neuron firing frequency over all samples
     * @param report    what was measured
     */
    public record LayerFit(LowRankPredictor predictor, float[] frequency, LayerReport report) {}

    private PredictorTrainer() {}

    /**
     * Fits layer {@code layer} from {@code samples} ({@code count x dim}, row-major).
     *
     * @throws IllegalArgumentException when there are too few samples to split (fewer than 20)
     */
    public static LayerFit fit(int layer, float[] samples, int count, FfnWeights w, Options o, Parallel pool) {
        int d = w.gate().cols(), n = w.gate().rows();
        if (samples.length < (long) count * d) throw new IllegalArgumentException("samples array holds fewer than " + count + " x " + d);
        if (count < 20) throw new IllegalArgumentException("layer " + layer + ": " + count + " samples are too few to fit a predictor (need >= 20)");

        // 1. Exact pre-activations and labels.
        float[] g = preActivations(w.gate(), samples, count, pool);
        ActivationType act = w.activation();
        boolean needUp = act == ActivationType.DRELU;
        float[] u = needUp ? preActivations(w.up(), samples, count, pool) : null;

        int[] perm = permutation(count, o.seed() + layer);
        int nTrain = Math.max(8, (int) Math.round(count * o.trainFraction()));
        int nVal = Math.max(4, (int) Math.round(count * o.validationFraction()));
        if (nTrain + nVal >= count) nVal = Math.max(1, count - nTrain - 1);
        int[] train = Arrays.copyOfRange(perm, 0, nTrain);
        int[] val = Arrays.copyOfRange(perm, nTrain, nTrain + nVal);
        int[] test = Arrays.copyOfRange(perm, nTrain + nVal, count);

        float tau = act.hasExactZeros() ? 0f : magnitudeThreshold(g, act, train, n, o.targetDensity());
        ActivationType magnitudeOf = act.hasExactZeros() ? null : act;
        boolean[] fires = new boolean[count * n];
        float[] frequency = new float[n];
        for (int s = 0; s < count; s++) {
            for (int i = 0; i < n; i++) {
                int k = s * n + i;
                boolean f = fires(act, g[k], u == null ? 1f : u[k], tau);
                fires[k] = f;
                if (f) frequency[i]++;
            }
        }
        for (int i = 0; i < n; i++) frequency[i] /= count;
        u = null;

        // 2. Reduced-rank regression: top right singular vectors of the centred train pre-activations.
        float[] mu = new float[n];
        for (int s : train) LinAlg.axpy(1f, g, s * n, mu, 0, n);
        for (int i = 0; i < n; i++) mu[i] /= nTrain;
        int maxRank = Math.min(Math.min(o.ranks()[o.ranks().length - 1], d), Math.min(n, nTrain - 1));
        float[] yc = new float[nTrain * n];
        for (int t = 0; t < nTrain; t++) {
            System.arraycopy(g, train[t] * n, yc, t * n, n);
            LinAlg.axpy(-1f, mu, 0, yc, t * n, n);
        }
        LinAlg.Svd svd = LinAlg.topRightSingularVectors(yc, nTrain, n, maxRank, o.oversample(), o.powerIterations(),
                o.seed() * 31 + layer, pool);
        yc = null;
        int k = svd.rank();
        if (k == 0) throw new IllegalArgumentException("layer " + layer + ": gate pre-activations do not vary over the samples");
        float[] vt = svd.vt();                               // k x n
        float[] gateF = w.gate().toFloatArray();              // n x d
        float[] pk = LinAlg.mulAB(vt, k, gateF, n, d, pool);  // k x d: P = V^T G
        gateF = null;
        float[] z = LinAlg.mulABt(samples, count, pk, k, d, pool); // count x k
        float[] m = new float[k];                             // m_j = v_j . mu
        for (int j = 0; j < k; j++) m[j] = LinAlg.dot(vt, j * n, mu, 0, n);

        // 3. Candidate ranks: regression output, calibration, threshold and cost of each.
        int[] candidates = Arrays.stream(o.ranks()).filter(r -> r <= k).toArray();
        if (candidates.length == 0) candidates = new int[]{k};
        float[] gHat = new float[count * n]; // running rank-j prediction of g for every sample
        for (int s = 0; s < count; s++) System.arraycopy(mu, 0, gHat, s * n, n);
        int done = 0;
        Candidate best = null;
        for (int r : candidates) {
            for (; done < r; done++) {
                for (int s = 0; s < count; s++) LinAlg.axpy(z[s * k + done] - m[done], vt, done * n, gHat, s * n, n);
            }
            Candidate c = evaluate(r, gHat, magnitudeOf, fires, n, train, val, o, pool);
            long predBytes = predictorBytes(r, d, n, o.predictorTypes());
            c.cost = predBytes + c.density * n * w.neuronBytes();
            if (best == null || c.cost < best.cost) best = c;
        }

        // 4. The stored predictor: fold the calibration into scale and bias, quantize, set the threshold with
        //    the stored form on the validation split, report on the test split.
        int r = best.rank;
        float[] offset = new float[n];
        for (int i = 0; i < n; i++) {
            double b = mu[i];
            for (int j = 0; j < r; j++) b -= (double) m[j] * vt[j * n + i];
            offset[i] = (float) b;
        }
        GgmlType pType = Storage.choose(o.predictorTypes(), d);
        GgmlType qType = Storage.choose(o.predictorTypes(), n);
        Tensor p = Storage.encode("blk." + layer + ".pred_p", pType, r, d, Arrays.copyOf(pk, r * d));
        Tensor qt = Storage.encode("blk." + layer + ".pred_qt", qType, r, n, Arrays.copyOf(vt, r * n));
        LowRankPredictor predictor = new LowRankPredictor(p, qt, offset, best.a, best.c, magnitudeOf, 0f);

        float[] valScores = predictorScores(predictor, samples, val, pool);
        float threshold = thresholdForRecall(valScores, fires, val, n, o.validationRecall());
        double recallVal = recall(valScores, fires, val, n, threshold);
        float[] testScores = predictorScores(predictor, samples, test, pool);
        double recallTest = recall(testScores, fires, test, n, threshold);
        double densityTest = density(testScores, threshold);
        double oracleTest = oracleDensity(fires, test, n);
        predictor = predictor.withThreshold(threshold);
        LayerReport report = new LayerReport(layer, r, threshold, tau, oracleTest, densityTest, recallVal, recallTest,
                predictor.bytes(), nTrain, test.length);
        return new LayerFit(predictor, frequency, report);
    }

    /**
     * Whether a neuron fires: its activation is non-zero for ReLU-like activations ({@code h = relu(g) * u}
     * is then non-zero, up to an exactly zero {@code u}); {@code |act(g)| > tau} otherwise.
     */
    static boolean fires(ActivationType act, float gate, float up, float tau) {
        return switch (act) {
            case RELU, RELU_SQUARED -> gate > 0f;
            case DRELU -> gate > 0f && up > 0f;
            default -> Math.abs(act.apply(gate)) > tau;
        };
    }

    /** The calibration feature of a predicted pre-activation. */
    static float feature(ActivationType magnitudeOf, float gHat) {
        return magnitudeOf == null ? gHat : Math.abs(magnitudeOf.apply(gHat));
    }

    /** {@code out[s * rows + i] = row i of w . sample s}, with the tensor's own dot kernel. */
    static float[] preActivations(Tensor w, float[] samples, int count, Parallel pool) {
        int n = w.rows(), d = w.cols();
        float[] out = new float[Math.multiplyExact(count, n)];
        pool.forRange(n, (from, to) -> {
            for (int i = from; i < to; i++) {
                long off = w.rowOffset(i);
                for (int s = 0; s < count; s++) out[s * n + i] = w.type().dot(w.data(), off, samples, s * d, d);
            }
        });
        return out;
    }

    /** The |act(g)| above which a fraction {@code density} of the train samples' neurons lie. */
    static float magnitudeThreshold(float[] g, ActivationType act, int[] train, int n, double density) {
        int total = train.length * n;
        int stride = Math.max(1, total / 2_000_000);
        float[] mags = new float[(total + stride - 1) / stride];
        int c = 0;
        for (int t = 0, idx = 0; t < train.length; t++) {
            int base = train[t] * n;
            for (int i = 0; i < n; i++, idx++) {
                if (idx % stride == 0 && c < mags.length) mags[c++] = Math.abs(act.apply(g[base + i]));
            }
        }
        mags = Arrays.copyOf(mags, c);
        Arrays.sort(mags);
        int at = (int) Math.min(c - 1, Math.max(0, Math.round((1 - density) * c)));
        return at == 0 ? 0f : Math.nextDown(mags[at]);
    }

    static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Random rnd = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    static long predictorBytes(int r, int d, int n, List<GgmlType> types) {
        GgmlType pt = Storage.choose(types, d), qt = Storage.choose(types, n);
        return pt.bytesFor((long) r * d) + qt.bytesFor((long) r * n) + 8L * n;
    }

    /** Calibration and validation figures of one candidate rank. */
    private static final class Candidate {
        int rank;
        float[] a, c;
        double density;
        double cost;
    }

    private static Candidate evaluate(int r, float[] gHat, ActivationType magnitudeOf, boolean[] fires, int n, int[] train,
                                      int[] val, Options o, Parallel pool) {
        Candidate cand = new Candidate();
        cand.rank = r;
        cand.a = new float[n];
        cand.c = new float[n];
        pool.forRange(n, (from, to) -> {
            float[] f = new float[train.length];
            boolean[] y = new boolean[train.length];
            float[] ac = new float[2];
            for (int i = from; i < to; i++) {
                for (int t = 0; t < train.length; t++) {
                    f[t] = feature(magnitudeOf, gHat[train[t] * n + i]);
                    y[t] = fires[train[t] * n + i];
                }
                calibrate(f, y, ac);
                cand.a[i] = ac[0];
                cand.c[i] = ac[1];
            }
        });
        float[] scores = new float[val.length * n];
        for (int v = 0; v < val.length; v++) {
            int base = val[v] * n;
            for (int i = 0; i < n; i++) scores[v * n + i] = Math.fma(cand.a[i], feature(magnitudeOf, gHat[base + i]), cand.c[i]);
        }
        float t = thresholdForRecall(scores, fires, val, n, o.validationRecall());
        cand.density = density(scores, t);
        return cand;
    }

    /**
     * Two-parameter logistic regression {@code P(fire) = sigmoid(a f + c)} by Newton's method, with a light
     * ridge penalty so separable or one-class neurons get finite parameters. Writes {@code a, c} to {@code out}.
     */
    static void calibrate(float[] f, boolean[] y, float[] out) {
        int n = f.length;
        double mean = 0;
        for (float v : f) mean += v;
        mean /= n;
        double var = 0;
        for (float v : f) var += (v - mean) * (v - mean);
        double std = Math.sqrt(var / n);
        int positives = 0;
        for (boolean b : y) if (b) positives++;
        if (std == 0 || positives == 0 || positives == n) {
            double rate = (positives + 0.5) / (n + 1.0);
            out[0] = positives == 0 || positives == n ? (float) (std == 0 ? 0 : 1 / std) : 0f;
            out[1] = (float) (Math.log(rate / (1 - rate)) - out[0] * mean);
            return;
        }
        double lambdaW = 1.0, lambdaC = 1e-3;
        double w = 1, c = 0;
        for (int it = 0; it < 25; it++) {
            double gw = lambdaW * w, gc = lambdaC * c, hww = lambdaW, hwc = 0, hcc = lambdaC;
            for (int s = 0; s < n; s++) {
                double t = (f[s] - mean) / std;
                double p = 1 / (1 + Math.exp(-(w * t + c)));
                double e = p - (y[s] ? 1 : 0);
                double q = p * (1 - p);
                gw += e * t;
                gc += e;
                hww += q * t * t;
                hwc += q * t;
                hcc += q;
            }
            double det = hww * hcc - hwc * hwc;
            if (!(det > 0)) break;
            double dw = (hcc * gw - hwc * gc) / det;
            double dc = (hww * gc - hwc * gw) / det;
            double step = Math.max(Math.abs(dw), Math.abs(dc));
            if (step > 4) { dw *= 4 / step; dc *= 4 / step; }
            w -= dw;
            c -= dc;
            if (step < 1e-6) break;
        }
        out[0] = (float) (w / std);
        out[1] = (float) (c - w * mean / std);
    }

    /** Scores of the stored predictor for the given samples: {@code rows.length x neurons}. */
    static float[] predictorScores(NeuronPredictor p, float[] samples, int[] rows, Parallel pool) {
        int n = p.neurons(), d = p.inputDim();
        float[] out = new float[rows.length * n];
        pool.forRange(rows.length, (from, to) -> {
            float[] x = new float[d];
            float[] hidden = new float[p.hiddenDim()];
            float[] s = new float[n];
            for (int t = from; t < to; t++) {
                System.arraycopy(samples, rows[t] * d, x, 0, d);
                p.project(x, hidden);
                p.scores(hidden, 0, n, s);
                System.arraycopy(s, 0, out, t * n, n);
            }
        });
        return out;
    }

    /**
     * The largest threshold that keeps at least {@code target} of the firing (sample, neuron) pairs at or above
     * it; +infinity when nothing fires.
     */
    static float thresholdForRecall(float[] scores, boolean[] fires, int[] rows, int n, double target) {
        int positives = 0;
        for (int t = 0; t < rows.length; t++) {
            for (int i = 0; i < n; i++) if (fires[rows[t] * n + i]) positives++;
        }
        if (positives == 0) return Float.POSITIVE_INFINITY;
        float[] pos = new float[positives];
        int c = 0;
        for (int t = 0; t < rows.length; t++) {
            for (int i = 0; i < n; i++) if (fires[rows[t] * n + i]) pos[c++] = scores[t * n + i];
        }
        Arrays.sort(pos);
        int miss = (int) Math.floor((1 - target) * positives + 1e-9);
        return pos[Math.min(miss, positives - 1)];
    }

    static double recall(float[] scores, boolean[] fires, int[] rows, int n, float threshold) {
        long pos = 0, hit = 0;
        for (int t = 0; t < rows.length; t++) {
            for (int i = 0; i < n; i++) {
                if (fires[rows[t] * n + i]) {
                    pos++;
                    if (scores[t * n + i] >= threshold) hit++;
                }
            }
        }
        return pos == 0 ? 1.0 : (double) hit / pos;
    }

    static double density(float[] scores, float threshold) {
        long sel = 0;
        for (float s : scores) if (s >= threshold) sel++;
        return scores.length == 0 ? 0 : (double) sel / scores.length;
    }

    static double oracleDensity(boolean[] fires, int[] rows, int n) {
        long f = 0;
        for (int r : rows) for (int i = 0; i < n; i++) if (fires[r * n + i]) f++;
        return rows.length == 0 ? 0 : (double) f / ((long) rows.length * n);
    }
}
