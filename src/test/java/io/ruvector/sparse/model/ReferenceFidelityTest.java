package io.ruvector.sparse.model;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our F32-activation forward pass (asked for explicitly: the default, AUTO, decodes Q8_0 with int8 activations)
 * against the float64 reference ({@code logits_exact}, weights dequantized
 * exactly, no activation quantization) of every model in the shared reference set, and our greedy
 * continuation against {@code reference.greedy_exact}.
 */
class ReferenceFidelityTest {

    /**
     * Tolerances: what float32 arithmetic reaches against float64 on these logits (magnitudes up to ~20).
     * Measured maxima are 4e-6..7e-6 for every file (weights decoded exactly, so quantized files are no
     * worse than F32); the bound keeps a ~3x margin and is 5x tighter than the README's 1e-4.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "stories260K, 2e-5",
            "llama-2-tiny-random, 2e-7",
            "syn-llama-gqa.F32, 2e-5",
            "syn-llama-gqa.F16, 2e-5",
            "syn-llama-gqa.BF16, 2e-5",
            "syn-llama-gqa.Q8_0, 2e-5",
            "syn-llama-gqa.Q4_0, 2e-5",
            "syn-llama-gqa.Q4_1, 2e-5",
            "syn-llama-gqa.Q5_0, 2e-5",
            "syn-llama-gqa.Q5_1, 2e-5",
            "syn-llama-gqa.Q2_K, 2e-5",
            "syn-llama-gqa.Q3_K, 2e-5",
            "syn-llama-gqa.Q4_K, 2e-5",
            "syn-llama-gqa.Q5_K, 2e-5",
            "syn-llama-gqa.Q6_K, 2e-5",
            "syn-llama-gqa.Q4_K_M, 2e-5",
            "syn-qwen2.F32, 2e-5",
            "syn-qwen2.Q8_0, 2e-5",
    })
    void logitsAndGreedyMatchTheExactForward(String stem, float tolerance) throws Exception {
        Reference ref = Reference.load(stem);
        try (LanguageModel model = open(ref);
             Session session = model.newSession()) {
            float[] logits = session.evaluateAll(ref.prompt());
            float diff = Reference.maxAbsDiff(ref.logitsExact(), logits);
            System.out.printf("%s: max |ours - exact| = %.3g, max |ours - llama.cpp| = %.3g%n",
                    stem, diff, Reference.maxAbsDiff(ref.logits(), logits));
            assertTrue(diff <= tolerance, stem + ": max |ours - logits_exact| = " + diff + " > " + tolerance);

            int[] greedy = new int[ref.greedyExact().length];
            int next = session.logits().argmax();
            for (int i = 0; i < greedy.length; i++) {
                greedy[i] = next;
                if (i + 1 < greedy.length) next = session.evaluate(next).argmax();
            }
            assertArrayEquals(ref.greedyExact(), greedy, stem + " greedy " + Arrays.toString(greedy));
        }
    }

    /**
     * With activations rounded as ggml-cpu rounds them ({@link ActivationPrecision#INT8}), logits move from the
     * exact forward onto llama.cpp's own: to ~5e-6 (F16: bit-identical), as the README's float64 emulation of
     * that rounding did. Except after a flip: an activation lies within float noise of a rounding boundary,
     * our float32 sums put it on the other side than ggml's do, and the random model amplifies that one step
     * to 0.003..0.3 at that position (and, through the KV cache, at later ones). The emulation met the same
     * flips on Q4_1, Q5_0 and F16 (README); ours are at the positions listed (first flip). Positions before it
     * must match tightly and be 1000x closer than the F32 path; the bound on all positions is the measured
     * worst with a margin. F16 (many tiny flips: which positions depends on the vector width's summation
     * order) and BF16 (~0.04 from the start, the emulation 0.03) get only that bound, near the README's floor.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "syn-llama-gqa.Q8_0, 12, 2e-5", "syn-llama-gqa.Q4_0, 12, 2e-5", "syn-llama-gqa.Q4_1, 3, 0.05",
            "syn-llama-gqa.Q5_0, 3, 0.4", "syn-llama-gqa.Q5_1, 12, 2e-5", "syn-llama-gqa.Q2_K, 12, 2e-5",
            "syn-llama-gqa.Q3_K, 12, 2e-5", "syn-llama-gqa.Q4_K, 5, 0.4", "syn-llama-gqa.Q5_K, 12, 2e-5",
            "syn-llama-gqa.Q6_K, 12, 2e-5", "syn-llama-gqa.Q4_K_M, 5, 0.6", "syn-llama-gqa.F16, 0, 0.03",
            "syn-llama-gqa.BF16, 0, 0.07", "syn-qwen2.Q8_0, 6, 0.2", "llama-2-tiny-random, 3, 2e-4",
    })
    void int8ActivationsReproduceLlamaCpp(String stem, int positionsBeforeFlip, float overall) throws Exception {
        Reference ref = Reference.load(stem);
        float[] exactPath;
        float[] int8Path;
        try (LanguageModel model = open(ref); Session session = model.newSession()) {
            exactPath = session.evaluateAll(ref.prompt());
        }
        try (LanguageModel model = open(ref, ActivationPrecision.INT8); Session session = model.newSession()) {
            int8Path = session.evaluateAll(ref.prompt());
        }
        int vocab = ref.vocab();
        float worstBeforeFlip = 0;
        for (int t = 0; t < ref.prompt().length; t++) {
            float int8 = 0;
            float exact = 0;
            for (int v = t * vocab; v < (t + 1) * vocab; v++) {
                int8 = Math.max(int8, Math.abs(int8Path[v] - ref.logits()[v]));
                exact = Math.max(exact, Math.abs(exactPath[v] - ref.logits()[v]));
            }
            if (t < positionsBeforeFlip) {
                worstBeforeFlip = Math.max(worstBeforeFlip, int8);
                assertTrue(int8 < exact / 1000, stem + " position " + t + ": INT8 " + int8 + " vs F32 " + exact);
            }
        }
        System.out.printf("%s: max |ours - llama.cpp| with INT8 activations %.3g (positions < %d), %.3g overall; F32 path %.3g%n",
                stem, worstBeforeFlip, positionsBeforeFlip, Reference.maxAbsDiff(ref.logits(), int8Path),
                Reference.maxAbsDiff(ref.logits(), exactPath));
        assertTrue(worstBeforeFlip <= 2e-5, stem + ": INT8 path differs from llama.cpp by " + worstBeforeFlip);
        float all = Reference.maxAbsDiff(ref.logits(), int8Path);
        assertTrue(all <= overall, stem + ": INT8 path differs from llama.cpp by " + all + " overall");
    }

    /**
     * The default, {@link ActivationPrecision#AUTO}, decoding the prompt token by token (single-vector products
     * only): Q8_0 weights, whose int8 kernel is the faster one, and Q4_0 weights, decoded from their interleaved
     * copies by an int8 kernel (the default {@code repack}), get int8 activations and so land on llama.cpp's
     * logits (as close as {@link #int8ActivationsReproduceLlamaCpp}, up to the same first flip); Q4_0 without
     * the copies and F32 stay exact (as close to the float64 forward as
     * {@link #logitsAndGreedyMatchTheExactForward}). Q2_K..Q6_K weights, decoded from their interleaved copies
     * ({@code InterleavedKQuant}) with Q8_K activations, land on llama.cpp's logits too, up to the first flip at
     * the position the INT8 test meets it (5 for Q4_K and Q4_K_M; Q6_K has none in the prompt); without the
     * copies Q4_K stays exact. Like the flips of the INT8 test, the flip positions are those of the machine's
     * preferred (512-bit) summation order.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"syn-llama-gqa.Q8_0, true, true, 12", "syn-qwen2.Q8_0, true, true, 6",
            "syn-llama-gqa.Q4_0, true, true, 12", "syn-llama-gqa.Q4_0, false, false, 12",
            "syn-llama-gqa.F32, true, false, 12",
            "syn-llama-gqa.Q2_K, true, true, 12", "syn-llama-gqa.Q3_K, true, true, 12", "syn-llama-gqa.Q4_K, true, true, 5", "syn-llama-gqa.Q5_K, true, true, 12", "syn-llama-gqa.Q6_K, true, true, 12",
            "syn-llama-gqa.Q4_K_M, true, true, 5", "syn-llama-gqa.Q4_K, false, false, 12"})
    void autoActivationsDecodeQ8_0AndRepackedQuantsInInt8AndTheRestExactly(String stem, boolean repack, boolean int8,
                                                                         int positionsBeforeFlip) throws Exception {
        Reference ref = Reference.load(stem);
        int vocab = ref.vocab();
        int[] prompt = java.util.Arrays.copyOf(ref.prompt(), positionsBeforeFlip);
        float[] tokenByToken = new float[prompt.length * vocab];
        ModelOptions options = ModelOptions.defaults().withThreads(1).withActivations(ActivationPrecision.AUTO).withRepack(repack);
        try (LanguageModel model = LanguageModel.open(ref.model(), options); Session session = model.newSession()) {
            for (int t = 0; t < prompt.length; t++) System.arraycopy(session.evaluate(prompt[t]).toArray(), 0, tokenByToken, t * vocab, vocab);
        }
        float[] target = java.util.Arrays.copyOf(int8 ? ref.logits() : ref.logitsExact(), tokenByToken.length);
        float[] other = java.util.Arrays.copyOf(int8 ? ref.logitsExact() : ref.logits(), tokenByToken.length);
        float diff = Reference.maxAbsDiff(target, tokenByToken);
        System.out.printf("%s AUTO: max |ours - %s| = %.3g, to the other %.3g%n", stem, int8 ? "llama.cpp" : "exact",
                diff, Reference.maxAbsDiff(other, tokenByToken));
        assertTrue(diff <= 2e-5, stem + ": AUTO decoding differs from " + (int8 ? "llama.cpp" : "the exact forward") + " by " + diff);
    }

    static LanguageModel open(Reference ref, ActivationPrecision precision) throws Exception {
        try {
            return LanguageModel.open(ref.model(), ModelOptions.defaults().withThreads(1).withActivations(precision));
        } catch (UnsupportedOperationException e) {
            Assumptions.abort(ref.name() + ": " + e.getMessage());
            throw e;
        }
    }

    /**
     * Opens the reference's model with exact (F32) activations, skipping (with the reason) when one of its tensor
     * types is not implemented yet.
     */
    static LanguageModel open(Reference ref) throws Exception { return open(ref, ActivationPrecision.F32); }
}
