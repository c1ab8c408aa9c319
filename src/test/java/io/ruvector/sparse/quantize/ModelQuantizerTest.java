package io.ruvector.sparse.quantize;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.model.ActivationPrecision;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.synth.SyntheticModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ModelQuantizer} on synthetic llama models: bytes, thread-count independence, round trip, atomicity. */
class ModelQuantizerTest {

    @TempDir
    static Path shared;

    @TempDir
    Path dir;

    private static Parallel pool;
    private static Path source;

    @BeforeAll
    static void writeSource() throws IOException {
        pool = new Parallel(2);
        // Small (the K-quant searches are slow) and every row a multiple of 256; the layer rules have their own test.
        SyntheticModel.Options o = SyntheticModel.Options.preset("tiny").withShape("q", 256, 2, 256, 8, 2, 320, 256);
        source = shared.resolve("source.F32.gguf");
        SyntheticModel.write(o, source, pool, null);
    }

    @AfterAll
    static void closePool() { pool.close(); }

    private Path quantize(QuantizeOptions o, Parallel p) throws IOException {
        Path out = dir.resolve(o.mix() + (o.pure() ? "-pure" : "") + "-" + p.threads() + ".gguf");
        ModelQuantizer.quantize(source, out, o, p, null);
        return out;
    }

    /** The source tensor's values as floats. */
    private static float[] floats(GgufFile f, TensorInfo t) {
        float[] v = new float[(int) t.elementCount()];
        TensorTypes.of(t.type()).dequantize(f.tensorData(t), 0, v, 0, v.length);
        return v;
    }

    @Test
    void pureOutputIsEachTensorEncodedByItsTypeAndTheMetadataSaysSo() throws IOException {
        Map<QuantMix, GgmlType> mixes = Map.ofEntries(Map.entry(QuantMix.Q4_0, GgmlType.Q4_0),
                Map.entry(QuantMix.Q4_1, GgmlType.Q4_1), Map.entry(QuantMix.Q5_0, GgmlType.Q5_0),
                Map.entry(QuantMix.Q5_1, GgmlType.Q5_1), Map.entry(QuantMix.Q8_0, GgmlType.Q8_0),
                Map.entry(QuantMix.Q2_K, GgmlType.Q2_K), Map.entry(QuantMix.Q3_K_S, GgmlType.Q3_K),
                Map.entry(QuantMix.Q4_K_S, GgmlType.Q4_K), Map.entry(QuantMix.Q5_K_S, GgmlType.Q5_K),
                Map.entry(QuantMix.Q6_K, GgmlType.Q6_K), Map.entry(QuantMix.IQ4_NL, GgmlType.IQ4_NL),
                Map.entry(QuantMix.F16, GgmlType.F16), Map.entry(QuantMix.BF16, GgmlType.BF16));
        try (GgufFile in = GgufFile.open(source); Arena arena = Arena.ofConfined()) {
            for (Map.Entry<QuantMix, GgmlType> m : mixes.entrySet()) {
                Path out = quantize(QuantizeOptions.of(m.getKey()).withPure(true), pool);
                try (GgufFile q = GgufFile.open(out)) {
                    assertEquals(m.getKey().fileType(), q.getInt("general.file_type"), m.getKey().name());
                    assertEquals(2, q.getInt("general.quantization_version"));
                    assertEquals(in.tensors().size(), q.tensors().size());
                    assertEquals(in.getString("general.name"), q.getString("general.name"));
                    assertEquals(in.getArray("tokenizer.ggml.tokens").size(), q.getArray("tokenizer.ggml.tokens").size());
                    for (TensorInfo t : in.tensors()) {
                        TensorInfo o = q.requireTensor(t.name());
                        MemorySegment expected;
                        if (t.nDims() == 2) {
                            assertEquals(m.getValue(), o.type(), t.name());
                            expected = arena.allocate(m.getValue().bytesFor(t.elementCount()));
                            float[] values = floats(in, t);
                            TensorType enc = TensorTypes.of(m.getValue());
                            int n = (int) t.rowLength();
                            for (int r = 0; r < t.rows(); r++) enc.quantize(values, r * n, expected, r * m.getValue().bytesFor(n), n);
                        } else {
                            assertEquals(GgmlType.F32, o.type(), t.name() + " (norms stay F32)");
                            expected = in.tensorData(t);
                        }
                        assertEquals(-1, expected.mismatch(q.tensorData(o)), m.getKey() + " " + t.name());
                    }
                }
            }
        }
    }

    /** F16, BF16 and Q8_0 inputs are decoded exactly and re-encoded: the same bytes as encoding their values. */
    @Test
    void widerInputsAreDecodedThenEncoded() throws IOException {
        for (QuantMix first : List.of(QuantMix.F16, QuantMix.BF16, QuantMix.Q8_0)) {
            Path mid = dir.resolve("mid-" + first + ".gguf");
            ModelQuantizer.quantize(source, mid, QuantizeOptions.of(first).withPure(true), pool, null);
            Path out = dir.resolve("from-" + first + ".gguf");
            ModelQuantizer.quantize(mid, out, QuantizeOptions.of(QuantMix.Q4_K_S).withPure(true), pool, null);
            try (GgufFile in = GgufFile.open(mid); GgufFile q = GgufFile.open(out); Arena arena = Arena.ofConfined()) {
                for (TensorInfo t : in.tensors()) {
                    if (t.nDims() < 2) continue;
                    float[] values = floats(in, t);
                    int n = (int) t.rowLength();
                    MemorySegment expected = arena.allocate(GgmlType.Q4_K.bytesFor(t.elementCount()));
                    for (int r = 0; r < t.rows(); r++) {
                        TensorTypes.of(GgmlType.Q4_K).quantize(values, r * n, expected, r * GgmlType.Q4_K.bytesFor(n), n);
                    }
                    assertEquals(-1, expected.mismatch(q.tensorData(q.requireTensor(t.name()))), first + " " + t.name());
                }
            }
        }
    }

    @Test
    void bytesDoNotDependOnTheThreadCount() throws IOException {
        for (QuantMix mix : List.of(QuantMix.Q4_K_M, QuantMix.IQ4_NL)) {
            Path one;
            try (Parallel p1 = new Parallel(1)) {
                one = quantize(QuantizeOptions.of(mix), p1);
            }
            try (Parallel p3 = new Parallel(3)) {
                assertEquals(-1, Files.mismatch(one, quantize(QuantizeOptions.of(mix), p3)), mix.name());
            }
        }
    }

    /**
     * The output loads and runs in our engine, and its logits stay near the source model's. The tolerance comes
     * from the quantization error itself: with relative RMS errors e_i in the model's matrices, independent
     * errors add in quadrature, so if each matrix reached the logits with unit gain their relative RMS error
     * would be sqrt(sum e_i^2); normalization and the residual stream damp most paths (these models land at
     * ~0.6 of it for every mix), while a tensor written in the wrong type, order or rows would be off by ~100%.
     */
    @Test
    void outputRunsInTheEngineWithLogitsWithinTheQuantizationError() throws IOException {
        int[] prompt = {1, 300, 17, 42, 99, 256, 5, 311};
        float[] reference = logits(source, prompt);
        for (QuantMix mix : List.of(QuantMix.Q8_0, QuantMix.Q6_K, QuantMix.Q5_K_M, QuantMix.Q4_K_M, QuantMix.Q4_0,
                QuantMix.IQ4_NL, QuantMix.Q3_K_M, QuantMix.Q2_K, QuantMix.F16, QuantMix.BF16)) {
            Path out = quantize(QuantizeOptions.of(mix), pool);
            double sumSq = 0;
            try (GgufFile in = GgufFile.open(source); GgufFile q = GgufFile.open(out)) {
                for (TensorInfo t : in.tensors()) {
                    if (t.nDims() < 2 || t.name().equals("token_embd.weight")) continue; // the embedding is looked up, not multiplied
                    double e = relativeRms(floats(in, t), floats(q, q.requireTensor(t.name())));
                    sumSq += e * e;
                }
            }
            double tolerance = Math.sqrt(sumSq);
            double error = relativeRms(reference, logits(out, prompt));
            assertTrue(error <= tolerance, mix + ": logits off by " + error + " (relative RMS), bound " + tolerance);
            assertTrue(error > 0 || mix == QuantMix.F16, mix + ": quantization changed nothing?");
        }
    }

    /** Prompt logits, then four greedy steps of the source's own choices, all concatenated (F32 activations). */
    private static float[] logits(Path model, int[] prompt) throws IOException {
        int[] continuation = {7, 77, 177, 277};
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2)
                .withActivations(ActivationPrecision.F32));
             Session s = m.newSession()) {
            float[] all = s.evaluateAll(prompt);
            int vocab = m.config().vocabSize();
            float[] out = Arrays.copyOf(all, all.length + continuation.length * vocab);
            for (int i = 0; i < continuation.length; i++) {
                System.arraycopy(s.evaluate(continuation[i]).toArray(), 0, out, all.length + i * vocab, vocab);
            }
            return out;
        }
    }

    private static double relativeRms(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) b[i] - a[i];
            num += d * d;
            den += (double) a[i] * a[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void aFailureLeavesNoOutputAndKeepsAnOldOne() throws IOException {
        // A NaN in the last layer's ffn_down: the error comes after most tensors were written to the temporary file.
        Path bad = dir.resolve("nan.gguf");
        GgufWriter w = new GgufWriter();
        try (GgufFile in = GgufFile.open(source)) {
            w.putAll(in.metadata());
            for (TensorInfo t : in.tensors()) {
                float[] v = floats(in, t);
                if (t.name().equals("blk.1.ffn_down.weight")) v[v.length / 2] = Float.NaN;
                w.addTensor(t.name(), GgmlType.F32, t.dims(), TensorTypes.encoded(GgmlType.F32, t.dims(), v));
            }
            w.write(bad);
        }
        Path out = dir.resolve("out.gguf");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelQuantizer.quantize(bad, out, QuantizeOptions.of(QuantMix.Q4_K_M), pool, null));
        assertTrue(e.getMessage().contains("blk.1.ffn_down.weight") && e.getMessage().contains("NaN"), e.getMessage());
        assertEquals(List.of("nan.gguf"), listing(), "no output and no temporary file");

        Files.writeString(out, "an older file");
        assertThrows(IllegalArgumentException.class,
                () -> ModelQuantizer.quantize(bad, out, QuantizeOptions.of(QuantMix.Q4_K_M), pool, null));
        assertEquals("an older file", Files.readString(out), "the old output stays as it was");
        assertEquals(List.of("nan.gguf", "out.gguf"), listing());
    }

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /**
     * Stopping the JVM midway (SIGTERM; Ctrl-C's SIGINT runs the same shutdown hooks) leaves neither the output
     * nor the temporary file behind. The child quantizes, announces the first tensor and stalls there.
     */
    @Test
    void stoppingTheJvmMidwayLeavesNothingBehind() throws Exception {
        Path out = dir.resolve("stopped.gguf");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                StalledQuantize.class.getName(), source.toString(), out.toString())
                .redirectErrorStream(true).start();
        try {
            var reader = child.inputReader();
            String line;
            while ((line = reader.readLine()) != null && !line.equals(StalledQuantize.STALLED)) { }
            assertEquals(StalledQuantize.STALLED, line, "the child never started writing");
            assertTrue(listing().stream().anyMatch(n -> n.endsWith(".tmp")), "a temporary file while writing: " + listing());
            child.destroy();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            child.destroyForcibly();
        }
        assertEquals(List.of(), listing());
    }

    /** The child of {@link #stoppingTheJvmMidwayLeavesNothingBehind}. */
    static final class StalledQuantize {
        static final String STALLED = "stalled after the first tensor";

        public static void main(String[] args) throws Exception {
            try (Parallel p = new Parallel(1)) {
                ModelQuantizer.quantize(Path.of(args[0]), Path.of(args[1]), QuantizeOptions.of(QuantMix.Q8_0), p,
                        (done, total) -> {
                            if (done > 0 && done < total) {
                                System.out.println(STALLED);
                                System.out.flush();
                                try {
                                    Thread.sleep(Long.MAX_VALUE);
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                            }
                        });
            }
        }
    }
}
