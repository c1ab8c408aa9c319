package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.synth.SyntheticModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The observer sees every (layer, token) FFN input and activation, the same in batched and single steps. */
class FfnObserverTest {

    @TempDir
    Path dir;

    @Test
    void observesReluSparsityOfASyntheticModel() throws Exception {
        Path file = dir.resolve("relu.gguf");
        SyntheticModel.Options o = new SyntheticModel.Options("relu", 128, 2, 512, 4, 2, 512, 64, 10000, 1e-5,
                GgmlType.F32, 3, SyntheticModel.FfnActivation.RELU, 0.1, false);
        try (Parallel pool = new Parallel(1)) {
            SyntheticModel.write(o, file, pool, (done, total) -> {});
        }
        int[] prompt = {1, 40, 41, 42, 43, 44, 45, 46, 47};
        List<float[]> batched = new ArrayList<>();
        List<float[]> single = new ArrayList<>();
        try (LanguageModel m = LanguageModel.open(file, ModelOptions.defaults().withThreads(2).withBatchSize(4))) {
            assertEquals(io.ruvector.sparse.kernels.ActivationType.RELU, m.config().activation());
            try (Session s = m.newSession()) {
                s.setFfnObserver((layer, x, h) -> {
                    assertEquals(128, x.length);
                    assertEquals(512, h.length);
                    batched.add(new float[]{layer});
                    batched.add(h.clone());
                });
                s.evaluate(prompt);
            }
            try (Session s = m.newSession()) {
                s.setFfnObserver((layer, x, h) -> {
                    single.add(new float[]{layer});
                    single.add(h.clone());
                });
                for (int t : prompt) s.evaluate(t);
                s.setFfnObserver(null);
                int before = single.size();
                s.evaluate(5);
                assertEquals(before, single.size(), "a removed observer sees nothing");
            }
        }
        assertEquals(2 * 2 * prompt.length, batched.size(), "one call per layer and token");
        long zeros = 0;
        long total = 0;
        for (int i = 0; i < batched.size(); i += 2) {
            // Batched calls come layer by layer (all tokens of a chunk per layer); single ones token by token.
            float[] h = batched.get(i + 1);
            for (float v : h) if (v == 0f) zeros++;
            total += h.length;
        }
        double active = 1 - (double) zeros / total;
        assertTrue(active > 0.02 && active < 0.3, "fraction of firing neurons " + active + " (planted 0.1)");
        // Same (layer, token) activations from both orders, within float tolerance.
        for (int t = 0; t < prompt.length; t++) {
            for (int layer = 0; layer < 2; layer++) {
                float[] a = find(batched, layer, t, 4);
                float[] b = single.get(2 * (t * 2 + layer) + 1);
                assertEquals((int) single.get(2 * (t * 2 + layer))[0], layer);
                float max = 0;
                for (int j = 0; j < a.length; j++) max = Math.max(max, Math.abs(a[j] - b[j]));
                assertTrue(max < 1e-4, "layer " + layer + " token " + t + ": " + max);
            }
        }
    }

    /** Batched order: chunks of {@code batch} tokens; within a chunk, layer by layer, token by token. */
    private static float[] find(List<float[]> calls, int layer, int t, int batch) {
        int chunk = t / batch;
        int chunkStart = chunk * batch;
        int tokensInEarlierChunks = chunkStart;
        int n = Math.min(batch, 9 - chunkStart);
        int index = tokensInEarlierChunks * 2 + layer * n + (t - chunkStart);
        return calls.get(2 * index + 1);
    }
}
