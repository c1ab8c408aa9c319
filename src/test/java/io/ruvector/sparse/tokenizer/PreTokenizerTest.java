package io.ruvector.sparse.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Word splits of the pre-tokenizers that the vocab fixtures do not cover, worked out by hand from the
 * regexes' semantics (leftmost alternative wins, greedy runs, the lookahead in {@code \s+(?!\S)}).
 */
class PreTokenizerTest {

    static List<String> split(String pre, String text) {
        IntList ends = PreTokenizer.forName(pre).split(text);
        List<String> words = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < ends.size(); i++) {
            words.add(text.substring(start, ends.get(i)));
            start = ends.get(i);
        }
        return words;
    }

    @Test
    void llama3GroupsDigitsByThreeAndKeepsNewlinesWithPunctuation() {
        assertEquals(List.of("I", "'ve", " ", "123", "456", "7", " apples", "!!\n\n", "OK"),
                split("llama3", "I've 1234567 apples!!\n\nOK"));
        assertEquals(List.of("Hello", "  ", " world", " \n\n", "  ", " x"), split("llama-bpe", "Hello   world \n\n   x"));
        assertEquals(List.of("HE", "'S", " I", "'M"), split("llama3", "HE'S I'M")); // contractions in either case
        assertEquals(List.of("x", " '", "re"), split("llama3", "x 're")); // only right after the word
        assertEquals(List.of("\tword", ".\n", "  "), split("llama3", "\tword.\n  "));
    }

    @Test
    void qwen2SplitsEveryDigit() {
        assertEquals(List.of("abc", "1", "2", "3", " ", "4", "5"), split("qwen2", "abc123 45"));
        // A single non-letter may lead a letter run: the full-width comma joins the next word.
        assertEquals(List.of("你好", "，世界"), split("qwen2", "你好，世界"));
    }

    @Test
    void gpt2KeepsOneSpaceForTheNextWord() {
        assertEquals(List.of("a", "  ", " b", "'s", " 12", " ?!", "\n"), split("gpt-2", "a   b's 12 ?!\n"));
        // U+3000 (ideographic space) is whitespace in llama.cpp's sense although Java's \s says no.
        assertEquals(List.of("a", "\u3000", " b"), split("gpt-2", "a\u3000 b"));
    }

    @Test
    void deepseekLlmSplitsCjkAndTrailingSpace() {
        assertEquals(List.of("Hello", " world", "\n", "你好", "123", "  "), split("deepseek-llm", "Hello world\n你好123  "));
    }

    @Test
    void tekkenAndGpt4oSplitCamelCase() {
        // Upper-case letters run into the lower-case ones after them: "HTMLParser" stays one word.
        assertEquals(List.of("Camel", "Case", " HTMLParser", " x", "Y"), split("tekken", "CamelCase HTMLParser xY"));
        // GPT-4o keeps contractions on the word.
        assertEquals(List.of("It's", " ", "123", "4"), split("gpt-4o", "It's 1234"));
    }

    @Test
    void everyRegisteredRegexCompilesAndSplitsWithoutGaps() {
        String text = "Hello, World! 123 4567 naïve 日本語 🦙\n\t  end   ";
        for (String name : List.of("default", "gpt-2", "llama3", "qwen2", "qwen35", "deepseek-llm", "deepseek-coder",
                "deepseek-v3", "falcon", "starcoder", "bloom", "viking", "tekken", "gpt-4o", "seed-coder", "bailingmoe")) {
            assertEquals(text, String.join("", split(name, text)), name);
            assertTrue(split(name, text).stream().noneMatch(String::isEmpty), name);
        }
    }

    @Test
    void longLetterRunsDoNotOverflowTheRegexStack() {
        String word = "Ab".repeat(100_000);
        assertEquals(100_000, split("gpt-4o", word).size()); // "Ab" "Ab" ...: each upper starts a word
        assertEquals(1, split("gpt-2", word).size());
        assertEquals(1, split("llama3", word).size());
    }

    @Test
    void unknownNameIsReported() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PreTokenizer.forName("nope"));
        assertTrue(e.getMessage().contains("'nope'"));
        assertEquals("default", PreTokenizer.forName(null).name());
    }
}
