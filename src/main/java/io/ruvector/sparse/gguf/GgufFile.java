package io.ruvector.sparse.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A GGUF file, memory-mapped once and read in place.
 *
 * <p>The whole file is mapped read-only into one {@link MemorySegment} owned by a shared {@link Arena}
 * whose life is this object's: tensors are zero-copy slices of it, metadata arrays are lazy views over it.
 * After {@link #close()} every access to the file's memory throws {@link IllegalStateException}.
 *
 * <p>{@link #fromSegment} reads GGUF bytes that someone else already holds in memory (e.g. a C host's own
 * mapping); such an instance does not own that memory, whose lifetime stays with its segment's scope.
 */
public final class GgufFile implements AutoCloseable {

    /** Magic of standard GGUF files, "GGUF" read as a little-endian int. */
    public static final int MAGIC_GGUF = 0x46554747;
    /** Magic of PowerInfer's variant, "PWRI" read as a little-endian int. */
    public static final int MAGIC_PWRI = 0x49525750;
    public static final int DEFAULT_ALIGNMENT = 32;

    private final Path path;
    private final String name;
    private final Arena arena; // null when the memory belongs to the caller
    private volatile boolean closed;
    private final MemorySegment file;
    private final int version;
    private final boolean powerInfer;
    private final Map<String, GgufValue> metadata;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> tensorsByName;
    private final long alignment;
    private final long dataOffset;
    private final MemorySegment data;

    private GgufFile(Path path, String name, Arena arena, MemorySegment file, GgufHeader header) {
        this.path = path;
        this.name = name;
        this.arena = arena;
        this.file = file;
        this.version = header.version();
        this.powerInfer = header.powerInfer();
        this.metadata = Collections.unmodifiableMap(header.metadata());
        this.tensors = List.copyOf(header.tensors());
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : tensors) byName.put(t.name(), t);
        this.tensorsByName = Collections.unmodifiableMap(byName);
        this.alignment = header.alignment();
        this.dataOffset = header.dataOffset();
        this.data = file.asSlice(dataOffset, file.byteSize() - dataOffset);
    }

    /**
     * Maps and parses a GGUF file.
     *
     * @throws GgufFormatException when the file is corrupt, truncated or of an unsupported kind; the message
     *                             names the byte offset and the field
     */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment file = size == 0 ? MemorySegment.ofArray(new byte[0])
                    : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            GgufHeader header = GgufHeader.parse(file);
            return new GgufFile(path, String.valueOf(path.getFileName()), arena, file, header);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Parses GGUF bytes already in memory, in place. The returned file does not own {@code bytes}: closing it
     * leaves them alone, and they must stay valid (their scope alive) while it is used.
     *
     * @param name what messages call the file, e.g. the host's name for it
     * @throws GgufFormatException when the bytes are not a valid GGUF file
     */
    public static GgufFile fromSegment(MemorySegment bytes, String name) throws GgufFormatException {
        return new GgufFile(null, name, null, bytes, GgufHeader.parse(bytes));
    }

    /** The file's path, or null when it was read {@linkplain #fromSegment from memory}. */
    public Path path() { return path; }

    /** The file name, or the name given to {@link #fromSegment}. */
    public String name() { return name; }

    /** GGUF version (2 or 3). */
    public int version() { return version; }

    /** True for PowerInfer's {@code PWRI} variant. */
    public boolean isPowerInfer() { return powerInfer; }

    public long alignment() { return alignment; }

    /** Byte offset of the tensor-data region in the file. */
    public long dataOffset() { return dataOffset; }

    public long fileSize() { return file.byteSize(); }

    /** All metadata in file order. Values that are arrays read the mapped file lazily. */
    public Map<String, GgufValue> metadata() { return metadata; }

    public Optional<GgufValue> get(String key) { return Optional.ofNullable(metadata.get(key)); }

    public boolean has(String key) { return metadata.containsKey(key); }

    public String getString(String key) { return require(key).asString(); }

    public String getString(String key, String orElse) { return get(key).map(GgufValue::asString).orElse(orElse); }

    public long getLong(String key) { return require(key).asLong(); }

    public long getLong(String key, long orElse) { return get(key).map(GgufValue::asLong).orElse(orElse); }

    public int getInt(String key) { return require(key).asInt(); }

    public int getInt(String key, int orElse) { return get(key).map(GgufValue::asInt).orElse(orElse); }

    public float getFloat(String key) { return require(key).asFloat(); }

    public float getFloat(String key, float orElse) { return get(key).map(GgufValue::asFloat).orElse(orElse); }

    public boolean getBoolean(String key, boolean orElse) { return get(key).map(GgufValue::asBoolean).orElse(orElse); }

    public GgufArray getArray(String key) { return require(key).asArray(); }

    private GgufValue require(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) throw new IllegalArgumentException(name + ": missing metadata key '" + key + "'");
        return v;
    }

    /** Tensor table in file order. */
    public List<TensorInfo> tensors() { return tensors; }

    public Optional<TensorInfo> tensor(String name) { return Optional.ofNullable(tensorsByName.get(name)); }

    /** The tensor named, or an {@link IllegalArgumentException} naming it. */
    public TensorInfo requireTensor(String name) {
        TensorInfo t = tensorsByName.get(name);
        if (t == null) throw new IllegalArgumentException(this.name + ": missing tensor '" + name + "'");
        return t;
    }

    /** Zero-copy slice of the tensor's bytes. */
    public MemorySegment tensorData(TensorInfo t) {
        ensureOpen();
        return data.asSlice(t.offset(), t.byteSize());
    }

    /** The whole tensor-data region. */
    public MemorySegment data() {
        ensureOpen();
        return data;
    }

    public boolean isOpen() { return !closed && file.scope().isAlive(); }

    private void ensureOpen() {
        if (!isOpen()) throw new IllegalStateException(name + " is closed");
    }

    /**
     * Unmaps the file. Later access to tensors or lazy metadata throws {@link IllegalStateException}. A file
     * read {@linkplain #fromSegment from memory} only refuses further tensor access; the memory is its owner's.
     */
    @Override
    public void close() {
        closed = true;
        if (arena != null && arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "GgufFile[" + name + ", v" + version + ", " + metadata.size() + " keys, "
                + tensors.size() + " tensors]";
    }
}
