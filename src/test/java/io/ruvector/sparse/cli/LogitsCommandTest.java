package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code logits} writes what the shared llama.cpp references hold, in their layout. */
class LogitsCommandTest {

    @TempDir
    Path dir;

    @Test
    void writesTheReferenceLayoutForStories260K() throws Exception {
        Path model = Fixtures.require("models/stories260K.gguf");
        Path refPath = Fixtures.require("reference/stories260K.ref.gguf");
        Path out = dir.resolve("ours.ref.gguf");
        try (GgufFile ref = GgufFile.open(refPath)) {
            int[] prompt = ref.getArray("reference.prompt").toIntArray();
            int[] greedy = ref.getArray("reference.greedy").toIntArray();
            String tokens = String.join(",", Arrays.stream(prompt).mapToObj(Integer::toString).toArray(String[]::new));
            int code = Main.run("logits", "--model", model.toString(), "--tokens", tokens,
                    "--greedy", Integer.toString(greedy.length), "--threads", "2", "--out", out.toString());
            assertEquals(Main.EXIT_OK, code);
            try (GgufFile ours = GgufFile.open(out)) {
                assertEquals("reference", ours.getString("general.architecture"));
                assertEquals("stories260K.gguf", ours.getString("reference.model"));
                assertEquals(ref.getString("reference.model_sha256"), ours.getString("reference.model_sha256"));
                assertArrayEquals(prompt, ours.getArray("reference.prompt").toIntArray());
                assertArrayEquals(greedy, ours.getArray("reference.greedy").toIntArray());
                TensorInfo info = ours.requireTensor("logits");
                assertArrayEquals(ref.requireTensor("logits").dims(), info.dims());
                float[] logits = Tensor.of(ours, info).toFloatArray();
                float[] exact = Tensor.of(ref, "logits_exact").toFloatArray();
                float max = 0;
                for (int i = 0; i < exact.length; i++) max = Math.max(max, Math.abs(exact[i] - logits[i]));
                assertTrue(max < 2e-5, "max |ours - logits_exact| = " + max);
            }
        }
    }

    /** With --activations int8 a K-quant model's logits are llama.cpp's to float noise. */
    @Test
    void int8ActivationsWriteLlamaCppLogits() throws Exception {
        Path model = Fixtures.require("reference/syn-llama-gqa.Q6_K.gguf");
        Path out = dir.resolve("q6k.ref.gguf");
        try (GgufFile ref = GgufFile.open(Fixtures.require("reference/syn-llama-gqa.Q6_K.ref.gguf"))) {
            int[] prompt = ref.getArray("reference.prompt").toIntArray();
            String tokens = String.join(",", Arrays.stream(prompt).mapToObj(Integer::toString).toArray(String[]::new));
            assertEquals(Main.EXIT_OK, Main.run("logits", "--model", model.toString(), "--tokens", tokens,
                    "--activations", "int8", "--threads", "1", "--out", out.toString()));
            try (GgufFile ours = GgufFile.open(out)) {
                assertEquals("int8", ours.getString("reference.activations"));
                float[] logits = Tensor.of(ours, "logits").toFloatArray();
                float[] llama = Tensor.of(ref, "logits").toFloatArray();
                float max = 0;
                for (int i = 0; i < llama.length; i++) max = Math.max(max, Math.abs(llama[i] - logits[i]));
                assertTrue(max < 2e-5, "max |ours - llama.cpp| = " + max);
            }
        }
    }

    @Test
    void badInputExitsWithCode2AndWritesNothing() throws Exception {
        Path model = Fixtures.require("models/stories260K.gguf");
        Path out = dir.resolve("x.gguf");
        assertEquals(Main.EXIT_BAD_INPUT, Main.run("logits", "--model", model.toString(), "--tokens", "1,9999", "--out", out.toString()));
        assertEquals(Main.EXIT_BAD_INPUT, Main.run("logits", "--model", dir.resolve("none.gguf").toString(), "--tokens", "1", "--out", out.toString()));
        assertEquals(Main.EXIT_BAD_INPUT, Main.run("logits", "--model", model.toString(), "--tokens", "1", "--kv", "q8", "--out", out.toString()));
        assertEquals(Main.EXIT_BAD_INPUT, Main.run("logits", "--model", model.toString(), "--tokens", "1", "--activations", "int4", "--out", out.toString()));
        assertEquals(Main.EXIT_USAGE, Main.run("logits", "--model", model.toString(), "--out", out.toString()));
        assertFalse(Files.exists(out));
    }
}
