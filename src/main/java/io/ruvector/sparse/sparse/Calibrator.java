package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.LayerWeights;
import io.ruvector.sparse.model.ModelConfig;
import io.ruvector.sparse.model.Session;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Calibration in the engine, in three steps a caller can run together ({@link #calibrate}) or apart:
 * <ol>
 *   <li>{@link #record}: run the dense model over calibration tokens, keeping a bounded sample of every layer's
 *       FFN inputs and counting firing neurons ({@link ActivationRecorder});</li>
 *   <li>{@link #fit}: fit every layer's predictor ({@link PredictorTrainer});</li>
 *   <li>{@link #write}: write the sidecar ({@link SidecarWriter}), atomically.</li>
 * </ol>
 */
public final class Calibrator {

    /**
     * @param sampleBytes    memory for the FFN-input samples of all layers together
     * @param maxSamples     samples per layer at most (the reservoir size, also bounded by {@code sampleBytes})
     * @param sequenceLength tokens per dense pass (each pass starts a fresh context, with BOS when the model has one)
     * @param fit            predictor fitting options
     * @param seed           seed of the reservoir
     * @param downType       stored type of {@code ffn_down_t}; null for {@link SidecarWriter#downTType(Tensor)}'s choice
     * @param gateSparsity   sparsity levels of training-free gate selection to calibrate thresholds for (empty: none)
     */
    public record Options(long sampleBytes, int maxSamples, int sequenceLength, PredictorTrainer.Options fit, long seed,
                          GgmlType downType, float[] gateSparsity) {
        public Options {
            gateSparsity = gateSparsity.clone();
            if (gateSparsity.length > 0) GateThresholds.check(gateSparsity, new float[0][]);
            if (sampleBytes < 1 || maxSamples < 20 || sequenceLength < 2) {
                throw new IllegalArgumentException("bad calibration options: sample bytes " + sampleBytes + ", max samples "
                        + maxSamples + " (>= 20), sequence length " + sequenceLength + " (>= 2)");
            }
        }

        /** 256 MiB of samples, at most 4096 per layer, sequences of 256 tokens, default fitting. */
        public static Options defaults() {
            return new Options(256L << 20, 4096, 256, PredictorTrainer.Options.defaults(), 1234, null, new float[0]);
        }

        public Options withFit(PredictorTrainer.Options f) { return new Options(sampleBytes, maxSamples, sequenceLength, f, seed, downType, gateSparsity); }

        public Options withMaxSamples(int n) { return new Options(sampleBytes, n, sequenceLength, fit, seed, downType, gateSparsity); }

        public Options withSequenceLength(int n) { return new Options(sampleBytes, maxSamples, n, fit, seed, downType, gateSparsity); }

        public Options withSampleBytes(long b) { return new Options(b, maxSamples, sequenceLength, fit, seed, downType, gateSparsity); }

        /** Stores {@code ffn_down_t} as {@code t} (when its rows fit; null: the default choice). */
        public Options withDownType(GgmlType t) { return new Options(sampleBytes, maxSamples, sequenceLength, fit, seed, t, gateSparsity); }

        /** Also calibrates gate-selection thresholds for these sparsity levels (strictly ascending, in (0, 1)). */
        public Options withGateSparsity(float... levels) { return new Options(sampleBytes, maxSamples, sequenceLength, fit, seed, downType, levels); }
    }

    /** Told how far a step is; {@code phase} is "record", "fit" or "write". */
    @FunctionalInterface
    public interface Progress {
        void update(String phase, long done, long total);

        Progress NONE = (phase, done, total) -> {};
    }

    /**
     * Result of fitting.
     *
     * @param fits    one per layer
     * @param tokens  calibration tokens observed
     * @param samples samples per layer
     * @param gate    gate-selection thresholds, or null when none were asked for
     */
    public record Result(List<PredictorTrainer.LayerFit> fits, long tokens, int samples, GateThresholds gate) {
        /** The per-layer reports. */
        public List<LayerReport> reports() { return fits.stream().map(PredictorTrainer.LayerFit::report).toList(); }
    }

    private Calibrator() {}

    /**
     * Calibration transposes the model's {@code ffn_down} into the sidecar: a file that stores it transposed only
     * is PowerInfer's layout, which carries its own predictors and is its own sidecar.
     *
     * @throws UnsupportedOperationException naming the first layer without {@code ffn_down}
     */
    public static void requireDown(LanguageModel model) {
        List<LayerWeights> layers = model.weights().layers();
        for (int l = 0; l < layers.size(); l++) {
            if (layers.get(l).down() == null) {
                throw new UnsupportedOperationException("layer " + l + " has no ffn_down, only ffn_down_t (PowerInfer's"
                        + " layout): such a file carries its own predictors; give it as the --sparse sidecar instead of calibrating");
            }
        }
    }

    /** Records, fits and writes the sidecar to {@code out}; returns the fit. */
    public static Result calibrate(LanguageModel model, int[] tokens, int bos, Path out, Options o, Progress p)
            throws IOException {
        requireDown(model);
        ActivationRecorder rec = record(model, tokens, bos, o, p);
        try (Parallel pool = new Parallel(model.options().threads())) {
            Result r = fit(model, rec, o, pool, p);
            write(out, model, r, o, pool, p);
            return r;
        }
    }

    /**
     * Runs the dense model over {@code tokens} in sequences of {@link Options#sequenceLength()} and records
     * every layer's FFN inputs and firing counts.
     *
     * @param bos token prepended to every sequence that does not start with it; -1 for none
     */
    public static ActivationRecorder record(LanguageModel model, int[] tokens, int bos, Options o, Progress p) {
        ModelConfig c = model.config();
        if (tokens.length == 0) throw new IllegalArgumentException("no calibration tokens");
        int samples = Math.min(o.maxSamples(), ActivationRecorder.samplesForBudget(o.sampleBytes(), c.layers(), c.dim()));
        ActivationRecorder rec = new ActivationRecorder(c.layers(), c.dim(), c.ffnDim(), samples, o.seed());
        try (Session s = model.newSession()) {
            int len = Math.min(o.sequenceLength(), s.contextLength());
            int body = bos >= 0 ? len - 1 : len;
            s.setFfnObserver(rec::observe);
            int[] seq = new int[len];
            for (int from = 0; from < tokens.length; from += body) {
                int n = Math.min(body, tokens.length - from);
                int k = 0;
                if (bos >= 0 && tokens[from] != bos) seq[k++] = bos;
                System.arraycopy(tokens, from, seq, k, n);
                s.reset();
                s.evaluate(Arrays.copyOf(seq, k + n));
                p.update("record", Math.min(tokens.length, from + n), tokens.length);
            }
        }
        return rec;
    }

    /** Fits every layer's predictor from the recorded samples (freeing each layer's samples once fitted). */
    public static Result fit(LanguageModel model, ActivationRecorder rec, Options o, Parallel pool, Progress p) {
        requireDown(model);
        ModelConfig c = model.config();
        if (!c.gatedFfn()) throw new UnsupportedOperationException("sparse calibration needs a gated feed-forward block (ffn_gate)");
        ActivationType act = SparseModel.activationOf(model);
        List<PredictorTrainer.LayerFit> fits = new ArrayList<>(c.layers());
        int samples = rec.sampleCount(0);
        float[][] gateThresholds = new float[c.layers()][];
        for (int l = 0; l < c.layers(); l++) {
            LayerWeights w = model.weights().layers().get(l);
            if (o.gateSparsity().length > 0) {
                float[] g = PredictorTrainer.preActivations(w.gate(), rec.samples(l), rec.sampleCount(l), pool);
                gateThresholds[l] = GateThresholds.layerThresholds(g, g.length, act, o.gateSparsity());
            }
            GgmlType downT = downType(w.down(), o);
            long neuronBytes = w.gate().rowBytes() + w.up().rowBytes() + downT.bytesFor(c.dim());
            var weights = new PredictorTrainer.FfnWeights(w.gate(), w.up(), act, neuronBytes);
            PredictorTrainer.LayerFit fit = PredictorTrainer.fit(l, rec.samples(l), rec.sampleCount(l), weights, o.fit(), pool);
            if (act.hasExactZeros()) {
                // Exact counts over every calibration token beat the sample estimate.
                fit = new PredictorTrainer.LayerFit(fit.predictor(), rec.nonZeroFrequency(l), fit.report());
            }
            fits.add(fit);
            rec.release(l);
            p.update("fit", l + 1, c.layers());
        }
        GateThresholds gate = o.gateSparsity().length > 0 ? new GateThresholds(o.gateSparsity(), gateThresholds) : null;
        return new Result(List.copyOf(fits), rec.tokens(), samples, gate);
    }

    private static GgmlType downType(io.ruvector.sparse.tensor.Tensor down, Options o) {
        return o.downType() == null ? SidecarWriter.downTType(down) : SidecarWriter.downTType(down, o.downType());
    }

    /** Writes the sidecar for {@code r} to {@code out} atomically. */
    public static void write(Path out, LanguageModel model, Result r, Options o, Parallel pool,
                             Progress p) throws IOException {
        ModelConfig c = model.config();
        List<SidecarWriter.Layer> layers = new ArrayList<>(c.layers());
        for (int l = 0; l < c.layers(); l++) {
            LayerWeights w = model.weights().layers().get(l);
            PredictorTrainer.LayerFit f = r.fits().get(l);
            layers.add(new SidecarWriter.Layer(f.predictor(), f.frequency(), f.report(), w.down(), downType(w.down(), o)));
        }
        var header = new SidecarWriter.Header(c.architecture(), c.dim(), c.ffnDim(), SparseModel.fingerprint(model),
                SparseModel.activationOf(model), o.fit().targetRecall(), o.fit().targetDensity(), r.tokens(), r.samples(), r.gate());
        SidecarWriter.write(out, header, layers, pool, (done, total) -> p.update("write", done, total));
    }
}
