package io.ruvector.sparse.gguf;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.quant.TensorTypes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded mutations of real and synthetic GGUF headers: bit flips, byte sets, truncations and count /
 * length / type fields set to hostile values. Every case must either parse (and then every metadata value
 * and tensor must be readable) or fail with a {@link GgufFormatException} that names an offset inside the
 * file; anything else (IndexOutOfBounds, OutOfMemoryError, a hang) fails the test with the seed and case.
 */
class GgufFuzzTest {

    private static final long SEED = 0x5EED_6607L;
    private static final long[] HUGE_U64 = {1L << 60, Long.MAX_VALUE, -1L, 1L << 32, (1L << 31) - 1, 1L << 31,
            0, 1L << 20, 1L << 62, Long.MIN_VALUE};
    private static final int[] HOSTILE_U32 = {-1, 0, 1, 8, 9, 12, 13, 4, 39, 40, 64, Integer.MAX_VALUE, Integer.MIN_VALUE};

    @TempDir
    Path dir;

    /** A field the mutator aims at: where it is and how wide. */
    private record Field(long offset, int width) {}

    @Test
    @Timeout(120)
    void mutatedRealFilesFailCleanly() throws IOException {
        Path root = Fixtures.require("models/stories260K.gguf").getParent().getParent();
        List<Path> files = new ArrayList<>();
        for (String sub : List.of("models", "vocab", "reference")) {
            try (Stream<Path> s = Files.list(root.resolve(sub))) {
                s.filter(p -> p.toString().endsWith(".gguf")).sorted().forEach(files::add);
            }
        }
        // The reference folder holds many files of the same layout: a sample of them keeps this fast.
        List<Path> chosen = new ArrayList<>();
        for (Path p : files) {
            String n = p.getFileName().toString();
            if (!n.startsWith("syn-llama-gqa") || n.equals("syn-llama-gqa.Q4_K_M.gguf") || n.equals("syn-llama-gqa.F16.ref.gguf")) {
                chosen.add(p);
            }
        }
        int cases = 0;
        for (int i = 0; i < chosen.size(); i++) {
            cases += fuzz(chosen.get(i).getFileName().toString(), Files.readAllBytes(chosen.get(i)), SEED + i, 300);
        }
        assertTrue(cases >= 3000, "ran " + cases + " cases");
    }

    @Test
    @Timeout(120)
    void mutatedSyntheticFilesFailCleanly() throws IOException {
        GgufWriter w = new GgufWriter().putAll(GgufWriterTest.everyValueType());
        w.addTensor("a.f32", GgmlType.F32, new long[] {8, 3}, TensorTypes.encoded(GgmlType.F32, new long[] {8, 3}, new float[24]));
        w.addTensor("b.q8_0", GgmlType.Q8_0, new long[] {64, 2}, MemorySegment.ofArray(new byte[4 * 34]));
        w.addTensor("c.q4_k", GgmlType.Q4_K, new long[] {256}, MemorySegment.ofArray(new byte[144]));
        w.addTensor("d.i8.4d", GgmlType.I8, new long[] {2, 2, 2, 2}, MemorySegment.ofArray(new byte[16]));
        Path p = dir.resolve("synthetic.gguf");
        w.write(p);
        int cases = fuzz("synthetic", Files.readAllBytes(p), SEED, 3000);
        GgufWriter pwri = new GgufWriter().powerInfer(true).alignment(64).putString("general.architecture", "llama");
        pwri.addTensor("blk.0.fc1.weight", GgmlType.F32, new long[] {16, 4}, TensorTypes.encoded(GgmlType.F32, new long[] {16, 4}, new float[64]));
        Path q = dir.resolve("pwri.gguf");
        pwri.write(q);
        cases += fuzz("pwri", Files.readAllBytes(q), SEED + 1, 1000);
        assertTrue(cases >= 4000, "ran " + cases + " cases");
    }

    /** Runs {@code n} seeded mutation cases on {@code original} (restored after each); returns the count. */
    private static int fuzz(String name, byte[] original, long seed, int n) {
        List<Field> fields = new ArrayList<>();
        long headerEnd;
        try {
            headerEnd = fields(original, fields);
        } catch (GgufFormatException e) {
            throw new AssertionError(name + " does not parse before mutation", e);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] buf = original.clone();
        for (int c = 0; c < n; c++) {
            int length = buf.length;
            String what;
            int kind = rnd.nextInt(6);
            int mutations = 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(3) : 0);
            StringBuilder sb = new StringBuilder();
            for (int m = 0; m < mutations; m++) {
                switch (kind) {
                    case 0 -> { // bit flip in the header
                        int at = rnd.nextInt((int) Math.min(headerEnd + 8, buf.length));
                        int bit = rnd.nextInt(8);
                        buf[at] ^= (byte) (1 << bit);
                        sb.append("flip ").append(at).append(':').append(bit).append(' ');
                    }
                    case 1 -> { // byte set
                        int at = rnd.nextInt((int) Math.min(headerEnd + 8, buf.length));
                        int v = switch (rnd.nextInt(3)) { case 0 -> 0; case 1 -> 0xFF; default -> rnd.nextInt(256); };
                        buf[at] = (byte) v;
                        sb.append("set ").append(at).append('=').append(v).append(' ');
                    }
                    case 2, 3 -> { // a count / length / type / dim / offset field set to a hostile value
                        Field f = fields.get(rnd.nextInt(fields.size()));
                        if (f.width() == 8) {
                            long v = rnd.nextInt(3) == 0 ? rnd.nextLong() : HUGE_U64[rnd.nextInt(HUGE_U64.length)];
                            putLong(buf, (int) f.offset(), v);
                            sb.append("u64 ").append(f.offset()).append('=').append(Long.toUnsignedString(v)).append(' ');
                        } else {
                            int v = rnd.nextInt(3) == 0 ? rnd.nextInt() : HOSTILE_U32[rnd.nextInt(HOSTILE_U32.length)];
                            putInt(buf, (int) f.offset(), v);
                            sb.append("u32 ").append(f.offset()).append('=').append(Integer.toUnsignedString(v)).append(' ');
                        }
                    }
                    case 4 -> { // truncation, mostly inside the header
                        int cut = rnd.nextInt(4) == 0 ? rnd.nextInt(buf.length) : rnd.nextInt((int) Math.min(headerEnd + 64, buf.length));
                        length = Math.min(length, cut);
                        sb.append("truncate ").append(cut).append(' ');
                    }
                    default -> { // a field nudged by a small amount (off-by-one lengths and counts)
                        Field f = fields.get(rnd.nextInt(fields.size()));
                        int delta = rnd.nextInt(17) - 8;
                        if (f.width() == 8) putLong(buf, (int) f.offset(), getLong(buf, (int) f.offset()) + delta);
                        else putInt(buf, (int) f.offset(), getInt(buf, (int) f.offset()) + delta);
                        sb.append("nudge ").append(f.offset()).append(delta >= 0 ? "+" : "").append(delta).append(' ');
                    }
                }
                kind = rnd.nextInt(6);
            }
            what = name + " case " + c + " (seed " + seed + "): " + sb.toString().trim();
            runCase(MemorySegment.ofArray(buf).asSlice(0, length), what);
            System.arraycopy(original, 0, buf, 0, buf.length); // restore (cheap next to a parse)
        }
        return n;
    }

    private static void runCase(MemorySegment file, String what) {
        try {
            GgufHeader h = GgufHeader.parse(file);
            touchEverything(h, file.byteSize());
        } catch (GgufFormatException e) {
            if (e.offset() < 0 || e.offset() > file.byteSize() + (1L << 20) || !e.getMessage().startsWith("at byte ")) {
                fail(what + ": exception without a usable offset: " + e.getMessage());
            }
        } catch (Throwable t) {
            throw new AssertionError(what + ": unexpected " + t, t);
        }
    }

    /** Reads every metadata value (arrays: a spread of elements) and every tensor's geometry. */
    private static void touchEverything(GgufHeader h, long fileSize) {
        for (Map.Entry<String, GgufValue> e : h.metadata().entrySet()) touch(e.getValue(), 0);
        for (TensorInfo t : h.tensors()) {
            long end = h.dataOffset() + t.offset() + t.byteSize();
            if (t.byteSize() < 0 || end > fileSize || t.rows() < 0 || t.rowBytes() < 0) {
                fail("tensor " + t + " escapes the file of " + fileSize + " bytes");
            }
        }
    }

    private static void touch(GgufValue v, int depth) {
        v.toString();
        if (v.type() != GgufValueType.ARRAY) return;
        GgufArray a = v.asArray();
        int n = a.size();
        a.toString();
        for (int i : new int[] {0, 1, n / 3, n / 2, n - 2, n - 1}) {
            if (i >= 0 && i < n) touch(a.get(i), depth + 1);
        }
        if (a.elementType() == GgufValueType.STRING && n <= 4096) a.toStringArray();
        if (a.elementType() == GgufValueType.FLOAT32) a.toFloatArray();
    }

    private static void putLong(byte[] b, int at, long v) {
        for (int i = 0; i < 8 && at + i < b.length; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    private static void putInt(byte[] b, int at, int v) {
        for (int i = 0; i < 4 && at + i < b.length; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    private static long getLong(byte[] b, int at) {
        long v = 0;
        for (int i = 7; i >= 0; i--) v = (v << 8) | (b[at + i] & 0xFF);
        return v;
    }

    private static int getInt(byte[] b, int at) {
        int v = 0;
        for (int i = 3; i >= 0; i--) v = (v << 8) | (b[at + i] & 0xFF);
        return v;
    }

    /**
     * Walks a valid file and lists its structural fields (counts, lengths, types, dims, offsets; a sample
     * of string lengths in big arrays); returns where the header ends.
     */
    private static long fields(byte[] bytes, List<Field> out) throws GgufFormatException {
        GgufHeader.Cursor c = new GgufHeader.Cursor(MemorySegment.ofArray(bytes));
        out.add(new Field(4, 4)); // version
        c.pos = 8;
        out.add(new Field(8, 8));
        long tensors = c.u64("tensor_count");
        out.add(new Field(16, 8));
        long kvs = c.u64("kv_count");
        for (long i = 0; i < kvs; i++) {
            out.add(new Field(c.pos, 8));
            c.string("key", Long.MAX_VALUE);
            out.add(new Field(c.pos, 4));
            GgufValueType t = GgufValueType.fromId(c.i32("type"));
            walkValue(c, t, out);
        }
        for (long i = 0; i < tensors; i++) {
            out.add(new Field(c.pos, 8));
            c.string("name", Long.MAX_VALUE);
            out.add(new Field(c.pos, 4));
            int nDims = c.i32("n_dims");
            for (int d = 0; d < nDims; d++) {
                out.add(new Field(c.pos, 8));
                c.u64("dim");
            }
            out.add(new Field(c.pos, 4));
            c.i32("type");
            out.add(new Field(c.pos, 8));
            c.u64("offset");
        }
        return c.pos;
    }

    private static void walkValue(GgufHeader.Cursor c, GgufValueType t, List<Field> out) throws GgufFormatException {
        if (t == GgufValueType.STRING) {
            out.add(new Field(c.pos, 8));
            c.string("s", Long.MAX_VALUE);
        } else if (t == GgufValueType.ARRAY) {
            out.add(new Field(c.pos, 4));
            GgufValueType e = GgufValueType.fromId(c.i32("elem"));
            out.add(new Field(c.pos, 8));
            long n = c.u64("count");
            if (e.size() > 0) {
                c.pos += n * e.size();
            } else {
                for (long i = 0; i < n; i++) {
                    int before = out.size();
                    walkValue(c, e, out);
                    // Keep the first, last and every 997th element's fields of long arrays.
                    if (i > 8 && i < n - 2 && i % 997 != 0) out.subList(before, out.size()).clear();
                }
            }
        } else {
            c.pos += t.size();
        }
    }
}
