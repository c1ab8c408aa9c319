package io.ruvector.sparse.model;

import io.ruvector.sparse.kernels.ActivationRounding;
import io.ruvector.sparse.memory.CacheDirectory;

import java.nio.file.Path;

/**
 * How a model is run. Immutable; start from {@link #defaults()} and change what you need:
 * {@code ModelOptions.defaults().withThreads(2).withKvCacheType(KvCacheType.F16)}.
 *
 * @param threads       threads of the model's pool, which all its sessions share (>= 1)
 * @param kvCacheType   storage of each session's key/value cache
 * @param contextLength positions a session can hold; 0 means the model's trained context length, at most
 *                      {@link #DEFAULT_MAX_CONTEXT}
 * @param activations   precision of the activation operand of weight products
 * @param batchSize     prompt tokens processed together in one pass over the weights (>= 1)
 * @param repack        decode Q4_0 and K-quant (Q2_K..Q6_K) matrices from a copy with rows interleaved by 32
 *                      ({@link io.ruvector.sparse.quant.InterleavedQ4_0},
 *                      {@link io.ruvector.sparse.quant.InterleavedKQuant}), made off-heap on first use: two to three
 *                      times as fast as reading the file's layout. The copied matrices' mapped pages are then
 *                      released (prompt batches, which read the file's layout, fault them back). Used where
 *                      single-vector products take int8 activations (the {@link ActivationPrecision#AUTO} and
 *                      {@link ActivationPrecision#INT8} precisions)
 * @param warmUpMillis  0 (the default): no warm-up. Otherwise {@link LanguageModel#open} starts one background
 *                      thread that runs the products of a prompt and of decoding steps on small matrices of each
 *                      weight type of the model, with this model's rounding and repacking, until they run at
 *                      compiled speed or for at most this many milliseconds; a session's first evaluation waits for
 *                      it. In a fresh JVM the first real prompt otherwise runs in the interpreter and C1 code while C2
 *                      compiles the kernels. It costs a few MB and, while it runs, one core; it stops when the model
 *                      is closed and never changes a result. Worth it for short-lived processes (the CLI turns it on
 *                      for generate and chat, with 3000 ms; it ends after about 1.5 s there, sooner with the JIT
 *                      flags of docs/cold-start.md); a long-running server gains little
 * @param repackCache   with {@code repack}: the folder where the repacked copies of each model are kept in a file
 *                      (one per model, named after it; {@link io.ruvector.sparse.kernels.RepackCache}), so that only
 *                      the first start repacks (all the model's Q4_0 and K-quant matrices at once, at open) and later
 *                      starts map the file instead; null: no cache file, copies made in memory on first use. Default:
 *                      {@code repacked/} in the cache folder ({@code $SPARSE_INFER_CACHE}, property
 *                      {@code sparse.infer.cache}, else {@code $XDG_CACHE_HOME/sparse-infer} or
 *                      {@code ~/.cache/sparse-infer}). A cache that cannot be read or written costs a one-line
 *                      warning and falls back to copies in memory, never an error
 */
public record ModelOptions(int threads, KvCacheType kvCacheType, int contextLength,
                           ActivationPrecision activations, int batchSize, boolean repack, int warmUpMillis,
                           Path repackCache) {

    /** Default prompt batch: large enough to amortize reading each weight row, small enough for cache. */
    public static final int DEFAULT_BATCH_SIZE = 64;

    /** Context of a session when none is asked for and the model was trained on more. */
    public static final int DEFAULT_MAX_CONTEXT = 4096;

    public ModelOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, not " + threads);
        if (contextLength < 0) throw new IllegalArgumentException("context length must be >= 0, not " + contextLength);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, not " + batchSize);
        if (kvCacheType == null || activations == null) throw new IllegalArgumentException("null option");
        if (warmUpMillis < 0) throw new IllegalArgumentException("warm-up must be >= 0 ms, not " + warmUpMillis);
    }

    /** Options without a warm-up, with the default {@link #repackCache}. */
    public ModelOptions(int threads, KvCacheType kvCacheType, int contextLength, ActivationPrecision activations,
                        int batchSize, boolean repack) {
        this(threads, kvCacheType, contextLength, activations, batchSize, repack, 0);
    }

    /** Options with the default {@link #repackCache}. */
    public ModelOptions(int threads, KvCacheType kvCacheType, int contextLength, ActivationPrecision activations,
                        int batchSize, boolean repack, int warmUpMillis) {
        this(threads, kvCacheType, contextLength, activations, batchSize, repack, warmUpMillis, defaultRepackCache());
    }

    /** {@code repacked/} in the process's cache folder ({@link CacheDirectory#forProcess()}). */
    public static Path defaultRepackCache() { return CacheDirectory.forProcess().resolve("repacked"); }

    /**
     * All processors, F32 KV cache, the model's context length (at most 4096), {@link ActivationPrecision#AUTO}
     * activations (int8 only where that makes decoding faster), batches of 64, Q4_0 and K-quant matrices repacked, no
     * warm-up.
     */
    public static ModelOptions defaults() {
        return new ModelOptions(Runtime.getRuntime().availableProcessors(), KvCacheType.F32, 0,
                ActivationPrecision.AUTO, DEFAULT_BATCH_SIZE, true, 0, defaultRepackCache());
    }

    public ModelOptions withThreads(int t) { return new ModelOptions(t, kvCacheType, contextLength, activations, batchSize, repack, warmUpMillis, repackCache); }

    public ModelOptions withKvCacheType(KvCacheType t) { return new ModelOptions(threads, t, contextLength, activations, batchSize, repack, warmUpMillis, repackCache); }

    public ModelOptions withContextLength(int n) { return new ModelOptions(threads, kvCacheType, n, activations, batchSize, repack, warmUpMillis, repackCache); }

    public ModelOptions withActivations(ActivationPrecision p) { return new ModelOptions(threads, kvCacheType, contextLength, p, batchSize, repack, warmUpMillis, repackCache); }

    public ModelOptions withBatchSize(int n) { return new ModelOptions(threads, kvCacheType, contextLength, activations, n, repack, warmUpMillis, repackCache); }

    public ModelOptions withRepack(boolean r) { return new ModelOptions(threads, kvCacheType, contextLength, activations, batchSize, r, warmUpMillis, repackCache); }

    /** These options with the repacked copies kept in folder {@code dir}, or (null) in memory only; see {@link #repackCache}. */
    public ModelOptions withRepackCache(Path dir) { return new ModelOptions(threads, kvCacheType, contextLength, activations, batchSize, repack, warmUpMillis, dir); }

    /** These options with a warm-up of up to {@code millis} ms after open (0: none); see {@link #warmUpMillis}. */
    public ModelOptions withWarmUp(int millis) { return new ModelOptions(threads, kvCacheType, contextLength, activations, batchSize, repack, millis, repackCache); }

    /**
     * A new rounding policy for these options' activations (one per session: it holds the session's rounded
     * vectors). The sparse feed-forward block takes a copy of the session's policy from its products
     * ({@code ActivationRounding.withSamePolicy}), so dense and sparse products round alike.
     */
    ActivationRounding newActivationRounding() {
        return new ActivationRounding(activations == ActivationPrecision.INT8, activations == ActivationPrecision.AUTO, repack);
    }
}
