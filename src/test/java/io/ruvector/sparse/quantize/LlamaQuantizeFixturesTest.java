package io.ruvector.sparse.quantize;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Our quantize against files that llama.cpp's {@code llama-quantize} made from the shared F32 models (see
 * the fixtures' README for how each was made): the same file, byte for byte: metadata and its order,
 * tensor order, each tensor's type (the Q4_K_M mix's choices included) and every quantized block.
 */
class LlamaQuantizeFixturesTest {

    private static Parallel pool;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() { pool = new Parallel(2); }

    @AfterAll
    static void close() { pool.close(); }

    @ParameterizedTest(name = "{1} {2} pure={3}")
    @CsvSource({
            "syn-llama-gqa.F32, syn-llama-gqa.Q4_K_M, Q4_K_M, false",
            "syn-llama-gqa.F32, syn-llama-gqa.F16, F16, false",
            "syn-llama-gqa.F32, syn-llama-gqa.BF16, BF16, false",
            "syn-llama-gqa.F32, syn-llama-gqa.Q8_0, Q8_0, true",
            "syn-llama-gqa.F32, syn-llama-gqa.Q4_0, Q4_0, true",
            "syn-llama-gqa.F32, syn-llama-gqa.Q4_1, Q4_1, true",
            "syn-llama-gqa.F32, syn-llama-gqa.Q5_0, Q5_0, true",
            "syn-llama-gqa.F32, syn-llama-gqa.Q5_1, Q5_1, true",
            "syn-llama-gqa.F32, syn-llama-gqa.Q2_K, Q2_K, true",
            "syn-llama-gqa.F32, syn-llama-gqa.Q3_K, Q3_K_S, true",
            "syn-llama-gqa.F32, syn-llama-gqa.Q4_K, Q4_K_S, true",
            "syn-llama-gqa.F32, syn-llama-gqa.Q5_K, Q5_K_S, true",
            "syn-llama-gqa.F32, syn-llama-gqa.Q6_K, Q6_K, true",
            "syn-qwen2.F32, syn-qwen2.Q8_0, Q8_0, true"})
    void sameFileAsLlamaQuantize(String input, String expected, String mix, boolean pure) throws IOException {
        Path in = Fixtures.require("reference/" + input + ".gguf");
        Path reference = Fixtures.require("reference/" + expected + ".gguf");
        Path out = dir.resolve(expected + ".gguf");
        ModelQuantizer.quantize(in, out, QuantizeOptions.of(QuantMix.parse(mix)).withPure(pure), pool, null);
        try (GgufFile ours = GgufFile.open(out); GgufFile theirs = GgufFile.open(reference)) {
            // Per tensor first, so a difference is named; then the whole file.
            assertEquals(theirs.tensors().stream().map(TensorInfo::name).toList(),
                    ours.tensors().stream().map(TensorInfo::name).toList(), "tensor order");
            for (TensorInfo t : theirs.tensors()) {
                TensorInfo o = ours.requireTensor(t.name());
                assertEquals(t.type(), o.type(), t.name());
                assertEquals(-1, theirs.tensorData(t).mismatch(ours.tensorData(o)), t.name() + " bytes");
            }
            assertEquals(theirs.metadata().keySet().stream().toList(), ours.metadata().keySet().stream().toList());
        }
        assertEquals(-1, Files.mismatch(reference, out), "whole file");
    }
}
