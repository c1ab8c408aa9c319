package io.ruvector.sparse.sparse;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** stories260K (SiLU, real weights): calibrated on one text, checked on another. */
class StoriesSparseTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path sidecar;

    static String resource(String name) throws IOException {
        try (InputStream in = StoriesSparseTest.class.getResourceAsStream("/sparse/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @BeforeAll
    static void calibrate() throws Exception {
        model = Fixtures.require("models/stories260K.gguf");
        sidecar = dir.resolve("stories.sparse.gguf");
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2))) {
            Tokenizer tok = Tokenizer.fromGguf(m.gguf());
            int[] tokens = java.util.Arrays.copyOf(tok.encode(resource("stories-calibration.txt"), false, false, false), 2000);
            var fit = PredictorTrainer.Options.defaults().withRanks(32, 64).withTargetDensity(0.5);
            Calibrator.calibrate(m, tokens, tok.bosId(), sidecar, Calibrator.Options.defaults().withFit(fit).withMaxSamples(1000),
                    Calibrator.Progress.NONE);
        }
    }

    @Test
    void everyNeuronSelectedIsBitIdenticalToDense() throws Exception {
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2));
             SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults().withDensity(1.0))) {
            float[][] dense = SparseModelTest.decode(m.newSession(), 12);
            float[][] sparse = SparseModelTest.decode(sm.newSession(), 12);
            for (int i = 0; i < dense.length; i++) assertArrayEquals(dense[i], sparse[i], "step " + i);
        }
    }

    @Test
    void recallTargetIsMetOnHeldOutText() throws Exception {
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(1));
             SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults());
             Session s = sm.newSession()) {
            Tokenizer tok = Tokenizer.fromGguf(m.gguf());
            int[] heldOut = tok.encode(resource("stories-heldout.txt"), true, false, false);
            sm.setMeasureRecall(true);
            for (int t : heldOut) s.evaluate(t);
            SparseStats st = sm.stats();
            System.out.printf("held-out recall %.4f%n", st.recall());
            assertTrue(st.recall() >= 0.99, "recall over all layers " + st.recall());
            for (int l = 0; l < st.layers(); l++) {
                assertTrue(st.recall(l) >= 0.98, "layer " + l + " recall " + st.recall(l));
                double d = st.density(l, m.config().ffnDim());
                assertTrue(d < 0.6, "layer " + l + " density " + d);
            }
        }
    }
}
