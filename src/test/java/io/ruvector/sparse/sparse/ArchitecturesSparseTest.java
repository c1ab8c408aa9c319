package io.ruvector.sparse.sparse;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.model.AttentionSettings;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The sparse feed-forward block on the architectures beyond llama: qwen3 (q/k norms, 48-wide heads on a 128-wide
 * model), phi3 (gate and up as the two halves of one fused ffn_up) and gemma2/gemma3 (GeGLU, whose tanh GELU has
 * no exact zeros, followed by a post norm; 12 decoded tokens pass their window of 8). With every neuron selected it
 * must reproduce dense decoding bit for bit, in F32 and in the default (int8 for Q8_0) activations.
 */
class ArchitecturesSparseTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"syn-qwen3.F32", "syn-qwen3.Q8_0", "syn-phi3.F32", "syn-phi3.Q8_0", "syn-gemma2.F32",
            "syn-gemma2.Q8_0", "syn-gemma3.F32", "syn-gemma3.Q8_0"})
    void everyNeuronSelectedIsBitIdenticalToDense(String stem) throws Exception {
        assertSparseAtFullDensityIsDense(Fixtures.require("reference/" + stem + ".gguf"), stem);
    }

    /**
     * Gemma settings the references do not use, on the references' weights rewritten with our writer: other
     * windows and window patterns, another local RoPE base, other soft caps. The prompt (20 tokens, in one batch)
     * and the decoded tokens run past every window.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gemma3-window5-pattern3-base100-final4", "gemma2-window3-pattern3-cap2-final5"})
    void gemmaWithOtherWindowsAndSoftCapsToo(String variant) throws Exception {
        boolean gemma3 = variant.startsWith("gemma3");
        String arch = gemma3 ? "gemma3" : "gemma2";
        Path source = Fixtures.require("reference/syn-" + arch + ".Q8_0.gguf");
        Path model = dir.resolve(variant + ".gguf");
        try (GgufFile f = GgufFile.open(source)) {
            GgufWriter w = new GgufWriter().putAll(f.metadata());
            w.putU32(arch + ".attention.sliding_window", gemma3 ? 5 : 3).putU32(arch + ".attention.sliding_window_pattern", 3);
            w.putF32(arch + ".final_logit_softcapping", gemma3 ? 4f : 5f);
            if (gemma3) w.putF32(arch + ".rope.freq_base_swa", 100f);
            else w.putF32(arch + ".attn_logit_softcapping", 2f);
            for (TensorInfo t : f.tensors()) w.addTensor(t.name(), t.type(), t.dims(), f.tensorData(t));
            w.write(model);
        }
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(1))) {
            AttentionSettings a = m.config().attention();
            assertEquals(gemma3 ? 5 : 3, a.window());
            assertEquals(gemma3 ? 4f : 5f, a.finalSoftCap());
            assertEquals(gemma3 ? 0f : 2f, a.softCap());
        }
        assertSparseAtFullDensityIsDense(model, variant);
    }

    private void assertSparseAtFullDensityIsDense(Path model, String name) throws Exception {
        Path sidecar = dir.resolve(name + ".sparse.gguf");
        ModelOptions options = ModelOptions.defaults().withThreads(2);
        try (LanguageModel m = LanguageModel.open(model, options)) {
            Random r = new Random(3);
            int[] tokens = new int[400];
            for (int i = 0; i < tokens.length; i++) tokens[i] = 3 + r.nextInt(m.config().vocabSize() - 3);
            var fit = PredictorTrainer.Options.defaults().withRanks(16).withTargetDensity(0.5);
            Calibrator.calibrate(m, tokens, 1, sidecar, Calibrator.Options.defaults().withFit(fit).withMaxSamples(400),
                    Calibrator.Progress.NONE);
        }
        int[] prompt = TinyModels.randomTokens(20, 500, 11);
        for (int i = 0; i < prompt.length; i++) prompt[i] += 3;
        try (LanguageModel m = LanguageModel.open(model, options);
             SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults().withDensity(1.0))) {
            try (Session d = m.newSession(); Session s = sm.newSession()) {
                assertArrayEquals(d.evaluateAll(prompt), s.evaluateAll(prompt), name + " prompt");
            }
            float[][] dense = SparseModelTest.decode(m.newSession(), 12);
            float[][] sparse = SparseModelTest.decode(sm.newSession(), 12);
            for (int i = 0; i < dense.length; i++) assertArrayEquals(dense[i], sparse[i], name + " step " + i);
        }
    }
}
