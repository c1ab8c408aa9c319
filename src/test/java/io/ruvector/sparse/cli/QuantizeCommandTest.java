package io.ruvector.sparse.cli;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sparse-infer quantize}: the happy path's output and a one-line error for each kind of bad input. */
class QuantizeCommandTest {

    @TempDir
    static Path models;

    @TempDir
    Path dir;

    private static Path f32;

    @BeforeAll
    static void synth() {
        f32 = models.resolve("m.F32.gguf");
        CliRun r = CliRun.of("", "synth", "--preset", "tiny", "--layers", "2", "--vocab", "300", "--threads", "2", "-o", f32.toString());
        assertEquals(0, r.exitCode(), r.err());
    }

    private static CliRun run(String... args) { return CliRun.of("", args); }

    /** A bad input ends with exit code 2 and exactly one line on stderr containing all of {@code parts}. */
    private static void assertOneLineError(CliRun r, String... parts) {
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), r.err());
        List<String> lines = r.err().strip().lines().toList();
        assertEquals(1, lines.size(), r.err());
        for (String p : parts) assertTrue(lines.get(0).contains(p), "'" + p + "' not in: " + lines.get(0));
        assertFalse(r.err().contains("Exception"), r.err());
    }

    private List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesTheMixWithAProgressBarAndASummary() throws IOException {
        Path out = dir.resolve("q.gguf");
        Files.writeString(out, "replaced");
        CliRun r = run("quantize", f32.toString(), out.toString(), "q4_k_m", "-t", "2");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().startsWith("wrote " + out + ": Q4_K_M (general.file_type 15), 21 tensors (Q4_K x13, F32 x5, Q6_K x3)"), r.out());
        assertTrue(r.err().contains("quantize Q4_K_M [") && r.err().contains("100%"), r.err());
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(GgmlType.Q6_K, f.requireTensor("blk.1.ffn_down.weight").type());
            assertEquals(GgmlType.Q4_K, f.requireTensor("blk.0.ffn_down.weight").type());
        }
        assertEquals(List.of("q.gguf"), files());
    }

    @Test
    void pureAndDryRun() throws IOException {
        Path out = dir.resolve("never.gguf");
        CliRun r = run("quantize", "--dry-run", "--pure", f32.toString(), out.toString(), "Q4_K_M");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("blk.1.ffn_down.weight") && r.out().contains("F32    -> Q4_K"), r.out());
        assertFalse(r.out().contains("Q6_K"), "--pure: no Q6_K anywhere\n" + r.out());
        assertEquals(List.of(), files(), "a dry run writes nothing");
    }

    @Test
    void rowsThatDoNotFitAreWarnedAbout() throws IOException {
        Path odd = dir.resolve("odd.gguf");
        assertEquals(0, run("synth", "--preset", "tiny", "--layers", "1", "--ffn", "320", "--vocab", "300", "-o", odd.toString()).exitCode());
        Path out = dir.resolve("odd.Q4_K_M.gguf");
        CliRun r = run("quantize", "-q", odd.toString(), out.toString(), "Q4_K_M");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("warning: blk.0.ffn_down.weight: row length 320 is not a multiple of 256 (required by Q6_K), using Q8_0"),
                r.err());
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(GgmlType.Q8_0, f.requireTensor("blk.0.ffn_down.weight").type());
        }
    }

    @Test
    void badTypeNamesListTheValidOnes() {
        assertOneLineError(run("quantize", f32.toString(), dir.resolve("o.gguf").toString(), "Q4_K_XL"),
                "unknown quantization type 'Q4_K_XL'", "Q4_K_M", "Q8_0", "F16");
        assertOneLineError(run("quantize", "--output-tensor-type", "Q7", f32.toString(), dir.resolve("o.gguf").toString(), "Q4_0"),
                "--output-tensor-type", "'Q7'", "Q6_K");
    }

    @Test
    void missingInputAndMissingOutputDirectory() {
        assertOneLineError(run("quantize", dir.resolve("nope.gguf").toString(), dir.resolve("o.gguf").toString(), "Q8_0"),
                "no such file", "nope.gguf");
        assertOneLineError(run("quantize", f32.toString(), dir.resolve("no/such/dir/o.gguf").toString(), "Q8_0"),
                "output directory", "does not exist");
    }

    @Test
    void inputsQuantizedBelow8BitsNeedAllowRequantize() throws IOException {
        Path q4 = dir.resolve("q4.gguf");
        assertEquals(0, run("quantize", "-q", "--pure", f32.toString(), q4.toString(), "Q4_K_S").exitCode());
        Path out = dir.resolve("o.gguf");
        assertOneLineError(run("quantize", q4.toString(), out.toString(), "Q2_K"), "already quantized to Q4_K", "--allow-requantize");
        assertFalse(Files.exists(out));
        assertEquals(0, run("quantize", "-q", "--allow-requantize", q4.toString(), out.toString(), "Q2_K").exitCode());
        // 8-bit input needs no flag.
        Path q8 = dir.resolve("q8.gguf");
        assertEquals(0, run("quantize", "-q", f32.toString(), q8.toString(), "Q8_0").exitCode());
        CliRun r = run("quantize", "-q", q8.toString(), dir.resolve("from8.gguf").toString(), "Q4_K_M");
        assertEquals(0, r.exitCode(), r.err());
    }

    @Test
    void typesWeCannotReadAndFilesThatAreNotModels() throws IOException {
        Path iq = dir.resolve("iq.gguf");
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "llama");
        w.putU32("llama.block_count", 1);
        w.addTensor("blk.0.attn_q.weight", GgmlType.IQ2_XXS, new long[] {256, 2},
                MemorySegment.ofArray(new byte[2 * GgmlType.IQ2_XXS.blockBytes()]));
        w.write(iq);
        assertOneLineError(run("quantize", iq.toString(), dir.resolve("o.gguf").toString(), "Q4_0"),
                "blk.0.attn_q.weight", "IQ2_XXS", "cannot read");

        Path notModel = dir.resolve("data.gguf");
        new GgufWriter().putString("general.name", "just data").write(notModel);
        assertOneLineError(run("quantize", notModel.toString(), dir.resolve("o.gguf").toString(), "Q4_0"), "not a model");

        Path garbage = dir.resolve("garbage.gguf");
        Files.writeString(garbage, "not a gguf file at all");
        assertOneLineError(run("quantize", garbage.toString(), dir.resolve("o.gguf").toString(), "Q4_0"));
        assertFalse(Files.exists(dir.resolve("o.gguf")));
    }
}
