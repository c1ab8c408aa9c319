package io.ruvector.sparse.model;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link LanguageModel#evaluateTogether} against {@link Session#evaluate(int)} alone: for 1 to 8 sessions at different
 * positions, each session's logits after a batched step are the bits its own step gives, so greedy decoding is
 * identical. Every column of a batched product is rounded and multiplied as a single vector, so nothing looser than
 * equality is justified. Named *KernelTest so it runs at each forced vector width (128, 256, 512 bits): both sides
 * change with the width, together.
 */
class EvaluateTogetherKernelTest {

    private static final int STEPS = 3;

    private static LanguageModel open(String stem, ActivationPrecision precision, boolean repack) throws Exception {
        return LanguageModel.open(Fixtures.require("reference/" + stem + ".gguf"),
                ModelOptions.defaults().withThreads(2).withContextLength(64).withActivations(precision).withRepack(repack));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"syn-llama-gqa.F32", "syn-llama-gqa.F16", "syn-llama-gqa.Q8_0", "syn-llama-gqa.Q4_0",
            "syn-llama-gqa.Q4_K", "syn-llama-gqa.Q6_K", "syn-llama-gqa.Q4_K_M"})
    void everySessionGetsTheLogitsOfItsOwnStep(String stem) throws Exception {
        try (LanguageModel model = open(stem, ActivationPrecision.AUTO, true)) {
            for (int n = 1; n <= 8; n++) checkSteps(model, n, false, stem + " auto, " + n + " sessions");
        }
    }

    /** The other roundings: float activations everywhere, and ggml's (int8 and Q8_K for every product), unrepacked. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"syn-llama-gqa.Q4_0", "syn-llama-gqa.Q4_K_M", "syn-llama-gqa.BF16"})
    void otherActivationPrecisionsToo(String stem) throws Exception {
        for (ActivationPrecision p : List.of(ActivationPrecision.F32, ActivationPrecision.INT8)) {
            for (boolean repack : new boolean[]{true, false}) {
                try (LanguageModel model = open(stem, p, repack)) {
                    for (int n : new int[]{2, 5}) checkSteps(model, n, false, stem + " " + p + " repack " + repack + ", " + n + " sessions");
                }
            }
        }
    }

    /** Sessions with feed-forward strategies of their own (as sparse sessions have) compute that block alone, mixed with dense ones. */
    @Test
    void sessionsWithTheirOwnFeedForwardMixWithDenseOnes() throws Exception {
        try (LanguageModel model = open("syn-llama-gqa.Q8_0", ActivationPrecision.AUTO, true)) {
            for (int n : new int[]{1, 3, 6}) checkSteps(model, n, true, "own strategies, " + n + " sessions");
        }
    }

    /**
     * Gives session i a prompt of its own length (so positions differ), then STEPS greedy steps: alone on one set of
     * sessions, together on a twin set.
     */
    private static void checkSteps(LanguageModel model, int n, boolean ownStrategies, String what) {
        int vocab = model.config().vocabSize();
        SplittableRandom random = new SplittableRandom(n * 31L + vocab);
        List<Session> alone = new ArrayList<>();
        List<Session> together = new ArrayList<>();
        try {
            int[] next = new int[n];
            for (int i = 0; i < n; i++) {
                List<? extends FeedForward> ffn = ownStrategies && i % 2 == 1 ? ownStrategies(model) : model.denseFeedForward();
                Session a = model.newSession(ffn);
                alone.add(a);
                Session t = model.newSession(ffn);
                together.add(t);
                int[] prompt = random.ints(1 + 3 * i, 0, vocab).toArray();
                float[] la = a.evaluate(prompt).toArray();
                float[] lt = t.evaluate(prompt).toArray();
                assertArrayEquals(la, lt, what + ": prompts");
                next[i] = a.logits().argmax();
            }
            for (int step = 0; step < STEPS; step++) {
                model.evaluateTogether(together, next.clone());
                for (int i = 0; i < n; i++) {
                    Session a = alone.get(i);
                    Session t = together.get(i);
                    float[] expected = a.evaluate(next[i]).toArray();
                    float[] actual = t.logits().toArray();
                    assertArrayEquals(expected, actual, what + ": session " + i + " step " + step);
                    assertEquals(a.position(), t.position(), what + ": positions");
                    next[i] = t.logits().argmax();
                }
            }
        } finally {
            for (Session s : alone) s.close();
            for (Session s : together) s.close();
        }
    }

    /** The dense strategy in new instances: not the model's own, so a batch treats them as a session's own strategy. */
    private static List<FeedForward> ownStrategies(LanguageModel model) {
        List<FeedForward> list = new ArrayList<>();
        for (LayerWeights w : model.weights().layers()) list.add(new DenseFeedForward(w, model.config().activation()));
        return list;
    }

    @Test
    void badCallsAreRefusedNamingTheProblem() throws Exception {
        try (LanguageModel model = open("syn-llama-gqa.Q8_0", ActivationPrecision.AUTO, true);
             LanguageModel other = open("syn-llama-gqa.Q8_0", ActivationPrecision.AUTO, true);
             Session a = model.newSession();
             Session b = model.newSession();
             Session foreign = other.newSession()) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> model.evaluateTogether(List.of(a, b), new int[]{1}))
                    .getMessage().contains("one token per session"));
            assertThrows(IllegalArgumentException.class, () -> model.evaluateTogether(List.of(), new int[0]));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> model.evaluateTogether(List.of(a, a), new int[]{1, 2}))
                    .getMessage().contains("also session 0"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> model.evaluateTogether(List.of(a, foreign), new int[]{1, 2}))
                    .getMessage().contains("another model"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> model.evaluateTogether(List.of(a, b), new int[]{1, -1}))
                    .getMessage().contains("outside the vocabulary"));
            assertEquals(0, a.position(), "a refused call changes nothing");

            b.evaluate(new int[64]);
            assertTrue(assertThrows(IllegalStateException.class, () -> model.evaluateTogether(List.of(a, b), new int[]{1, 2}))
                    .getMessage().contains("context full"));
            assertEquals(0, a.position(), "nothing is evaluated when one session has no room");
            b.close();
            assertThrows(IllegalStateException.class, () -> model.evaluateTogether(List.of(a, b), new int[]{1, 2}));
            other.close();
            assertThrows(IllegalStateException.class, () -> other.evaluateTogether(Arrays.asList(foreign), new int[]{1}));
        }
    }
}
