package io.ruvector.sparse.gguf;

import io.ruvector.sparse.quant.GgmlType;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Write, read back, compare: every value type, nested arrays, alignments, versions, magic, big files. */
class GgufWriterTest {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    /** One value of every type, at the edges of each range, plus arrays of each and nested arrays. */
    static Map<String, GgufValue> everyValueType() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("u8.max", GgufValue.checked(GgufValueType.UINT8, 255));
        m.put("i8.min", GgufValue.checked(GgufValueType.INT8, -128));
        m.put("u16.max", GgufValue.checked(GgufValueType.UINT16, 65535));
        m.put("i16.min", GgufValue.checked(GgufValueType.INT16, -32768));
        m.put("u32.max", GgufValue.checked(GgufValueType.UINT32, 0xFFFF_FFFFL));
        m.put("i32.min", GgufValue.checked(GgufValueType.INT32, Integer.MIN_VALUE));
        m.put("u64.max", GgufValue.checked(GgufValueType.UINT64, -1L));
        m.put("i64.min", GgufValue.checked(GgufValueType.INT64, Long.MIN_VALUE));
        m.put("f32.nan", GgufValue.checked(GgufValueType.FLOAT32, Float.NaN));
        m.put("f32.negzero", GgufValue.checked(GgufValueType.FLOAT32, -0.0f));
        m.put("f32.tiny", GgufValue.checked(GgufValueType.FLOAT32, Float.MIN_VALUE));
        m.put("f64.pi", GgufValue.checked(GgufValueType.FLOAT64, Math.PI));
        m.put("bool.t", GgufValue.ofBool(true));
        m.put("bool.f", GgufValue.ofBool(false));
        m.put("str.empty", GgufValue.ofString(""));
        m.put("str.utf8", GgufValue.ofString("h\u00e9llo \u2581the \uD83E\uDD99 \u4E2D\u6587\n\t\"q\""));
        m.put("arr.u8", GgufValue.ofArray(GgufArray.of(GgufValueType.UINT8, List.of(0, 1, 255))));
        m.put("arr.i8", GgufValue.ofArray(GgufArray.of(GgufValueType.INT8, List.of(-128, 0, 127))));
        m.put("arr.u16", GgufValue.ofArray(GgufArray.of(GgufValueType.UINT16, List.of(0, 65535))));
        m.put("arr.i16", GgufValue.ofArray(GgufArray.of(GgufValueType.INT16, List.of(-32768, 32767))));
        m.put("arr.u32", GgufValue.ofArray(GgufArray.of(GgufValueType.UINT32, List.of(0L, 0xFFFF_FFFFL))));
        m.put("arr.i32", GgufValue.ofArray(GgufArray.ofInts(Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE)));
        m.put("arr.u64", GgufValue.ofArray(GgufArray.of(GgufValueType.UINT64, List.of(0L, -1L))));
        m.put("arr.i64", GgufValue.ofArray(GgufArray.of(GgufValueType.INT64, List.of(Long.MIN_VALUE, Long.MAX_VALUE))));
        m.put("arr.f32", GgufValue.ofArray(GgufArray.ofFloats(1.5f, Float.NEGATIVE_INFINITY, Float.NaN, -0f)));
        m.put("arr.f64", GgufValue.ofArray(GgufArray.of(GgufValueType.FLOAT64, List.of(1e300, -2.5))));
        m.put("arr.bool", GgufValue.ofArray(GgufArray.of(GgufValueType.BOOL, List.of(true, false, true))));
        m.put("arr.empty", GgufValue.ofArray(GgufArray.of(GgufValueType.FLOAT32, List.of())));
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 1000; i++) many.add("\u2581tok" + i + (i % 7 == 0 ? "" : "x".repeat(i % 13)));
        m.put("arr.strings", GgufValue.ofArray(GgufArray.ofStrings(many)));
        m.put("arr.nested", GgufValue.ofArray(GgufArray.ofArrays(
                GgufArray.ofInts(1, 2, 3),
                GgufArray.ofStrings("a", "", "\u00fc"),
                GgufArray.ofArrays(GgufArray.ofFloats(0.5f), GgufArray.of(GgufValueType.BOOL, List.of())),
                GgufArray.of(GgufValueType.ARRAY, List.of()))));
        List<GgufArray> nestedMany = new ArrayList<>();
        for (int i = 0; i < 40; i++) nestedMany.add(GgufArray.ofStrings("n" + i, "m".repeat(i)));
        m.put("arr.nested.many", GgufValue.ofArray(GgufArray.of(GgufValueType.ARRAY, nestedMany)));
        return m;
    }

    @Test
    void everyValueTypeRoundTrips() throws IOException {
        Map<String, GgufValue> values = everyValueType();
        Path p = dir.resolve("values.gguf");
        new GgufWriter().putAll(values).write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals(new ArrayList<>(values.keySet()), new ArrayList<>(f.metadata().keySet()));
            for (var e : values.entrySet()) assertEquals(e.getValue(), f.metadata().get(e.getKey()), e.getKey());
            // Lazy element access from any index, including the string / nested checkpoints.
            GgufArray strings = f.getArray("arr.strings");
            assertEquals(values.get("arr.strings").asArray().getString(999), strings.getString(999));
            assertEquals(values.get("arr.strings").asArray().getString(17), strings.getString(17));
            assertArrayEquals(values.get("arr.strings").asArray().toStringArray(), strings.toStringArray());
            assertEquals("m".repeat(33), f.getArray("arr.nested.many").getArray(33).getString(1));
            assertEquals(4294967295L, f.getLong("u32.max"));
            assertEquals("18446744073709551615", f.metadata().get("u64.max").toString());
            assertTrue(Float.isNaN(f.getFloat("f32.nan")));
            // A copy of a read file's metadata (lazy mapped arrays) writes the same bytes again.
            Path copy = dir.resolve("copy.gguf");
            new GgufWriter().putAll(f.metadata()).write(copy);
            assertArrayEquals(Files.readAllBytes(p), Files.readAllBytes(copy));
        }
    }

    @Test
    void tensorsRoundTripAtEveryAlignment() throws IOException {
        for (long alignment : new long[] {1, 8, 32, 64, 4096}) {
            SplittableRandom rnd = new SplittableRandom(alignment);
            GgufWriter w = new GgufWriter();
            if (alignment != 32) w.alignment(alignment);
            w.putString("general.architecture", "test");
            Map<String, float[]> expected = new LinkedHashMap<>();
            long[][] shapes = {{7}, {3, 5}, {2, 3, 4}, {1, 2, 1, 3}, {0, 4}, {13, 1}};
            for (int i = 0; i < shapes.length; i++) {
                long n = 1;
                for (long d : shapes[i]) n *= d;
                float[] v = new float[(int) n];
                for (int k = 0; k < v.length; k++) v[k] = (float) rnd.nextGaussian();
                expected.put("t" + i, v);
                w.addTensor("t" + i, GgmlType.F32, shapes[i], v);
            }
            byte[] raw = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
            w.addTensor("raw.i8", GgmlType.I8, new long[] {16}, MemorySegment.ofArray(raw));
            Path p = dir.resolve("t" + alignment + ".gguf");
            w.write(p);
            assertEquals(w.fileBytes(), Files.size(p));
            try (GgufFile f = GgufFile.open(p)) {
                assertEquals(alignment, f.alignment());
                assertEquals(0, f.dataOffset() % alignment);
                assertEquals(w.tensors(), f.tensors());
                for (int i = 0; i < shapes.length; i++) {
                    TensorInfo t = f.requireTensor("t" + i);
                    assertArrayEquals(shapes[i], t.dims());
                    assertEquals(0, t.offset() % alignment);
                    MemorySegment data = f.tensorData(t);
                    float[] got = new float[(int) t.elementCount()];
                    MemorySegment.copy(data, F32, 0, got, 0, got.length);
                    assertArrayEquals(expected.get("t" + i), got, "t" + i + " at alignment " + alignment);
                }
                assertArrayEquals(raw, f.tensorData(f.requireTensor("raw.i8")).toArray(ValueLayout.JAVA_BYTE));
                // The data region ends padded to the alignment, as llama.cpp expects.
                assertEquals(0, (f.fileSize() - f.dataOffset()) % alignment);
            }
        }
    }

    @Test
    void versionTwoAndPowerInferMagic() throws IOException {
        Path p = dir.resolve("v2.gguf");
        GgufWriter w = new GgufWriter().version(2).powerInfer(true).putU32("a", 1);
        w.addTensor("x", GgmlType.F32, new long[] {4}, new float[] {1, 2, 3, 4});
        w.write(p);
        byte[] head = Files.readAllBytes(p);
        assertEquals('P', head[0]);
        assertEquals('W', head[1]);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(2, f.version());
            assertTrue(f.isPowerInfer());
        }
        Path q = dir.resolve("v3.gguf");
        new GgufWriter().putU32("a", 1).write(q);
        try (GgufFile f = GgufFile.open(q)) {
            assertEquals(3, f.version());
            assertFalse(f.isPowerInfer());
            assertEquals(0, f.tensors().size());
        }
    }

    @Test
    void contentCallbackStreamsIntoTheMappedFile() throws IOException {
        GgufWriter w = new GgufWriter();
        int rows = 64, cols = 256;
        w.addTensor("w", GgmlType.F32, new long[] {cols, rows}, dst -> {
            assertEquals((long) rows * cols * 4, dst.byteSize());
            // Filled from two threads, as the synthetic-model generator does.
            Thread t = new Thread(() -> {
                for (int r = rows / 2; r < rows; r++) for (int c = 0; c < cols; c++) dst.set(F32, 4L * (r * cols + c), r * 1000 + c);
            });
            t.start();
            for (int r = 0; r < rows / 2; r++) for (int c = 0; c < cols; c++) dst.set(F32, 4L * (r * cols + c), r * 1000 + c);
            try {
                t.join();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
        });
        List<long[]> progress = new ArrayList<>();
        w.progress((done, total) -> progress.add(new long[] {done, total}));
        Path p = dir.resolve("cb.gguf");
        w.write(p);
        assertEquals(Files.size(p), progress.getLast()[0]);
        assertEquals(Files.size(p), progress.getLast()[1]);
        try (GgufFile f = GgufFile.open(p)) {
            MemorySegment d = f.tensorData(f.requireTensor("w"));
            assertEquals(63 * 1000 + 255, d.get(F32, 4L * (63 * cols + 255)));
            assertEquals(5 * 1000 + 7, d.get(F32, 4L * (5 * cols + 7)));
        }
    }

    @Test
    void atomicWriteReplacesWholeOrNothing() throws IOException {
        Path p = dir.resolve("side.gguf");
        new GgufWriter().putString("v", "old").write(p);
        byte[] before = Files.readAllBytes(p);

        GgufWriter failing = new GgufWriter().putString("v", "new");
        failing.addTensor("t", GgmlType.F32, new long[] {8}, dst -> { throw new IOException("generator failed"); });
        IOException e = assertThrows(IOException.class, () -> failing.writeAtomically(p));
        assertEquals("generator failed", e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(p));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(p), s.toList(), "no temporary file is left behind");
        }

        new GgufWriter().putString("v", "new").writeAtomically(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals("new", f.getString("v"));
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(p), s.toList());
        }
    }

    @Test
    void failedPlainWriteLeavesNoPartialFile() {
        Path p = dir.resolve("partial.gguf");
        GgufWriter w = new GgufWriter();
        w.addTensor("t", GgmlType.F32, new long[] {8}, dst -> { throw new IllegalStateException("boom"); });
        assertThrows(IllegalStateException.class, () -> w.write(p));
        assertFalse(Files.exists(p));
    }

    @Test
    void badDeclarationsAreRejectedByName() {
        GgufWriter w = new GgufWriter();
        w.addTensor("a", GgmlType.F32, new long[] {4}, new float[4]);
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("a", GgmlType.F32, new long[] {4}, new float[4])), "duplicate tensor name 'a'");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("x".repeat(64), GgmlType.F32, new long[] {4}, new float[4])), "longer than 63");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("q", GgmlType.Q8_0, new long[] {48, 2}, dst -> {})), "block size 32");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("d", GgmlType.F32, new long[] {1, 2, 3, 4, 5}, dst -> {})), "5 dims");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("n", GgmlType.F32, new long[] {4}, new float[3])), "3 values");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.putU8("k", 256)), "UINT8");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.putI32("k", 1L << 31)), "INT32");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.put("k", GgufValueType.STRING, 5)), "STRING");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.alignment(48)), "power of two");
        assertThrows(IllegalStateException.class, () -> w.alignment(64), "alignment after tensors");
        assertMessage(assertThrows(UnsupportedOperationException.class,
                () -> w.addTensor("iq", GgmlType.IQ2_XXS, new long[] {256}, new float[256])), "IQ2_XXS");
        GgufArray deep = GgufArray.ofInts(1);
        for (int i = 0; i < 9; i++) deep = GgufArray.ofArrays(deep);
        GgufArray tooDeep = deep;
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.putArray("deep", tooDeep)), "nested deeper");
    }

    private static void assertMessage(Exception e, String part) {
        assertTrue(e.getMessage().contains(part), "'" + part + "' missing from: " + e.getMessage());
    }

    @Test
    void generalAlignmentKeyIsAlwaysU32() throws IOException {
        Path p = dir.resolve("a.gguf");
        GgufWriter w = new GgufWriter().put("general.alignment", GgufValueType.UINT64, 256L);
        w.addTensor("t", GgmlType.F32, new long[] {3}, new float[] {1, 2, 3});
        w.addTensor("u", GgmlType.F32, new long[] {3}, new float[] {4, 5, 6});
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(GgufValueType.UINT32, f.metadata().get("general.alignment").type());
            assertEquals(256, f.alignment());
            assertEquals(256, f.requireTensor("u").offset());
        }
    }

    /** A file larger than 2 GiB (sparse on disk): long offsets all the way through writer and reader. */
    @Test
    void fileLargerThanTwoGiB() throws IOException {
        Assumptions.assumeTrue(Files.getFileStore(dir).getUsableSpace() > (8L << 30), "needs free disk for a sparse 2.1 GiB file");
        long big = (1L << 31) + 4096;
        GgufWriter w = new GgufWriter();
        w.addTensor("big", GgmlType.I8, new long[] {big}, dst -> {
            dst.set(ValueLayout.JAVA_BYTE, 0, (byte) 11);
            dst.set(ValueLayout.JAVA_BYTE, big - 1, (byte) 22);
        });
        TensorInfo after = w.addTensor("after", GgmlType.F32, new long[] {4}, new float[] {1.5f, 2.5f, 3.5f, 4.5f});
        assertTrue(after.offset() > Integer.MAX_VALUE);
        Path p = dir.resolve("big.gguf");
        try {
            w.write(p);
            assertTrue(Files.size(p) > (1L << 31));
            try (GgufFile f = GgufFile.open(p)) {
                MemorySegment b = f.tensorData(f.requireTensor("big"));
                assertEquals(big, b.byteSize());
                assertEquals(11, b.get(ValueLayout.JAVA_BYTE, 0));
                assertEquals(22, b.get(ValueLayout.JAVA_BYTE, big - 1));
                MemorySegment a = f.tensorData(f.requireTensor("after"));
                assertEquals(4.5f, a.get(F32, 12));
                assertEquals(after, f.requireTensor("after"));
            }
        } finally {
            Files.deleteIfExists(p);
        }
    }
}
