package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.quant.InterleavedKQuant;
import io.ruvector.sparse.quant.InterleavedQ4_0;
import io.ruvector.sparse.quant.QuantMatrix;
import io.ruvector.sparse.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.zip.CRC32C;

/**
 * The interleaved copies of a model's matrices ({@link RepackedWeights}) kept in a file, so that a later start maps
 * them instead of repacking: one file per model in a cache folder, written once, atomically, and read zero-copy.
 *
 * <p>File: a header page (or more) and then each copy at a page-aligned offset. The header holds a magic, the
 * {@linkplain #FORMAT_VERSION format version}, the model's {@linkplain Fingerprint fingerprint} (its path, size,
 * modification time, a CRC-32C of its header and tensor table, every byte before the tensor data, and one of the
 * first 4 KB of every matrix), a digest of the layouts
 * themselves (each interleaved layout applied to a fixed synthetic matrix, so that a changed layout is never
 * read even if no one bumped the version), the byte order, and one entry per matrix (name, type, shape, offset,
 * length; or "refused" when the matrix has non-finite scales and is left to the per-row kernels), and ends with
 * the SHA-256 of all of it. Anything that does not match the model being opened, a header that fails its
 * digest, or a file shorter than its header says, is a stale or damaged cache: it is ignored with a one-line
 * warning and rebuilt. (The copies' bytes carry no checksum, as the model's own tensor data carries none: a
 * file is never visible before it is complete, see below, and checking 0.5-1 GB at every start would cost what
 * the cache saves.)
 *
 * <p>Writing: the copies are made one matrix at a time into a reusable buffer of the largest copy's size and
 * written to a temporary file in the cache folder, which is forced to disk and then renamed over the cache file
 * (an atomic rename in one folder): readers see the old file, or none, or the complete new one, never a part.
 * Two processes that build at once each write their own temporary file and the last rename wins; a process that
 * has mapped the older file keeps reading it (a rename does not touch an open file). The model's mapped pages
 * are released after each matrix is copied, so building holds neither the weights twice nor the copies twice.
 * While writing, cache files whose model no longer exists are deleted (a folder of test models does not grow
 * without bound).
 */
public final class RepackCache {

    /**
     * Format of the file and of the layouts in it. Bump it whenever {@link InterleavedQ4_0} or an
     * {@link InterleavedKQuant} layout changes (the layout digest would catch it anyway; the version says so).
     */
    static final int FORMAT_VERSION = 1;

    /** Cache file names end with this. */
    public static final String SUFFIX = ".repack";

    private static final byte[] MAGIC = "SIREPACK".getBytes(StandardCharsets.US_ASCII);
    private static final long PAGE = 4096;
    private static final int DIGEST = 32;
    private static final int REFUSED = -1;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final System.Logger LOG = System.getLogger(RepackCache.class.getName());

    private RepackCache() {}

    /**
     * What a cache file must match: the model file (path, size, modification time in ns, a CRC-32C of its bytes
     * before the tensor data, and one of a sample of its tensor data) and the layout digest.
     */
    public record Fingerprint(Path model, long size, long mtimeNanos, long headerCrc, long sampleCrc, byte[] layoutDigest) {

        /** Bytes read from the start of each sampled tensor. */
        static final int SAMPLE = 4096;

        /**
         * The fingerprint of the GGUF file {@code model} whose tensor data starts at {@code dataOffset}, sampling
         * the first {@link #SAMPLE} bytes at each of {@code sampleOffsets} (file offsets, e.g. where each matrix
         * starts): so that a model rewritten with the same size, time stamp and tensor table (two fine-tunes of one
         * base, copied with {@code rsync -t}) is told apart. Read through the file, not the mapping: the samples
         * do not enter the resident set. CRC-32C rather than SHA-256: it runs at memory speed even before the JIT
         * has compiled anything (a SHA-256 of the 0.7 MB header of a TinyLlama-shape file took 30-60 ms there),
         * and with size and time stamp equal, an accidental collision of both sums is not a practical risk.
         *
         * @throws IOException when the file cannot be read
         */
        public static Fingerprint of(Path model, long dataOffset, long... sampleOffsets) throws IOException {
            Path abs = model.toAbsolutePath().normalize();
            long size = Files.size(abs);
            long mtime = Files.getLastModifiedTime(abs).to(TimeUnit.NANOSECONDS);
            CRC32C header = new CRC32C();
            CRC32C samples = new CRC32C();
            try (FileChannel ch = FileChannel.open(abs, StandardOpenOption.READ)) {
                ByteBuffer buf = ByteBuffer.allocateDirect(1 << 16);
                long at = 0;
                while (at < dataOffset) {
                    buf.clear().limit((int) Math.min(buf.capacity(), dataOffset - at));
                    int n = ch.read(buf, at);
                    if (n < 0) throw new IOException(abs + " ends before its tensor data");
                    at += n;
                    header.update(buf.flip());
                }
                for (long offset : sampleOffsets) {
                    buf.clear().limit((int) Math.max(0, Math.min(SAMPLE, size - offset)));
                    while (buf.hasRemaining() && ch.read(buf, offset + buf.position()) > 0) { /* fill */ }
                    samples.update(buf.flip());
                }
            }
            return new Fingerprint(abs, size, mtime, header.getValue(), samples.getValue(), RepackCache.layoutDigest());
        }
    }

    /** One matrix's place in the file: {@code length} {@link #REFUSED} when it has no copy. */
    private record Entry(String name, GgmlType type, int rows, int cols, long offset, long length) {}

    /** The cache file of the model at {@code model} in folder {@code dir}: the model's file name and a hash of its full path. */
    public static Path fileFor(Path dir, Path model) {
        Path abs = model.toAbsolutePath().normalize();
        byte[] h = sha256().digest(abs.toString().getBytes(StandardCharsets.UTF_8));
        String base = abs.getFileName() == null ? "model" : abs.getFileName().toString();
        return dir.resolve(base + "-" + HexFormat.of().formatHex(h, 0, 8) + SUFFIX);
    }

    /** Whether a matrix has an interleaved copy kind (Q4_0 or Q2_K..Q6_K of a supported shape). */
    public static boolean interleavable(Tensor w) {
        return InterleavedQ4_0.supports(w.ggmlType(), w.rows(), w.cols())
                || InterleavedKQuant.supports(w.ggmlType(), w.rows(), w.cols());
    }

    /**
     * The copies of {@code matrices} (each {@link #interleavable}): mapped from {@code file} when it holds them for
     * this {@code fingerprint}; else made now, on {@code threads} threads, written to {@code file} and mapped from
     * there. Where the file can be neither read nor written (e.g. a read-only folder) the copies are made on first
     * use instead, as without a cache, after a one-line warning. Never throws for a bad or missing cache.
     *
     * @param afterRepack called with each matrix right after it has been copied, and with each matrix whose copy is
     *                    mapped from the file (its mapped pages are not needed; see {@link RepackedWeights})
     * @param memory      where copies made in memory go (matrices the file does not hold, or no file)
     */
    public static RepackedWeights open(Path file, Fingerprint fingerprint, List<Tensor> matrices, int threads,
                                       Consumer<Tensor> afterRepack, Function<Arena, SegmentAllocator> memory) {
        if (Files.exists(file)) {
            try {
                return map(file, fingerprint, matrices, afterRepack, memory);
            } catch (StaleCache e) {
                LOG.log(System.Logger.Level.WARNING, "ignoring the repacked-weights cache " + file + " (" + e.getMessage() + "); rebuilding it");
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot read the repacked-weights cache " + file + " (" + e + "); rebuilding it");
            }
        }
        try {
            write(file, fingerprint, matrices, threads, afterRepack);
            return map(file, fingerprint, matrices, afterRepack, memory);
        } catch (IOException | StaleCache | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write the repacked-weights cache " + file + " (" + e
                    + "); repacking in memory instead");
            return new RepackedWeights(afterRepack, memory);
        }
    }

    /** A cache file that does not fit the model, or is damaged. */
    static final class StaleCache extends Exception {
        StaleCache(String why) { super(why, null, false, false); }
    }

    /**
     * The copies mapped from {@code file}.
     *
     * @throws StaleCache when the file is not a complete cache of these matrices for this fingerprint
     */
    static RepackedWeights map(Path file, Fingerprint fp, List<Tensor> matrices, Consumer<Tensor> afterRepack,
                               Function<Arena, SegmentAllocator> memory) throws IOException, StaleCache {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment m;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                m = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            List<Entry> entries = readHeader(m, fp, matrices);
            Map<String, InterleavedQ4_0> q4 = new HashMap<>();
            Map<String, InterleavedKQuant> k = new HashMap<>();
            Set<String> refused = new HashSet<>();
            for (Entry e : entries) {
                if (e.length == REFUSED) {
                    refused.add(e.name);
                } else if (e.type == GgmlType.Q4_0) {
                    q4.put(e.name, InterleavedQ4_0.wrap(e.name, e.rows, e.cols, m.asSlice(e.offset, e.length)));
                } else {
                    k.put(e.name, InterleavedKQuant.wrap(e.type, e.name, e.rows, e.cols, m.asSlice(e.offset, e.length)));
                }
            }
            RepackedWeights copies = new RepackedWeights(afterRepack, memory, arena, q4, k, refused, file);
            // Pages of the copied matrices that reading the model mapped (fault-around of nearby small tensors)
            // are dropped as after a copy: decoding reads the cache file.
            for (Tensor w : matrices) if (!refused.contains(w.name())) afterRepack.accept(w);
            return copies;
        } catch (IOException | StaleCache | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The entries of cache {@code m}, checked against the fingerprint and the expected matrices. */
    private static List<Entry> readHeader(MemorySegment m, Fingerprint fp, List<Tensor> matrices) throws StaleCache {
        long size = m.byteSize();
        if (size < 16 + DIGEST) throw new StaleCache("truncated: " + size + " bytes");
        byte[] magic = m.asSlice(0, MAGIC.length).toArray(ValueLayout.JAVA_BYTE);
        if (!Arrays.equals(magic, MAGIC)) throw new StaleCache("not a repacked-weights cache");
        int version = m.get(INT, 8);
        if (version != FORMAT_VERSION) throw new StaleCache("format " + version + ", this build reads " + FORMAT_VERSION);
        int headerBytes = m.get(INT, 12);
        if (headerBytes < 16 + DIGEST || headerBytes > size) throw new StaleCache("truncated or damaged header");
        byte[] body = m.asSlice(0, headerBytes - DIGEST).toArray(ValueLayout.JAVA_BYTE);
        byte[] digest = m.asSlice(headerBytes - DIGEST, DIGEST).toArray(ValueLayout.JAVA_BYTE);
        if (!MessageDigest.isEqual(sha256().digest(body), digest)) throw new StaleCache("damaged header (digest mismatch)");
        ByteBuffer in = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).position(16);
        try {
            long total = in.getLong();
            if (total != size) throw new StaleCache("truncated: " + size + " of " + total + " bytes");
            String model = string(in);
            long modelSize = in.getLong();
            long mtime = in.getLong();
            long headerCrc = in.getLong();
            long sampleCrc = in.getLong();
            byte[] layout = bytes(in, DIGEST);
            if (!model.equals(fp.model().toString())) throw new StaleCache("made for " + model);
            if (modelSize != fp.size() || mtime != fp.mtimeNanos() || headerCrc != fp.headerCrc() || sampleCrc != fp.sampleCrc()) {
                throw new StaleCache("the model file has changed since");
            }
            if (!Arrays.equals(layout, fp.layoutDigest())) throw new StaleCache("made by a build with other layouts");
            int count = in.getInt();
            if (count != matrices.size()) throw new StaleCache(count + " matrices, the model has " + matrices.size());
            List<Entry> entries = new ArrayList<>(count);
            for (Tensor w : matrices) {
                Entry e = new Entry(string(in), GgmlType.fromId(in.getInt() & 0xFFFFFFFFL), in.getInt(), in.getInt(), in.getLong(), in.getLong());
                if (!e.name.equals(w.name()) || e.type != w.ggmlType() || e.rows != w.rows() || e.cols != w.cols()) {
                    throw new StaleCache("matrix " + e.name + " does not match the model's " + w.name());
                }
                if (e.length != REFUSED) {
                    if (e.length != copyBytes(w) || e.offset < headerBytes || e.offset % PAGE != 0 || e.offset > size - e.length) {
                        throw new StaleCache("damaged entry for " + e.name);
                    }
                }
                entries.add(e);
            }
            return entries;
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
            throw new StaleCache("damaged header");
        }
    }

    /**
     * Makes the copies of {@code matrices} and writes them to {@code file} atomically (a temporary file in the
     * same folder, forced, then renamed over it).
     */
    static void write(Path file, Fingerprint fp, List<Tensor> matrices, int threads, Consumer<Tensor> afterRepack)
            throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        sweep(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString() + ".", ".tmp");
        try {
            long[] offsets = new long[matrices.size()];
            long[] lengths = new long[matrices.size()];
            byte[] probe = header(fp, matrices, offsets, lengths, 0);   // its size: offsets do not change it
            long at = roundUp(probe.length);
            long end = probe.length;
            long largest = 0;
            for (Tensor w : matrices) largest = Math.max(largest, copyBytes(w));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
                 Arena buffers = Arena.ofShared();
                 Parallel pool = new Parallel(threads)) {
                MemorySegment buffer = buffers.allocate(Math.max(largest, 1), 64);
                for (int i = 0; i < matrices.size(); i++) {
                    Tensor w = matrices.get(i);
                    // Each copy is made at the start of the one buffer: no allocation per matrix.
                    SegmentAllocator reuse = SegmentAllocator.prefixAllocator(buffer);
                    MemorySegment bytes = repack(w, reuse, pool);
                    afterRepack.accept(w);
                    if (bytes == null) {
                        offsets[i] = 0;
                        lengths[i] = REFUSED;
                        continue;
                    }
                    offsets[i] = at;
                    lengths[i] = bytes.byteSize();
                    writeFully(ch, bytes, at);
                    end = at + bytes.byteSize();
                    at = roundUp(end);
                }
                byte[] header = header(fp, matrices, offsets, lengths, end);
                writeFully(ch, MemorySegment.ofArray(header), 0);
                if (ch.size() != end) throw new IOException("wrote " + ch.size() + " bytes, not " + end);
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The copy of {@code w} made with {@code alloc}, as bytes; null when its kernel refuses it (non-finite scales). */
    private static MemorySegment repack(Tensor w, SegmentAllocator alloc, Parallel pool) {
        if (w.ggmlType() == GgmlType.Q4_0) {
            InterleavedQ4_0 c = InterleavedQ4_0.repack(w.name(), w.rows(), w.cols(), w.data(), alloc, pool);
            return c == null ? null : c.bytes();
        }
        InterleavedKQuant c = InterleavedKQuant.repack(w.matrix(), alloc, pool);
        return c == null ? null : c.bytes();
    }

    /** Bytes of the copy of {@code w} (an {@link #interleavable} matrix). */
    static long copyBytes(Tensor w) {
        return w.ggmlType() == GgmlType.Q4_0 ? InterleavedQ4_0.byteSize(w.rows(), w.cols())
                : InterleavedKQuant.byteSize(w.ggmlType(), w.rows(), w.cols());
    }

    /** The header, digest included, for these entries and a file of {@code total} bytes. */
    private static byte[] header(Fingerprint fp, List<Tensor> matrices, long[] offsets, long[] lengths, long total) {
        int n = 16 + 8 + 4 + utf8(fp.model().toString()).length + 8 + 8 + 8 + 8 + DIGEST + 4;
        for (Tensor w : matrices) n += 4 + utf8(w.name()).length + 4 + 4 + 4 + 8 + 8;
        ByteBuffer out = ByteBuffer.allocate(n + DIGEST).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).putInt(FORMAT_VERSION).putInt(n + DIGEST).putLong(total);
        putString(out, fp.model().toString());
        out.putLong(fp.size()).putLong(fp.mtimeNanos()).putLong(fp.headerCrc()).putLong(fp.sampleCrc()).put(fp.layoutDigest());
        out.putInt(matrices.size());
        for (int i = 0; i < matrices.size(); i++) {
            Tensor w = matrices.get(i);
            putString(out, w.name());
            out.putInt(w.ggmlType().id()).putInt(w.rows()).putInt(w.cols()).putLong(offsets[i]).putLong(lengths[i]);
        }
        out.put(sha256().digest(Arrays.copyOf(out.array(), n)));
        return out.array();
    }

    /**
     * Deletes the cache files in {@code dir} whose model no longer exists, and temporary files that a crashed
     * writer left more than a day ago. Failures are ignored (another process may be doing the same).
     */
    private static void sweep(Path dir) {
        long dayAgo = System.currentTimeMillis() - TimeUnit.DAYS.toMillis(1);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                try {
                    if (name.endsWith(SUFFIX)) {
                        String model = modelOf(f);
                        if (model != null && !Files.exists(Path.of(model))) Files.deleteIfExists(f);
                    } else if (name.endsWith(".tmp") && name.contains(SUFFIX + ".")
                            && Files.getLastModifiedTime(f).toMillis() < dayAgo) {
                        Files.deleteIfExists(f);
                    }
                } catch (IOException | RuntimeException ignored) {
                    // someone else's file or a race with another sweep: leave it
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // an unreadable folder: nothing to clean
        }
    }

    /** The model path a cache file was made for, or null when it is not a readable cache of this format. */
    private static String modelOf(Path cache) throws IOException {
        try (FileChannel ch = FileChannel.open(cache, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
            while (head.hasRemaining() && ch.read(head) > 0) { /* fill */ }
            head.flip();
            if (head.remaining() < 28 + 4) return null;
            byte[] magic = new byte[MAGIC.length];
            head.get(magic);
            if (!Arrays.equals(magic, MAGIC) || head.getInt() != FORMAT_VERSION) return null;
            head.position(24);
            int len = head.getInt();
            if (len < 0 || len > head.remaining()) return null;
            byte[] s = new byte[len];
            head.get(s);
            return new String(s, StandardCharsets.UTF_8);
        }
    }

    /**
     * SHA-256 of each interleaved layout applied to a fixed 40 x 256 synthetic matrix (two groups, the second
     * partial): a layout that changes changes this, so a cache written by another build is never misread.
     */
    static byte[] layoutDigest() { return LayoutDigest.VALUE.clone(); }

    private static final class LayoutDigest {
        static final byte[] VALUE = compute();

        private static byte[] compute() {
            MessageDigest sha = sha256();
            int rows = 40;
            int cols = 256;
            try (Arena arena = Arena.ofConfined(); Parallel one = new Parallel(1)) {
                for (GgmlType t : List.of(GgmlType.Q4_0, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)) {
                    long bytes = t.bytesFor((long) rows * cols);
                    byte[] values = new byte[(int) bytes];
                    long seed = 0x9E3779B97F4A7C15L * (t.id() + 1);
                    for (int i = 0; i < values.length; i++) {
                        seed = seed * 6364136223846793005L + 1442695040888963407L;
                        // Every byte below 0x7C: no fp16 field can be infinite or NaN, so no layout refuses it.
                        values[i] = (byte) ((seed >>> 33) % 0x7C);
                    }
                    MemorySegment src = arena.allocate(bytes, 64);
                    MemorySegment.copy(values, 0, src, ValueLayout.JAVA_BYTE, 0, values.length);
                    MemorySegment copy = t == GgmlType.Q4_0
                            ? InterleavedQ4_0.repack("probe", rows, cols, src, arena, one).bytes()
                            : InterleavedKQuant.repack(new QuantMatrix("probe", t, rows, cols, src), arena, one).bytes();
                    sha.update(t.name().getBytes(StandardCharsets.US_ASCII));
                    sha.update(copy.toArray(ValueLayout.JAVA_BYTE));
                }
            }
            return sha.digest();
        }
    }

    private static void writeFully(FileChannel ch, MemorySegment bytes, long at) throws IOException {
        long done = 0;
        while (done < bytes.byteSize()) {
            long chunk = Math.min(bytes.byteSize() - done, 1L << 30);
            ByteBuffer b = bytes.asSlice(done, chunk).asByteBuffer();
            while (b.hasRemaining()) done += ch.write(b, at + done);
        }
    }

    private static long roundUp(long n) { return (n + PAGE - 1) / PAGE * PAGE; }

    private static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    private static void putString(ByteBuffer out, String s) {
        byte[] b = utf8(s);
        out.putInt(b.length).put(b);
    }

    private static String string(ByteBuffer in) {
        int len = in.getInt();
        if (len < 0 || len > in.remaining()) throw new IllegalArgumentException("bad string length " + len);
        byte[] b = new byte[len];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer in, int n) {
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256 in this JDK", e);
        }
    }
}
