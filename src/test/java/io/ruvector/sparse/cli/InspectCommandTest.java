package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.quant.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.quant.TensorTypes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sparse-infer inspect}, run in-process through {@link Main#run}. */
class InspectCommandTest {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

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

    private String stdout() { return out.toString(StandardCharsets.UTF_8); }

    private String stderr() { return err.toString(StandardCharsets.UTF_8); }

    @Test
    void printsHeaderMetadataTensorTableAndTotals() {
        String model = Fixtures.require("models/stories260K.gguf").toString();
        assertEquals(0, run("inspect", model), stderr());
        String s = stdout();
        assertTrue(s.contains("GGUF v3, magic GGUF"), s);
        assertTrue(s.contains("alignment   32 (default)"), s);
        assertTrue(s.contains("metadata (19 keys)"), s);
        assertTrue(s.contains("[string; 512]"), s);
        assertTrue(s.contains("\"<unk>\", \"<s>\""), s);
        assertTrue(s.contains("... 506 more]"), "long arrays are shortened");
        assertTrue(s.contains("4294967295"), "u32 read unsigned");
        assertTrue(s.contains("tensors (48)"), s);
        assertTrue(s.lines().anyMatch(l -> l.matches("\\s+token_embd\\.weight\\s+F32\\s+\\[64, 512]\\s+0\\s+131072")), s);
        assertTrue(s.contains("48 tensors, 292800 parameters"), s);
        assertTrue(s.lines().anyMatch(l -> l.matches("\\s+F32\\s+48 tensors\\s+292800 parameters\\s+1171200 bytes\\s+100\\.0%.*")), s);
        assertEquals("", stderr());
    }

    @Test
    void inspectsEverySharedFile() throws IOException {
        Path root = Fixtures.require("models/stories260K.gguf").getParent().getParent();
        List<Path> files = new ArrayList<>();
        for (String sub : List.of("models", "vocab", "reference")) {
            try (Stream<Path> s = Files.list(root.resolve(sub))) {
                s.filter(p -> p.toString().endsWith(".gguf")).forEach(files::add);
            }
        }
        assertTrue(files.size() > 30);
        for (Path p : files) {
            assertEquals(0, run("inspect", p.toString()), p + ": " + stderr());
            assertTrue(stdout().contains("total "), p.toString());
        }
    }

    @Test
    void powerInferMagicAndCustomAlignmentAreShown() throws IOException {
        Path p = dir.resolve("pwri.gguf");
        GgufWriter w = new GgufWriter().powerInfer(true).alignment(64).putString("general.architecture", "llama")
                .putString("long", "x".repeat(500) + "\nend");
        w.addTensor("blk.0.fc1.weight", GgmlType.F32, new long[] {8, 2}, new float[16]);
        w.write(p);
        assertEquals(0, run("inspect", p.toString()), stderr());
        assertTrue(stdout().contains("magic PWRI (PowerInfer)"), stdout());
        assertTrue(stdout().contains("alignment   64\n") || stdout().contains("alignment   64" + System.lineSeparator()), stdout());
        assertTrue(stdout().contains("... (504 chars)"), "long strings are shortened");
        assertEquals(0, run("inspect", "--full", p.toString()), stderr());
        assertTrue(stdout().contains("x".repeat(500) + "\\nend\""), "--full prints everything, escaped");
    }

    @Test
    void dumpWritesLittleEndianFloat32() throws IOException {
        Path p = dir.resolve("m.gguf");
        float[] values = new float[3 * 8];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < values.length; i++) values[i] = (float) r.nextGaussian();
        GgufWriter w = new GgufWriter();
        w.addTensor("w", GgmlType.F32, new long[] {8, 3}, values);
        w.write(p);
        Path o = dir.resolve("w.f32");
        assertEquals(0, run("inspect", p.toString(), "--dump", "w", "--out", o.toString()), stderr());
        assertTrue(stdout().contains("24 float32 values"), stdout());
        assertArrayEquals(values, floats(Files.readAllBytes(o)));
    }

    /** --dump of every stored type in quant-golden.gguf reproduces ggml's own dequantization. */
    @Test
    void dumpMatchesLlamaCppDequantizationOfQuantGolden() throws IOException {
        Path golden = Fixtures.require("reference/quant-golden.gguf");
        List<String> checked = new ArrayList<>();
        try (GgufFile f = GgufFile.open(golden)) {
            for (TensorInfo t : f.tensors()) {
                if (!t.name().endsWith(".q") || !TensorTypes.isSupported(t.type())) continue;
                String type = t.name().substring(0, t.name().length() - 2);
                Path o = dir.resolve(type + ".f32");
                assertEquals(0, run("inspect", golden.toString(), "--dump", t.name(), "-o", o.toString()), stderr());
                float[] got = floats(Files.readAllBytes(o));
                TensorInfo ref = f.requireTensor(type + ".dequant");
                float[] want = new float[(int) ref.elementCount()];
                MemorySegment.copy(f.tensorData(ref), F32, 0, want, 0, want.length);
                assertEquals(want.length, got.length, type);
                for (int i = 0; i < want.length; i++) {
                    assertTrue(Math.abs(got[i] - want[i]) <= 2 * Math.ulp(want[i]), type + " value " + i + ": " + got[i] + " vs " + want[i]);
                }
                checked.add(type);
            }
        }
        System.out.println("--dump matched ggml for: " + checked);
    }

    @Test
    void corruptAndTruncatedFilesExitTwoWithTheOffset() throws IOException {
        byte[] real = Files.readAllBytes(Fixtures.require("models/stories260K.gguf"));
        int[] cuts = {0, 3, 10, 20, 100, 5000, 14000, 14176, 200_000, real.length - 1};
        for (int cut : cuts) {
            Path p = dir.resolve("cut" + cut + ".gguf");
            Files.write(p, Arrays.copyOf(real, cut));
            assertEquals(2, run("inspect", p.toString()), "cut at " + cut);
            String e = stderr();
            assertEquals(1, e.lines().count(), "one line, no stack trace: " + e);
            assertTrue(e.startsWith("sparse-infer: at byte "), e);
            assertFalse(e.contains("Exception"), e);
        }
        byte[] bad = real.clone();
        bad[8] = (byte) 0xFF; // tensor_count low byte: a count the file cannot hold
        bad[15] = 0x10;
        Path p = dir.resolve("bad.gguf");
        Files.write(p, bad);
        assertEquals(2, run("inspect", p.toString()));
        assertTrue(stderr().contains("at byte 8") && stderr().contains("tensor_count"), stderr());
        assertEquals(2, run("inspect", "--verbose", p.toString()));
        assertTrue(stderr().contains("GgufFormatException"), "--verbose shows the trace: " + stderr());
    }

    @Test
    void missingFileBadTensorAndUsageErrors() throws IOException {
        assertEquals(2, run("inspect", dir.resolve("nope.gguf").toString()));
        assertTrue(stderr().contains("no such file"), stderr());
        assertEquals(2, run("inspect", dir.toString()));
        String model = Fixtures.require("models/stories260K.gguf").toString();
        assertEquals(2, run("inspect", model, "--dump", "nope", "--out", dir.resolve("x").toString()));
        assertTrue(stderr().contains("no tensor 'nope'"), stderr());
        assertEquals(1, run("inspect", model, "--dump", "token_embd.weight"));
        assertTrue(stderr().contains("--dump needs --out"), stderr());
        assertEquals(1, run("inspect"));
        assertEquals(1, run("inspect", model, "--bogus"));
        Path unsupported = dir.resolve("iq.gguf");
        GgufWriter w = new GgufWriter();
        w.addTensor("iq", GgmlType.IQ2_XXS, new long[] {256}, MemorySegment.ofArray(new byte[66]));
        w.write(unsupported);
        assertEquals(0, run("inspect", unsupported.toString()), "inspect lists any type");
        assertEquals(2, run("inspect", unsupported.toString(), "--dump", "iq", "-o", dir.resolve("iq.f32").toString()));
        assertTrue(stderr().contains("IQ2_XXS"), stderr());
    }

    private static float[] floats(byte[] bytes) {
        float[] f = new float[bytes.length / 4];
        MemorySegment.copy(MemorySegment.ofArray(bytes), F32, 0, f, 0, f.length);
        return f;
    }
}
