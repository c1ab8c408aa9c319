package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sparse-infer embed} on all-MiniLM-L6-v2: vectors, JSON, texts from a file or stdin, bad input. */
class EmbedCommandTest {

    private static String model() { return Fixtures.require("models/all-minilm-l6-v2.F32.gguf").toString(); }

    private static double[] parse(String line) {
        return Arrays.stream(line.strip().split(" ")).mapToDouble(Double::parseDouble).toArray();
    }

    @Test
    void printsOneUnitVectorPerText(@TempDir Path dir) throws Exception {
        CliRun one = CliRun.of("", "embed", "-m", model(), "--text", "The cat sat on the mat.", "-t", "2");
        assertEquals(0, one.exitCode(), one.err());
        double[] v = parse(one.out());
        assertEquals(384, v.length);
        double norm = 0;
        for (double x : v) norm += x * x;
        assertEquals(1.0, norm, 1e-5);

        Path file = dir.resolve("texts.txt");
        Files.writeString(file, "The cat sat on the mat.\n\nA man is playing a guitar.\n", StandardCharsets.UTF_8);
        CliRun two = CliRun.of("", "embed", "-m", model(), "--file", file.toString(), "-t", "2");
        assertEquals(0, two.exitCode(), two.err());
        String[] lines = two.out().strip().split("\n");
        assertEquals(2, lines.length, "the empty line is skipped");
        double[] first = parse(lines[0]);
        for (int i = 0; i < 384; i++) assertEquals(v[i], first[i], 1e-5, "same text, same vector (batched with another)");

        CliRun stdin = CliRun.of("The cat sat on the mat.\n", "embed", "-m", model(), "-t", "1");
        assertEquals(0, stdin.exitCode(), stdin.err());
        assertEquals(384, parse(stdin.out()).length);
    }

    @Test
    void jsonHasTheVectorsAndTokenCounts() {
        CliRun r = CliRun.of("", "embed", "-m", model(), "--text", "Hello world.", "--json", "-t", "2");
        assertEquals(0, r.exitCode(), r.err());
        String out = r.out();
        assertTrue(out.startsWith("{\"model\":\"all-minilm-l6-v2.F32.gguf\",\"architecture\":\"bert\",\"dimension\":384,\"pooling\":\"mean\""), out);
        assertTrue(out.contains("\"index\":0,\"tokens\":5,\"embedding\":["), out);   // [CLS] hello world . [SEP]
    }

    @Test
    void benchReportsSentencesPerSecond() {
        CliRun r = CliRun.of("", "embed", "-m", model(), "--text", "Hello world.", "--bench", "--warmup", "1", "--rounds", "2", "-t", "1");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("sentences/s  median"), r.out());
    }

    @Test
    void badInputIsOneLineAndExitCode2(@TempDir Path dir) {
        CliRun missing = CliRun.of("", "embed", "-m", dir.resolve("nope.gguf").toString(), "--text", "x");
        assertEquals(Main.EXIT_BAD_INPUT, missing.exitCode());
        assertTrue(missing.err().startsWith("sparse-infer: model file not found"), missing.err());

        CliRun decoder = CliRun.of("", "embed", "-m", Fixtures.require("models/stories260K.gguf").toString(), "--text", "x");
        assertEquals(Main.EXIT_BAD_INPUT, decoder.exitCode());
        assertEquals(1, decoder.err().strip().lines().count(), decoder.err());
        assertTrue(decoder.err().contains("'llama' is not an embedding architecture"), decoder.err());

        CliRun tooLong = CliRun.of("", "embed", "-m", model(), "--text", "x", "--max-tokens", "513");
        assertEquals(Main.EXIT_BAD_INPUT, tooLong.exitCode());
        assertTrue(tooLong.err().contains("exceeds the model's context of 512"), tooLong.err());
        assertFalse(tooLong.err().contains("at io."), "no stack trace");
    }
}
