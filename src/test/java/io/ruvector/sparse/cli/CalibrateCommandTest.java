package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code calibrate} and {@code sparse-eval} through the command line, on stories260K. */
class CalibrateCommandTest {

    @TempDir
    Path dir;

    public record Run(int code, String out, String err) {}

    /** Runs the CLI in-process with stdout and stderr captured. */
    public static synchronized Run run(String... args) {
        PrintStream savedOut = System.out, savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    Path resource(String name) throws Exception {
        Path p = dir.resolve(name);
        try (InputStream in = getClass().getResourceAsStream("/sparse/" + name)) {
            Files.write(p, in.readAllBytes());
        }
        return p;
    }

    @Test
    void calibratesThenEvaluatesQualityAgainstDense() throws Exception {
        Path model = Fixtures.require("models/stories260K.gguf");
        Path sidecar = dir.resolve("s.sparse.gguf");
        Run cal = run("calibrate", "-m", model.toString(), "--text", resource("stories-calibration.txt").toString(),
                "-o", sidecar.toString(), "--max-tokens", "800", "--max-samples", "600", "--ranks", "32,64", "-t", "2");
        assertEquals(0, cal.code(), cal.err());
        assertTrue(Files.size(sidecar) > 0);
        assertTrue(cal.out().contains("rec.test"), cal.out());
        assertTrue(cal.err().contains("100%"), "progress bar: " + cal.err());

        Run eval = run("sparse-eval", "-m", model.toString(), "--sparse", sidecar.toString(),
                "--text", resource("stories-heldout.txt").toString(), "-n", "16", "--sparsities", "0.25", "--oracle");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("| dense | 100.0% | 100.0% | 16 / 16 |"), eval.out());
        assertTrue(eval.out().contains("exact top-K at 25% sparsity | 75.0%"), eval.out());
    }

    @Test
    void tokenFilesAndBadInput() throws Exception {
        Path model = Fixtures.require("models/stories260K.gguf");
        Path tokens = dir.resolve("t.txt");
        Files.writeString(tokens, "[1, 403, 407]\n261 378", StandardCharsets.UTF_8);
        assertEquals(5, CalibrateCommand.readTokens(tokens).length);
        Files.writeString(tokens, "1 2 x3");
        Run bad = run("calibrate", "-m", model.toString(), "--tokens", tokens.toString());
        assertEquals(Main.EXIT_BAD_INPUT, bad.code());
        assertTrue(bad.err().contains("'x3'"), bad.err());
        Files.writeString(tokens, "1 2 99999");
        bad = run("calibrate", "-m", model.toString(), "--tokens", tokens.toString());
        assertEquals(Main.EXIT_BAD_INPUT, bad.code());
        assertTrue(bad.err().contains("99999"), bad.err());
        bad = run("calibrate", "-m", model.toString());
        assertEquals(Main.EXIT_BAD_INPUT, bad.code());
        assertTrue(bad.err().contains("--text") && bad.err().contains("--tokens"), bad.err());
        assertFalse(Files.exists(dir.resolve("stories260K.sparse.gguf")));
        assertEquals(Path.of("a/b.sparse.gguf"), CalibrateCommand.defaultSidecar(Path.of("a/b.gguf")));
    }
}
