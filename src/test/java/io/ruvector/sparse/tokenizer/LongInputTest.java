package io.ruvector.sparse.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Long inputs must not hit quadratic paths: a 200k-character run without spaces is one SentencePiece
 * fragment and one BPE word, where a rescan-all-pairs merge loop would take minutes. The timeouts are
 * far above the expected seconds so that a loaded machine does not make the test flaky.
 */
class LongInputTest {

    @Test
    @Timeout(60)
    void sentencePieceOnOneHugeFragment() throws Exception {
        Tokenizer tok = TokenizerTest.load("vocab/ggml-vocab-llama-spm.gguf");
        String text = "abcdefghij".repeat(20_000);
        int[] ids = tok.encode(text, false, false);
        assertTrue(ids.length > 10_000);
        assertEquals(text, tok.decode(ids));
    }

    @Test
    @Timeout(60)
    void bytePairOnOneHugeWordAndOnLongProse() throws Exception {
        Tokenizer tok = TokenizerTest.load("vocab/ggml-vocab-gpt-2.gguf");
        String word = "abcdefghij".repeat(20_000);
        assertEquals(word, tok.decode(tok.encode(word, false, false)));

        Random rnd = new Random(7);
        StringBuilder prose = new StringBuilder();
        while (prose.length() < 100_000) prose.append(TokenizerRoundTripTest.randomText(rnd, 12)).append(' ');
        String text = prose.toString();
        int[] ids = tok.encode(text, false, false);
        assertEquals(text, tok.decode(ids));
    }
}
