package io.ruvector.sparse.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The plain float64 forward used by the synthetic-model tests agrees with llama.cpp's float64 reference. */
class NaiveForwardTest {

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "syn-qwen2.F32", "syn-qwen3.F32", "syn-phi3.F32", "syn-gemma2.F32", "syn-gemma3.F32"})
    void matchesLogitsExact(String stem) throws Exception {
        Reference ref = Reference.load(stem);
        try (LanguageModel model = ReferenceFidelityTest.open(ref)) {
            double[][] logits = new NaiveForward(model).run(ref.prompt());
            float max = 0;
            for (int t = 0; t < logits.length; t++) {
                for (int v = 0; v < ref.vocab(); v++) {
                    max = (float) Math.max(max, Math.abs(logits[t][v] - ref.logitsExact()[t * ref.vocab() + v]));
                }
            }
            assertTrue(max < 2e-5, stem + ": naive float64 vs logits_exact " + max);
        }
    }
}
