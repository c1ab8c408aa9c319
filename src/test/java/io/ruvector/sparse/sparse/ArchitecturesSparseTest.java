package io.ruvector.sparse.sparse;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The sparse feed-forward block on the architectures beyond llama: qwen3 (q/k norms, 48-wide heads on a 128-wide
 * model) and phi3 (gate and up as the two halves of one fused ffn_up). With every neuron selected it must
 * reproduce dense decoding bit for bit, in F32 and in the default (int8 for Q8_0) activations.
 */
class ArchitecturesSparseTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"syn-qwen3.F32", "syn-qwen3.Q8_0", "syn-phi3.F32", "syn-phi3.Q8_0"})
    void everyNeuronSelectedIsBitIdenticalToDense(String stem) throws Exception {
        Path model = Fixtures.require("reference/" + stem + ".gguf");
        Path sidecar = dir.resolve(stem + ".sparse.gguf");
        ModelOptions options = ModelOptions.defaults().withThreads(2);
        try (LanguageModel m = LanguageModel.open(model, options)) {
            Random r = new Random(3);
            int[] tokens = new int[400];
            for (int i = 0; i < tokens.length; i++) tokens[i] = 3 + r.nextInt(m.config().vocabSize() - 3);
            var fit = PredictorTrainer.Options.defaults().withRanks(16).withTargetDensity(0.5);
            Calibrator.calibrate(m, tokens, 1, sidecar, Calibrator.Options.defaults().withFit(fit).withMaxSamples(400),
                    Calibrator.Progress.NONE);
        }
        try (LanguageModel m = LanguageModel.open(model, options);
             SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults().withDensity(1.0))) {
            float[][] dense = SparseModelTest.decode(m.newSession(), 12);
            float[][] sparse = SparseModelTest.decode(sm.newSession(), 12);
            for (int i = 0; i < dense.length; i++) assertArrayEquals(dense[i], sparse[i], stem + " step " + i);
        }
    }
}
