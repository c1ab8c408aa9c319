package io.ruvector.sparse.tokenizer;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every case of llama.cpp's tokenizer test vectors ({@code vocab/*.gguf.inp} / {@code .out}): encoding
 * without BOS and without parsing control tokens must give exactly the expected ids, and decoding them
 * must give back the input.
 */
class LlamaCppVocabTest {

    static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    @ParameterizedTest
    @ValueSource(strings = {"llama-spm", "phi-3", "gpt-2", "deepseek-coder", "starcoder", "bert-bge"})
    void encodesEveryCaseLikeLlamaCpp(String name) throws Exception {
        Path gguf = Fixtures.require("vocab/ggml-vocab-" + name + ".gguf");
        List<String> inputs = readCases(Path.of(gguf + ".inp"));
        List<int[]> expected = readExpected(Path.of(gguf + ".out"));
        assertEquals(inputs.size(), expected.size(), "cases in .inp and .out");
        assertTrue(inputs.size() > 40, "the vocab test files hold ~46 cases");

        try (GgufFile f = GgufFile.open(gguf)) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                int[] got = tok.encode(inputs.get(i), false, false);
                if (!Arrays.equals(expected.get(i), got)) {
                    failures.add("case " + i + " " + escape(inputs.get(i)) + "\n  expected " + Arrays.toString(expected.get(i))
                            + "\n  got      " + Arrays.toString(got));
                }
            }
            assertEquals(List.of(), failures, name + ": " + failures.size() + " of " + inputs.size() + " cases differ");
        }
    }

    static List<String> readCases(Path inp) throws Exception {
        String text = Files.readString(inp, StandardCharsets.UTF_8);
        List<String> cases = new ArrayList<>(Arrays.asList(text.split(SEPARATOR, -1)));
        // The file ends with a separator, which leaves one empty string after it.
        if (text.endsWith(SEPARATOR) && cases.getLast().isEmpty()) cases.removeLast();
        return cases;
    }

    static List<int[]> readExpected(Path out) throws Exception {
        List<String> lines = new ArrayList<>(Arrays.asList(Files.readString(out, StandardCharsets.UTF_8).split("\n", -1)));
        if (lines.getLast().isEmpty()) lines.removeLast(); // the final newline
        List<int[]> ids = new ArrayList<>();
        for (String line : lines) {
            String t = line.strip();
            ids.add(t.isEmpty() ? new int[0] : Arrays.stream(t.split("\\s+")).mapToInt(Integer::parseInt).toArray());
        }
        return ids;
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("'");
        for (char c : s.toCharArray()) {
            if (c == '\n') sb.append("\\n");
            else if (c == '\t') sb.append("\\t");
            else sb.append(c);
        }
        return sb.append('\'').toString();
    }
}
