package io.ruvector.sparse.sparse;

import io.ruvector.sparse.quant.GgmlType;
import io.ruvector.sparse.model.ActivationPrecision;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Calibration, sidecar and sparse decoding end to end on a small synthetic ReLU model. */
class SparseModelTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path sidecar;
    static Calibrator.Result result;

    static final int[] PROMPT = {5, 17, 33, 101, 7};

    @BeforeAll
    static void calibrate() throws Exception {
        model = TinyModels.write(dir.resolve("tiny.gguf"), TinyModels.SMALL, GgmlType.Q8_0, "relu", 3);
        sidecar = dir.resolve("tiny.sparse.gguf");
        var fit = PredictorTrainer.Options.defaults().withRanks(8, 16, 32);
        var o = Calibrator.Options.defaults().withFit(fit).withSequenceLength(100).withMaxSamples(600);
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2))) {
            result = Calibrator.calibrate(m, TinyModels.randomTokens(700, 256, 9), -1, sidecar, o, Calibrator.Progress.NONE);
        }
    }

    @Test
    void calibrationMeetsTheRecallTargetOnHeldOutSamples() throws Exception {
        assertEquals(700, result.tokens());
        for (LayerReport r : result.reports()) {
            assertTrue(r.oracleDensity() > 0.03 && r.oracleDensity() < 0.4, r.toRow());
            assertTrue(r.recallValidation() >= 0.99, r.toRow());
            assertTrue(r.recallTest() >= 0.97, r.toRow());
            assertTrue(r.predictedDensity() < 3 * r.oracleDensity() + 0.05, r.toRow());
        }
        try (SparseSidecar s = SparseSidecar.open(sidecar)) {
            List<LayerReport> stored = s.report().orElseThrow();
            for (int l = 0; l < stored.size(); l++) {
                LayerReport a = result.reports().get(l), b = stored.get(l);
                assertEquals(a.rank(), b.rank());
                assertEquals(a.threshold(), b.threshold());
                assertEquals(a.recallTest(), b.recallTest(), 1e-6);
                assertEquals(a.predictedDensity(), b.predictedDensity(), 1e-6);
                assertEquals(a.predictorBytes(), b.predictorBytes());
            }
            int[] order = s.neuronOrder(0).orElseThrow();
            float[] freq = s.frequency(0).orElseThrow();
            for (int k = 1; k < order.length; k++) assertTrue(freq[order[k - 1]] >= freq[order[k]]);
            // ffn_down_t is the transpose of ffn_down, in the model's type.
            try (LanguageModel m = LanguageModel.open(model)) {
                var down = m.weights().layers().get(1).down();
                assertEquals(GgmlType.Q8_0, s.downT(1).ggmlType());
                float[] d = down.toFloatArray(), dt = s.downT(1).toFloatArray();
                int dim = down.rows(), ffn = down.cols();
                for (int i = 0; i < ffn; i += 37) {
                    for (int j = 0; j < dim; j += 5) assertEquals(d[j * ffn + i], dt[i * dim + j], 0.02 * Math.abs(d[j * ffn + i]) + 2e-3);
                }
            }
        }
    }

    /** Logits of {@code steps} greedy steps after {@link #PROMPT}; closes the session. */
    static float[][] decode(Session session, int steps) {
        try (Session s = session) {
            return decodeOpen(s, steps);
        }
    }

    static float[][] decodeOpen(Session s, int steps) {
        float[][] out = new float[steps][];
        int tok = s.evaluate(PROMPT).argmax();
        for (int i = 0; i < steps; i++) {
            out[i] = s.evaluate(tok).toArray();
            tok = s.logits().argmax();
        }
        return out;
    }

    /** F32, and the default AUTO, where the dense decode multiplies these Q8_0 weights in int8 and so must the sparse block. */
    @ParameterizedTest
    @EnumSource(value = ActivationPrecision.class, names = {"F32", "AUTO"})
    void everyNeuronSelectedGivesLogitsBitIdenticalToDense(ActivationPrecision activations) throws Exception {
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2).withActivations(activations));
             SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults().withDensity(1.0))) {
            float[][] dense, sparse;
            dense = decode(m.newSession(), 6);
            sparse = decode(sm.newSession(), 6);
            for (int i = 0; i < dense.length; i++) assertArrayEquals(dense[i], sparse[i], "step " + i);
            assertEquals(1.0, sm.stats().density(0, TinyModels.SMALL.ffn()));
        }
    }

    @Test
    void everyNeuronSelectedWithInt8ActivationsGivesLogitsBitIdenticalToDense() throws Exception {
        ModelOptions int8 = ModelOptions.defaults().withThreads(2).withActivations(ActivationPrecision.INT8);
        try (LanguageModel m = LanguageModel.open(model, int8);
             LanguageModel exact = LanguageModel.open(model, ModelOptions.defaults().withThreads(2).withActivations(ActivationPrecision.F32));
             SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults().withDensity(1.0).withHotBytes(200_000))) {
            float[][] dense = decode(m.newSession(), 6);
            float[][] sparse = decode(sm.newSession(), 6);
            for (int i = 0; i < dense.length; i++) assertArrayEquals(dense[i], sparse[i], "step " + i);
            // The int8 rounding is really in effect: the float32 model gives other logits.
            float[][] f32 = decode(exact.newSession(), 6);
            assertTrue(!java.util.Arrays.equals(f32[0], dense[0]), "int8 activations change the logits");
        }
    }

    @Test
    void predictedSparseDecodingFollowsDenseAndDoesNotDependOnThreads() throws Exception {
        int[] dense = greedy(null, 2, SparseOptions.defaults(), 24);
        int[] sparse1 = greedy(sidecar, 1, SparseOptions.defaults(), 24);
        int[] sparse2 = greedy(sidecar, 2, SparseOptions.defaults().withHotBytes(200_000), 24);
        assertArrayEquals(sparse1, sparse2, "thread count and hot tier do not change results");
        assertArrayEquals(dense, sparse1);
    }

    static int[] greedy(Path sidecarPath, int threads, SparseOptions o, int steps) throws Exception {
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(threads))) {
            SparseModel sm = sidecarPath == null ? null : SparseModel.attach(m, sidecarPath, o);
            try (Session s = sm == null ? m.newSession() : sm.newSession()) {
                int[] out = new int[steps];
                int tok = s.evaluate(PROMPT).argmax();
                for (int i = 0; i < steps; i++) {
                    out[i] = tok;
                    tok = s.evaluate(tok).argmax();
                }
                if (sm != null) {
                    SparseStats st = sm.stats();
                    for (int l = 0; l < st.layers(); l++) {
                        double density = st.density(l, TinyModels.SMALL.ffn());
                        assertTrue(density > 0.01 && density < 0.6, "layer " + l + " density " + density);
                    }
                }
                return out;
            } finally {
                if (sm != null) sm.close();
            }
        }
    }

    @Test
    void measuredRecallAndHotTierCounts() throws Exception {
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2));
             SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults().withHotBytes(100_000).withColdCache(50_000,
                     io.ruvector.sparse.memory.ColdRowCache.Policy.LFU));
             Session s = sm.newSession()) {
            sm.setMeasureRecall(true);
            decodeOpen(s, 16);
            SparseStats st = sm.stats();
            assertTrue(st.recall() > 0.95, "recall " + st.recall());
            assertTrue(sm.tiers().hotNeurons() > 0);
            assertTrue(st.bytesPerToken() > st.predictorBytesPerToken());
        }
    }

    @Test
    void liveFiringCountsReTierTheHotSet() throws Exception {
        long slot = 3L * 128 * 34 / 32; // gate, up and down_t rows of one neuron, Q8_0
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2));
             SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults().withHotBytes(40 * slot).withRetierEvery(64));
             Session s = sm.newSession()) {
            assertEquals(40, sm.tiers().hotNeurons());
            assertEquals(0, sm.tiers().generation());
            int tok = s.evaluate(PROMPT).argmax();
            for (int i = 0; i < 140; i++) tok = s.evaluate(tok).argmax();
            assertTrue(sm.tiers().generation() >= 1, "live counts differ from calibration: the hot set moved");
            assertEquals(40, sm.tiers().hotNeurons());
            // Results do not depend on where rows are read from (re-tiered hot arena or the files).
            s.reset();
            float[][] tiered = decodeOpen(s, 8);
            try (SparseModel plain = SparseModel.attach(m, sidecar, SparseOptions.defaults())) {
                float[][] files = decode(plain.newSession(), 8);
                for (int i = 0; i < files.length; i++) assertArrayEquals(files[i], tiered[i], "step " + i);
            }
        }
    }

    @Test
    void aSidecarForAnotherModelIsRefused() throws Exception {
        Path other = TinyModels.write(dir.resolve("other.gguf"), TinyModels.SMALL, GgmlType.Q8_0, "relu", 4);
        try (LanguageModel m = LanguageModel.open(other)) {
            var e = assertThrows(IllegalArgumentException.class, () -> SparseModel.attach(m, sidecar, SparseOptions.defaults()));
            assertTrue(e.getMessage().contains("another model"), e.getMessage());
        }
        Path silu = TinyModels.write(dir.resolve("silu.gguf"), TinyModels.SMALL, GgmlType.Q8_0, "silu", 3);
        try (LanguageModel m = LanguageModel.open(silu)) {
            var e = assertThrows(IllegalArgumentException.class, () -> SparseModel.attach(m, sidecar, SparseOptions.defaults()));
            assertTrue(e.getMessage().contains("activation"), e.getMessage());
        }
    }
}
