package io.ruvector.sparse.gguf;



import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes GGUF files (v3 by default, or v2; magic {@code GGUF} or PowerInfer's {@code PWRI}).
 *
 * <p>Use: declare metadata ({@link #put} and the typed helpers) and tensors ({@link #addTensor}: name, type,
 * dims and where the bytes come from), then {@link #write} or {@link #writeAtomically}. The tensor data is
 * streamed: the file is created at its final size and each tensor's region is memory-mapped on its own and
 * handed to its {@link TensorContent}, which fills it in place (from any number of threads) — a model of
 * any size is written without holding it in the heap. Tensors are laid out in declaration order, each at
 * an offset that is a multiple of the alignment, with zero padding between them and after the last one
 * (the layout llama.cpp requires). A writer can be written more than once.
 *
 * <p>Bad arguments (duplicate names, dims that do not fit the type, values out of a type's range, ...)
 * throw {@link IllegalArgumentException} at declaration time, naming what was wrong.
 */
public final class GgufWriter {

    /** Longest tensor name llama.cpp accepts (GGML_MAX_NAME - 1 bytes). */
    public static final int MAX_TENSOR_NAME_BYTES = 63;

    /** Fills the bytes of one tensor. */
    @FunctionalInterface
    public interface TensorContent {
        /**
         * Writes the tensor into {@code dst}: exactly {@link TensorInfo#byteSize()} bytes, zero on entry,
         * mapped from the output file. The segment may be shared with worker threads; it is unmapped after
         * the call returns.
         */
        void write(MemorySegment dst) throws IOException;
    }

    /** Told how far writing is: called after each tensor (and once at the end) with bytes done / total. */
    @FunctionalInterface
    public interface Progress {
        void update(long bytesDone, long bytesTotal);
    }

    private int version = 3;
    private boolean powerInfer;
    private long alignment = GgufFile.DEFAULT_ALIGNMENT;
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<TensorInfo> tensors = new ArrayList<>();
    private final List<TensorContent> contents = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private long dataBytes;
    private Progress progress = (done, total) -> {};

    public GgufWriter() {}

    /** GGUF version to write: 3 (default) or 2 (the same layout for little-endian files). */
    public GgufWriter version(int version) {
        if (version != 2 && version != 3) throw new IllegalArgumentException("GGUF version must be 2 or 3, not " + version);
        this.version = version;
        return this;
    }

    /** Writes PowerInfer's {@code PWRI} magic instead of {@code GGUF}. */
    public GgufWriter powerInfer(boolean powerInfer) {
        this.powerInfer = powerInfer;
        return this;
    }

    /**
     * Sets the data alignment (a power of two, at most 1 MiB) and records it as {@code general.alignment}
     * (u32). Without a call the GGUF default 32 applies and no key is written. Must precede
     * {@link #addTensor}.
     */
    public GgufWriter alignment(long alignment) {
        if (alignment <= 0 || Long.bitCount(alignment) != 1 || alignment > GgufHeader.MAX_ALIGNMENT) {
            throw new IllegalArgumentException("alignment must be a power of two from 1 to "
                    + GgufHeader.MAX_ALIGNMENT + ", not " + alignment);
        }
        if (!tensors.isEmpty() && alignment != this.alignment) {
            throw new IllegalStateException("set the alignment before adding tensors");
        }
        this.alignment = alignment;
        metadata.put("general.alignment", GgufValue.ofU32(alignment));
        return this;
    }

    public long alignment() { return alignment; }

    /** Listener told of progress while {@link #write} runs. */
    public GgufWriter progress(Progress progress) {
        this.progress = progress == null ? (done, total) -> {} : progress;
        return this;
    }

    // ---- metadata ----

    /**
     * Sets a metadata value (replacing an earlier one of the same key, keeping its position). The value
     * is checked and normalized ({@link GgufValue#checked}); arrays may nest up to 8 deep.
     * {@code general.alignment} also sets {@link #alignment(long)}.
     */
    public GgufWriter put(String key, GgufValue value) {
        if (key == null || key.isEmpty()) throw new IllegalArgumentException("metadata key must not be empty");
        if (utf8Length(key) > GgufHeader.MAX_NAME_BYTES) {
            throw new IllegalArgumentException("metadata key longer than " + GgufHeader.MAX_NAME_BYTES + " bytes");
        }
        GgufValue v = GgufValue.checked(value.type(), value.value());
        checkValue(key, v, 0);
        if (key.equals("general.alignment")) {
            // llama.cpp reads it as u32 only, so it is always written as one.
            if (!v.type().isInteger()) throw new IllegalArgumentException("general.alignment must be an integer, not " + v.type());
            return alignment(v.asLong());
        }
        metadata.put(key, v);
        return this;
    }

    public GgufWriter put(String key, GgufValueType type, Object value) { return put(key, GgufValue.checked(type, value)); }

    public GgufWriter putString(String key, String value) { return put(key, GgufValueType.STRING, value); }

    public GgufWriter putU8(String key, long value) { return put(key, GgufValueType.UINT8, value); }

    public GgufWriter putI8(String key, long value) { return put(key, GgufValueType.INT8, value); }

    public GgufWriter putU16(String key, long value) { return put(key, GgufValueType.UINT16, value); }

    public GgufWriter putI16(String key, long value) { return put(key, GgufValueType.INT16, value); }

    public GgufWriter putU32(String key, long value) { return put(key, GgufValueType.UINT32, value); }

    public GgufWriter putI32(String key, long value) { return put(key, GgufValueType.INT32, value); }

    /** A u64; values above 2^63-1 are given as their (negative) two's-complement long. */
    public GgufWriter putU64(String key, long value) { return put(key, GgufValueType.UINT64, value); }

    public GgufWriter putI64(String key, long value) { return put(key, GgufValueType.INT64, value); }

    public GgufWriter putF32(String key, float value) { return put(key, GgufValueType.FLOAT32, value); }

    public GgufWriter putF64(String key, double value) { return put(key, GgufValueType.FLOAT64, value); }

    public GgufWriter putBool(String key, boolean value) { return put(key, GgufValueType.BOOL, value); }

    public GgufWriter putArray(String key, GgufArray value) { return put(key, GgufValueType.ARRAY, value); }

    /** Copies every entry (e.g. the metadata of an open {@link GgufFile}) in iteration order. */
    public GgufWriter putAll(Map<String, GgufValue> values) {
        for (Map.Entry<String, GgufValue> e : values.entrySet()) put(e.getKey(), e.getValue());
        return this;
    }

    public GgufWriter remove(String key) {
        if (key.equals("general.alignment")) {
            if (!tensors.isEmpty() && alignment != GgufFile.DEFAULT_ALIGNMENT) {
                throw new IllegalStateException("the alignment cannot change after tensors were added");
            }
            alignment = GgufFile.DEFAULT_ALIGNMENT;
        }
        metadata.remove(key);
        return this;
    }

    /** The metadata declared so far, in write order (read-only view). */
    public Map<String, GgufValue> metadata() { return Collections.unmodifiableMap(metadata); }

    private static void checkValue(String key, GgufValue v, int depth) {
        if (v.type() == GgufValueType.STRING && utf8Length(v.asString()) > GgufHeader.MAX_STRING_BYTES) {
            throw new IllegalArgumentException("metadata '" + key + "': string longer than " + GgufHeader.MAX_STRING_BYTES + " bytes");
        }
        if (v.type() != GgufValueType.ARRAY) return;
        if (depth >= GgufHeader.MAX_ARRAY_NESTING) {
            throw new IllegalArgumentException("metadata '" + key + "': arrays nested deeper than " + GgufHeader.MAX_ARRAY_NESTING);
        }
        GgufArray a = v.asArray();
        if (a.elementType() == GgufValueType.ARRAY || a.elementType() == GgufValueType.STRING) {
            for (int i = 0; i < a.size(); i++) checkValue(key, a.get(i), depth + 1);
        }
    }

    // ---- tensors ----

    /**
     * Declares a tensor whose bytes {@code content} writes when the file is written.
     *
     * @param dims ggml order: {@code dims[0]} is the row length, which must be a whole number of blocks
     * @return its table entry, with the data offset it will have
     */
    public TensorInfo addTensor(String name, GgmlType type, long[] dims, TensorContent content) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("tensor name must not be empty");
        if (utf8Length(name) > MAX_TENSOR_NAME_BYTES) {
            throw new IllegalArgumentException("tensor name '" + name + "' is longer than " + MAX_TENSOR_NAME_BYTES
                    + " bytes (llama.cpp's limit)");
        }
        if (names.contains(name)) throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        if (dims.length < 1 || dims.length > GgufHeader.MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + dims.length + " dims (1 to "
                    + GgufHeader.MAX_DIMS + " allowed)");
        }
        long elements = 1;
        for (long d : dims) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "' has a negative dim: " + Arrays.toString(dims));
            if (d != 0 && elements > Long.MAX_VALUE / d) {
                throw new IllegalArgumentException("tensor '" + name + "' dims " + Arrays.toString(dims) + " overflow");
            }
            elements *= d;
        }
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' row length " + dims[0]
                    + " is not a multiple of the " + type + " block size " + type.blockSize());
        }
        long bytes = type.bytesFor(elements);
        if (bytes < 0) throw new IllegalArgumentException("tensor '" + name + "' byte size overflows");
        TensorInfo info = new TensorInfo(name, dims, type, dataBytes);
        dataBytes = GgufHeader.alignUp(dataBytes + bytes, alignment);
        names.add(name);
        tensors.add(info);
        contents.add(content);
        return info;
    }

    /** Declares a tensor whose bytes (already in {@code type}'s layout) are copied from {@code bytes}. */
    public TensorInfo addTensor(String name, GgmlType type, long[] dims, MemorySegment bytes) {
        long need = type.bytesFor(product(dims));
        if (bytes.byteSize() != need) {
            throw new IllegalArgumentException("tensor '" + name + "': " + bytes.byteSize() + " bytes given, "
                    + Arrays.toString(dims) + " of " + type + " take " + need);
        }
        return addTensor(name, type, dims, dst -> MemorySegment.copy(bytes, 0, dst, 0, need));
    }

    /** The tensor table declared so far, with data offsets. */
    public List<TensorInfo> tensors() { return List.copyOf(tensors); }

    /** Bytes of the tensor-data region (every tensor padded to the alignment). */
    public long dataBytes() { return dataBytes; }

    /** Size of the file {@link #write} produces. */
    public long fileBytes() { return dataOffset(headerBytes().length) + dataBytes; }

    // ---- writing ----

    /** Writes the file at {@code path} (replacing it); on failure the partial file is deleted. */
    public void write(Path path) throws IOException {
        try {
            writeTo(path, false);
        } catch (IOException | RuntimeException | Error e) {
            Files.deleteIfExists(path);
            throw e;
        }
    }

    /**
     * Writes to a temporary file in the same directory, forces it to disk, then renames it over
     * {@code path}: readers see the old file or the complete new one, never a partial file.
     */
    public void writeAtomically(Path path) throws IOException {
        Path abs = path.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        // Ctrl-C (or any JVM shutdown) midway runs no catch block: a shutdown hook removes the partial file.
        // It only ever deletes the temporary name, so it cannot harm a file already renamed into place.
        Thread cleanup = new Thread(() -> {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the JVM is exiting; nothing else can be done
            }
        }, "gguf-writer-cleanup");
        boolean hooked = addShutdownHook(cleanup);
        try {
            writeTo(tmp, true);
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException | Error e) {
            Files.deleteIfExists(tmp);
            throw e;
        } finally {
            if (hooked) removeShutdownHook(cleanup);
        }
    }

    private static boolean addShutdownHook(Thread hook) {
        try {
            Runtime.getRuntime().addShutdownHook(hook);
            return true;
        } catch (IllegalStateException shuttingDown) {
            return false;
        }
    }

    private static void removeShutdownHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run; it deletes only the temporary file
        }
    }

    private void writeTo(Path path, boolean durable) throws IOException {
        byte[] header = headerBytes();
        long dataOffset = dataOffset(header.length);
        long fileSize = dataOffset + dataBytes;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            writeFully(ch, ByteBuffer.wrap(header), 0);
            // Set the final size up front (sparse where the file system allows); padding stays zero.
            if (fileSize > header.length) writeFully(ch, ByteBuffer.wrap(new byte[1]), fileSize - 1);
            long done = header.length;
            progress.update(done, fileSize);
            for (int i = 0; i < tensors.size(); i++) {
                TensorInfo t = tensors.get(i);
                long bytes = t.byteSize();
                if (bytes > 0) {
                    try (Arena arena = Arena.ofShared()) {
                        MemorySegment dst = ch.map(FileChannel.MapMode.READ_WRITE, dataOffset + t.offset(), bytes, arena);
                        contents.get(i).write(dst);
                        if (durable) dst.force();
                    }
                }
                done = dataOffset + (i + 1 < tensors.size() ? tensors.get(i + 1).offset() : dataBytes);
                progress.update(done, fileSize);
            }
            if (durable) ch.force(true);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) position += ch.write(buf, position);
    }

    private long dataOffset(long headerLength) { return GgufHeader.alignUp(headerLength, alignment); }

    /** Magic, version, counts, metadata and the tensor table, unpadded. */
    private byte[] headerBytes() {
        Sink s = new Sink();
        s.i32(powerInfer ? GgufFile.MAGIC_PWRI : GgufFile.MAGIC_GGUF);
        s.i32(version);
        s.i64(tensors.size());
        s.i64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            s.string(e.getKey());
            s.i32(e.getValue().type().id());
            value(s, e.getValue());
        }
        for (TensorInfo t : tensors) {
            s.string(t.name());
            s.i32(t.nDims());
            for (long d : t.dims()) s.i64(d);
            s.i32(t.type().id());
            s.i64(t.offset());
        }
        return s.toByteArray();
    }

    private static void value(Sink s, GgufValue v) {
        switch (v.type()) {
            case UINT8, INT8 -> s.i8((int) v.asLong());
            case UINT16, INT16 -> s.i16((int) v.asLong());
            case UINT32, INT32 -> s.i32((int) v.asLong());
            case UINT64, INT64 -> s.i64(v.asLong());
            case FLOAT32 -> s.i32(Float.floatToRawIntBits((Float) v.value()));
            case FLOAT64 -> s.i64(Double.doubleToRawLongBits((Double) v.value()));
            case BOOL -> s.i8(v.asBoolean() ? 1 : 0);
            case STRING -> s.string(v.asString());
            case ARRAY -> {
                GgufArray a = v.asArray();
                s.i32(a.elementType().id());
                s.i64(a.size());
                for (int i = 0; i < a.size(); i++) value(s, GgufValue.checked(a.elementType(), a.get(i).value()));
            }
        }
    }

    private static long product(long[] dims) {
        long n = 1;
        for (long d : dims) n = Math.multiplyExact(n, d);
        return n;
    }

    private static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n += 1;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else n += 3;
        }
        return n;
    }

    /** Growable little-endian byte buffer for the header. */
    private static final class Sink {
        private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private byte[] buf = new byte[4096];
        private int size;

        private MemorySegment room(int n) {
            if (size + (long) n > Integer.MAX_VALUE - 16) throw new IllegalStateException("GGUF header larger than 2 GiB");
            if (size + n > buf.length) buf = Arrays.copyOf(buf, (int) Math.min(Integer.MAX_VALUE - 16, Math.max(buf.length * 2L, size + (long) n)));
            MemorySegment seg = MemorySegment.ofArray(buf).asSlice(size, n);
            size += n;
            return seg;
        }

        void i8(int v) { room(1).set(ValueLayout.JAVA_BYTE, 0, (byte) v); }

        void i16(int v) { room(2).set(I16, 0, (short) v); }

        void i32(int v) { room(4).set(I32, 0, v); }

        void i64(long v) { room(8).set(I64, 0, v); }

        void string(String v) {
            byte[] b = v.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            MemorySegment.copy(MemorySegment.ofArray(b), 0, room(b.length), 0, b.length);
        }

        byte[] toByteArray() { return Arrays.copyOf(buf, size); }
    }
}
