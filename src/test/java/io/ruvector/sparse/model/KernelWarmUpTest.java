package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.synth.SyntheticModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The warm-up of {@link ModelOptions#warmUpMillis} runs beside the real model without changing a single logit, and
 * closing the model stops it.
 */
class KernelWarmUpTest {

    @TempDir
    Path dir;

    private Path synth(GgmlType type) throws Exception {
        Path file = dir.resolve("tiny-" + type + ".gguf");
        try (Parallel pool = new Parallel(1)) {
            SyntheticModel.write(SyntheticModel.Options.preset("tiny").withWeightType(type), file, pool, null);
        }
        return file;
    }

    /** Logits after a prompt and each of {@code steps} greedy steps, concatenated. */
    private static float[] greedyLogits(Path file, ModelOptions options, int steps) throws Exception {
        try (LanguageModel m = LanguageModel.open(file, options); Session s = m.newSession()) {
            int vocab = m.config().vocabSize();
            float[] all = new float[(steps + 1) * vocab];
            Logits l = s.evaluate(1, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312);
            for (int i = 0; ; i++) {
                System.arraycopy(l.toArray(), 0, all, i * vocab, vocab);
                if (i == steps) break;
                l = s.evaluate(argmax(all, i * vocab, vocab));
            }
            return all;
        }
    }

    private static int argmax(float[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (v[from + i] > v[from + best]) best = i;
        return best;
    }

    @Test
    void sameLogitsWithAndWithoutAWarmUpRunningBeside() throws Exception {
        for (GgmlType t : List.of(GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q8_0)) {
            Path file = synth(t);
            ModelOptions base = ModelOptions.defaults().withThreads(2);
            float[] cold = greedyLogits(file, base, 12);
            float[] warmed = greedyLogits(file, base.withWarmUp(10_000), 12);
            assertArrayEquals(cold, warmed, t + ": the warm-up changed a logit");
        }
    }

    @Test
    void theFirstEvaluationWaitsForTheWarmUpToEnd() throws Exception {
        try (LanguageModel m = LanguageModel.open(synth(GgmlType.Q4_K), ModelOptions.defaults().withThreads(2).withWarmUp(10_000));
             Session s = m.newSession()) {
            s.evaluate(1, 300, 301);
            assertFalse(m.warmUp().running(), "the first evaluation ran beside the warm-up");
        }
    }

    @Test
    void theRoutinesFollowTheProductsWithoutFailingOnEveryType() throws Exception {
        for (GgmlType t : List.of(GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q8_0, GgmlType.F16)) {
            try (LanguageModel m = LanguageModel.open(synth(t), ModelOptions.defaults().withThreads(2).withWarmUp(10_000));
                 Session s = m.newSession()) {
                s.evaluate(1, 300, 301);
                KernelWarmUp w = m.warmUp();
                assertNull(w.failure(), () -> t + ": the warm-up failed: " + w.failure());
                // The routines' series follows the products' once they run compiled, and its rounds at the model's
                // widths ran through (in a JVM without the launcher's flags, at a forced narrow vector width, the
                // budget can end either series first).
                if (w.productsSettled()) {
                    assertTrue(w.routineRounds() >= 1, t + ": no round of the routines after the products settled");
                }
            }
        }
    }

    @Test
    void routinesAreOverWhenTheirRoundsStopGettingFaster() {
        assertTrue(KernelWarmUp.plateau(new long[] {1_050_000, 1_000_000, 1_100_000}, 1_000_000));
        assertFalse(KernelWarmUp.plateau(new long[] {2_000_000, 2_050_000, 2_100_000}, 1_000_000), "steady, but slower than the best");
        assertFalse(KernelWarmUp.plateau(new long[] {1_000_000, 1_900_000, 1_000_000}, 1_000_000), "not steady");
        assertFalse(KernelWarmUp.plateau(new long[] {0, 1_000_000, 1_000_000}, 1_000_000), "fewer rounds than the window");
    }

    @Test
    void roundsAreOverOnlyWhenSteadyAndFast() {
        long fast = 1_000_000;
        assertTrue(KernelWarmUp.settled(new long[] {200_000, 210_000, 190_000}, fast));
        assertFalse(KernelWarmUp.settled(new long[] {20_000_000, 21_000_000, 19_000_000}, fast), "steady but slow: C1 code");
        assertFalse(KernelWarmUp.settled(new long[] {200_000, 900_000, 190_000}, fast), "fast but not steady yet");
        assertFalse(KernelWarmUp.settled(new long[] {0, 200_000, 190_000}, fast), "fewer rounds than the window");
    }

    @Test
    void closingTheModelStopsTheWarmUp() throws Exception {
        Path file = synth(GgmlType.Q4_0);
        LanguageModel m = LanguageModel.open(file, ModelOptions.defaults().withThreads(2).withWarmUp(600_000));
        KernelWarmUp w = m.warmUp();
        assertNotNull(w);
        m.close();
        assertFalse(w.running(), "the warm-up thread outlived its model");
    }

    @Test
    void noWarmUpByDefault() throws Exception {
        try (LanguageModel m = LanguageModel.open(synth(GgmlType.Q8_0), ModelOptions.defaults().withThreads(1))) {
            assertNull(m.warmUp());
            assertEquals(0, m.options().warmUpMillis());
        }
        assertThrows(IllegalArgumentException.class, () -> ModelOptions.defaults().withWarmUp(-1));
    }

    @Test
    void warmsUpTheFilesMatrixTypesMostFrequentFirst() throws Exception {
        try (GgufFile f = GgufFile.open(synth(GgmlType.Q4_K))) {
            assertEquals(List.of(GgmlType.Q4_K), KernelWarmUp.matrixTypes(f));
        }
    }
}
