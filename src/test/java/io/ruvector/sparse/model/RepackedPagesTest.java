package io.ruvector.sparse.model;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.memory.Smaps;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A repacked matrix is held once: after its copy is made its mapped file pages leave the process's resident set,
 * and a prompt batch that reads the file's layout again (a chat's next turn) releases them after its product.
 */
class RepackedPagesTest {

    private static final int[] PROMPT = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421};

    @Test
    void promptsAfterDecodingDoNotHoldTheWeightsTwice() throws Exception {
        assumeTrue(Smaps.pagemapAvailable(), "needs Linux /proc/self/pagemap");
        try (LanguageModel m = LanguageModel.open(Fixtures.require("reference/syn-llama-gqa.Q4_0.gguf"),
                ModelOptions.defaults().withThreads(1));
             Session s = m.newSession()) {
            Tensor gate = m.weights().layers().get(0).gate();
            long pages = gate.data().byteSize() / 4096 - 1;
            assertTrue(pages > 10, "the matrix spans whole pages");

            s.evaluate(PROMPT[0]);                      // decoding: the Q4_0 matrices are copied
            assertTrue(m.repacked().byteSize() > 0, "decoding repacked the Q4_0 matrices");
            assertEquals(0, present(gate), "the file pages of a copied matrix are released");

            s.evaluate(java.util.Arrays.copyOfRange(PROMPT, 1, PROMPT.length));   // a batch reads the file layout
            assertEquals(0, present(gate), "a prompt batch releases the pages it faulted back in");

            s.evaluate(PROMPT[1]);
            assertEquals(0, present(gate), "decoding reads the copy, not the file");
        }
    }

    private static long present(Tensor t) throws Exception {
        return Smaps.presentPages(t.data().address(), t.data().byteSize());
    }
}
