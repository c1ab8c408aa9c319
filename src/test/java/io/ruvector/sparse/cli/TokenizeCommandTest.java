package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sparse-infer tokenize}, run in-process through {@link Main#run}. */
class TokenizeCommandTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;
    private InputStream savedIn;

    @BeforeEach
    void capture() {
        savedOut = System.out;
        savedErr = System.err;
        savedIn = System.in;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(savedOut);
        System.setErr(savedErr);
        System.setIn(savedIn);
    }

    private String stdout() { return out.toString(StandardCharsets.UTF_8); }

    @Test
    void printsIdsWithBosLikeLlamaTokenize() {
        String model = Fixtures.require("models/stories260K.gguf").toString();
        assertEquals(0, Main.run("tokenize", "--model", model, "--text", "Once upon a time"));
        assertEquals("[1, 403, 407, 261, 378]", stdout().strip());
    }

    @Test
    void noBosAndStdinOnAVocabOnlyFile() {
        String model = Fixtures.require("vocab/ggml-vocab-gpt-2.gguf").toString();
        System.setIn(new ByteArrayInputStream("Hello world".getBytes(StandardCharsets.UTF_8)));
        assertEquals(0, Main.run("tokenize", "-m", model, "--no-bos"));
        assertEquals("[15496, 995]", stdout().strip());
    }

    @Test
    void showPiecesPrintsOneTokenPerLine() {
        String model = Fixtures.require("vocab/ggml-vocab-llama-spm.gguf").toString();
        assertEquals(0, Main.run("tokenize", "-m", model, "--text", "Hello 🦙", "--show-pieces"));
        String[] lines = stdout().stripTrailing().split("\\R");
        assertEquals("     1 -> '<s>'", lines[0]);
        assertEquals(" 15043 -> ' Hello'", lines[1]);
        assertTrue(lines[lines.length - 1].endsWith("-> '<0x99>'"), lines[lines.length - 1]);
    }

    @Test
    void specialTokensAreParsedUnlessTurnedOff() {
        String model = Fixtures.require("vocab/ggml-vocab-llama-spm.gguf").toString();
        assertEquals(0, Main.run("tokenize", "-m", model, "--no-bos", "--text", "</s>"));
        assertEquals("[2]", stdout().strip());
        out.reset();
        assertEquals(0, Main.run("tokenize", "-m", model, "--no-bos", "--no-parse-special", "--text", "</s>"));
        assertTrue(stdout().strip().split(",").length > 1, stdout());
    }

    @Test
    void badModelIsReportedWithExitCode2() {
        assertEquals(Main.EXIT_BAD_INPUT, Main.run("tokenize", "-m", "no/such/file.gguf", "--text", "x"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("no/such/file.gguf"));
        assertEquals(Main.EXIT_USAGE, Main.run("tokenize", "--text", "x"));
    }
}
