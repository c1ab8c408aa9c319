package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.quant.InterleavedKQuant;
import io.ruvector.sparse.quant.InterleavedQ4_0;
import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.SegmentAllocator;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Copies of weight matrices in layouts faster than the file's for some products, made on first use and kept
 * off-heap (never on the Java heap) until {@link #close()}: Q4_0 matrices with rows interleaved by 32
 * ({@link InterleavedQ4_0}) for single-vector products with int8 activations, and Q2_K..Q6_K matrices likewise
 * ({@link InterleavedKQuant}) for single-vector products with Q8_K activations. Only the matrices a session
 * actually multiplies that way get copied: with a sparse feed-forward block the dense FFN matrices never are.
 *
 * <p>The copies are either made here, on first use, in memory the owner chooses (the model: mapped files in RAM), or
 * mapped from a cache file that holds them all ({@link RepackCache}): either way the interleaved kernels read one
 * kind of segment, a mapped file (C2 compiles a kernel's loads for each kind it sees, and decoding got slower with
 * two; see {@code memory/RamSegments}).
 *
 * <p>Thread-safe: sessions on several threads may ask for the same matrix; it is repacked once.
 */
public final class RepackedWeights implements AutoCloseable {

    private final Arena arena;
    private final SegmentAllocator memory;
    private final Path cacheFile;   // the file the copies are mapped from, or null: made on first use
    private final AtomicInteger repacks = new AtomicInteger();
    // Keyed by tensor name (unique in a model; its hash is cached): a record's hash would hash its memory
    // segment, which allocates on every lookup.
    private final ConcurrentHashMap<String, InterleavedQ4_0> interleaved = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, InterleavedKQuant> interleavedK = new ConcurrentHashMap<>();
    private final Set<String> refused = ConcurrentHashMap.newKeySet();   // looked at, and not repackable
    private boolean closed;
    private final Consumer<Tensor> afterRepack;
    // Fields, not lambdas at the call: a capturing lambda would allocate on every product.
    private final BiFunction<Tensor, Parallel, InterleavedQ4_0> q4_0Copier =
            (w, pool) -> InterleavedQ4_0.repack(w.name(), w.rows(), w.cols(), w.data(), memory(), pool);
    private final BiFunction<Tensor, Parallel, InterleavedKQuant> kQuantCopier =
            (w, pool) -> InterleavedKQuant.repack(w.matrix(), memory(), pool);

    /** Copies only: the original matrices stay as they are. */
    public RepackedWeights() { this(w -> { }); }

    /**
     * Copies made on first use, in memory of an arena of their own.
     *
     * @param afterRepack called with each matrix right after its copy is made, e.g. to let the operating system
     *                    drop the matrix's mapped file pages, which decoding no longer reads (they are read
     *                    back from the file if a batched product needs them)
     */
    public RepackedWeights(Consumer<Tensor> afterRepack) { this(afterRepack, arena -> arena); }

    /**
     * Copies made on first use, each in memory {@code memory} gives out of this object's arena: e.g. mapped files in
     * RAM, so that the kernels see the same kind of segment as copies mapped from a cache file ({@link RepackCache}).
     */
    public RepackedWeights(Consumer<Tensor> afterRepack, Function<Arena, SegmentAllocator> memory) {
        this(afterRepack, memory, Arena.ofShared(), Map.of(), Map.of(), Set.of(), null);
    }

    /**
     * Copies already made ({@link RepackCache}): {@code q4} and {@code k} by matrix name, {@code refused} the names
     * of matrices that have none; {@code arena} owns their memory (closed with this object); others are made on
     * first use in {@code memory}.
     */
    RepackedWeights(Consumer<Tensor> afterRepack, Function<Arena, SegmentAllocator> memory, Arena arena,
                    Map<String, InterleavedQ4_0> q4, Map<String, InterleavedKQuant> k, Set<String> refused, Path cacheFile) {
        this.afterRepack = afterRepack;
        this.arena = arena;
        this.memory = memory.apply(arena);
        this.cacheFile = cacheFile;
        interleaved.putAll(q4);
        interleavedK.putAll(k);
        this.refused.addAll(refused);
    }

    /** The cache file the copies are mapped from, or null when they are made in memory on first use. */
    public Path cacheFile() { return cacheFile; }

    /** Copies this object has made (not counting those mapped from a cache file). */
    public int repackCount() { return repacks.get(); }

    private SegmentAllocator memory() { return memory; }

    /**
     * The interleaved copy of {@code w}, repacked now (on {@code pool}) if this is its first use; null when
     * {@code w} is not a matrix {@link InterleavedQ4_0#supports} interleaves, or {@link InterleavedQ4_0#repack}
     * refused it.
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public InterleavedQ4_0 interleavedQ4_0(Tensor w, Parallel pool) {
        if (!InterleavedQ4_0.supports(w.ggmlType(), w.rows(), w.cols())) return null;
        InterleavedQ4_0 copy = copyOf(w, pool, interleaved, q4_0Copier);
        if (copy != null && (copy.rows() != w.rows() || copy.cols() != w.cols())) throw sameName(w);
        return copy;
    }

    /**
     * The interleaved copy of K-quant matrix {@code w}, repacked now (on {@code pool}) if this is its first use;
     * null when {@code w} is not a matrix {@link InterleavedKQuant#supports} interleaves, or
     * {@link InterleavedKQuant#repack} refused it.
     *
     * @throws IllegalStateException after {@link #close()}
     */
    public InterleavedKQuant interleavedK(Tensor w, Parallel pool) {
        if (!InterleavedKQuant.supports(w.ggmlType(), w.rows(), w.cols())) return null;
        InterleavedKQuant copy = copyOf(w, pool, interleavedK, kQuantCopier);
        if (copy != null && (copy.rows() != w.rows() || copy.cols() != w.cols())) throw sameName(w);
        return copy;
    }

    /**
     * The copy of {@code w} in {@code copies}, made by {@code copier} on first use (once, under this object's
     * lock); null when the copier refused it, which is remembered. Looking up a made copy allocates nothing.
     */
    private <T> T copyOf(Tensor w, Parallel pool, ConcurrentHashMap<String, T> copies, BiFunction<Tensor, Parallel, T> copier) {
        T copy = copies.get(w.name());
        if (copy != null) return copy;
        if (refused.contains(w.name())) return null;
        synchronized (this) {
            if (closed) throw new IllegalStateException("the repacked weights are closed");
            copy = copies.get(w.name());
            if (copy == null) {
                copy = copier.apply(w, pool);
                if (copy == null) {
                    refused.add(w.name());
                    return null;
                }
                copies.put(w.name(), copy);
                repacks.incrementAndGet();
                afterRepack.accept(w);
            }
            return copy;
        }
    }

    /**
     * Tells the owner that a batched product has just read {@code w} in the file's layout: when {@code w} has a
     * copy, the pages that product faulted back in are released again (the {@code afterRepack} action), so a
     * session that alternates prompts and decoding (a chat) does not end up holding the weights twice. Matrices
     * without a copy are left alone. Allocates nothing.
     */
    public void afterFileLayoutRead(Tensor w) {
        String name = w.name();
        if (interleaved.containsKey(name) || interleavedK.containsKey(name)) afterRepack.accept(w);
    }

    private static IllegalArgumentException sameName(Tensor w) {
        return new IllegalArgumentException("two different matrices named " + w.name());
    }

    /** Bytes of every copy made so far. */
    public long byteSize() {
        long total = 0;
        for (InterleavedQ4_0 m : interleaved.values()) total += m.byteSize();
        for (InterleavedKQuant m : interleavedK.values()) total += m.byteSize();
        return total;
    }

    /** Frees every copy; later use throws {@link IllegalStateException}. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        interleaved.clear();
        interleavedK.clear();
        arena.close();
    }
}
