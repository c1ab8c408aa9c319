package io.ruvector.sparse.cli;

import io.ruvector.sparse.quant.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.quant.TensorTypes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sparse-infer synth}, run in-process through {@link Main#run}. */
class SynthCommandTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;

    @BeforeEach
    void capture() {
        savedOut = System.out;
        savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(savedOut);
        System.setErr(savedErr);
    }

    private int run(String... args) {
        out.reset();
        err.reset();
        return Main.run(args);
    }

    private String stderr() { return err.toString(StandardCharsets.UTF_8); }

    @Test
    void tinyPresetWithFlagOverrides() throws IOException {
        Path p = dir.resolve("m.gguf");
        assertEquals(0, run("synth", "--preset", "tiny", "--layers", "1", "--ffn", "512", "--vocab", "400",
                "--seed", "9", "--threads", "2", "-o", p.toString()), stderr());
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("wrote " + p + ": tiny-custom F32"), out.toString());
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(1, f.getInt("llama.block_count"));
            assertEquals(512, f.getInt("llama.feed_forward_length"));
            assertEquals(256, f.getInt("llama.embedding_length"));
            assertEquals(400, f.getArray("tokenizer.ggml.tokens").size());
            assertEquals(9, f.getLong("synth.seed"));
            assertFalse(f.has("llama.feed_forward_activation"));
            assertTrue(f.has("output.weight") || f.tensor("output.weight").isPresent());
        }
        assertEquals("", stderr(), "no progress bar for small files");
    }

    @Test
    void reluTiedOutputAndType() throws IOException {
        Path p = dir.resolve("relu.gguf");
        GgmlType t = TensorTypes.isSupported(GgmlType.Q8_0) ? GgmlType.Q8_0 : GgmlType.F32;
        assertEquals(0, run("synth", "--activation", "relu", "--active-fraction", "0.2", "--tied-output", "--type",
                t.name().toLowerCase(), "--layers", "1", "-o", p.toString()), stderr());
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals("relu", f.getString("llama.feed_forward_activation"));
            assertEquals(0.2f, f.getFloat("synth.active_fraction"));
            assertTrue(f.tensor("output.weight").isEmpty());
            assertEquals(t, f.requireTensor("blk.0.ffn_gate.weight").type());
        }
    }

    @Test
    void badArgumentsAreUsageOrInputErrors() {
        Path p = dir.resolve("x.gguf");
        assertEquals(1, run("synth", "--preset", "huge", "-o", p.toString()));
        assertTrue(stderr().contains("unknown preset 'huge'"), stderr());
        assertEquals(1, run("synth", "--type", "Q9_9", "-o", p.toString()));
        assertEquals(1, run("synth", "--activation", "tanh", "-o", p.toString()));
        assertEquals(1, run("synth"));
        assertEquals(2, run("synth", "--type", "IQ2_XXS", "-o", p.toString()));
        assertTrue(stderr().contains("IQ2_XXS") && stderr().lines().count() == 1, stderr());
        assertEquals(2, run("synth", "--heads", "7", "-o", p.toString()));
        assertTrue(stderr().contains("not a multiple of heads 7"), stderr());
        assertEquals(2, run("synth", "--type", "q8_0", "--dim", "200", "--heads", "4", "-o", p.toString()));
        assertFalse(Files.exists(p), "nothing is written on bad input");
    }
}
