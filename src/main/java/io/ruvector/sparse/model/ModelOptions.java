package io.ruvector.sparse.model;

/**
 * How a model is run. Immutable; start from {@link #defaults()} and change what you need:
 * {@code ModelOptions.defaults().withThreads(2).withKvCacheType(KvCacheType.F16)}.
 *
 * @param threads       threads each session computes with (>= 1)
 * @param kvCacheType   storage of each session's key/value cache
 * @param contextLength positions a session can hold; 0 means the model's trained context length, at most
 *                      {@link #DEFAULT_MAX_CONTEXT}
 * @param activations   precision of the activation operand of weight products
 * @param batchSize     prompt tokens processed together in one pass over the weights (>= 1)
 */
public record ModelOptions(int threads, KvCacheType kvCacheType, int contextLength,
                           ActivationPrecision activations, int batchSize) {

    /** Default prompt batch: large enough to amortize reading each weight row, small enough for cache. */
    public static final int DEFAULT_BATCH_SIZE = 64;

    /** Context of a session when none is asked for and the model was trained on more. */
    public static final int DEFAULT_MAX_CONTEXT = 4096;

    public ModelOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, not " + threads);
        if (contextLength < 0) throw new IllegalArgumentException("context length must be >= 0, not " + contextLength);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, not " + batchSize);
        if (kvCacheType == null || activations == null) throw new IllegalArgumentException("null option");
    }

    /** All processors, F32 KV cache, the model's context length (at most 4096), F32 activations, batches of 64. */
    public static ModelOptions defaults() {
        return new ModelOptions(Runtime.getRuntime().availableProcessors(), KvCacheType.F32, 0,
                ActivationPrecision.F32, DEFAULT_BATCH_SIZE);
    }

    public ModelOptions withThreads(int t) { return new ModelOptions(t, kvCacheType, contextLength, activations, batchSize); }

    public ModelOptions withKvCacheType(KvCacheType t) { return new ModelOptions(threads, t, contextLength, activations, batchSize); }

    public ModelOptions withContextLength(int n) { return new ModelOptions(threads, kvCacheType, n, activations, batchSize); }

    public ModelOptions withActivations(ActivationPrecision p) { return new ModelOptions(threads, kvCacheType, contextLength, p, batchSize); }

    public ModelOptions withBatchSize(int n) { return new ModelOptions(threads, kvCacheType, contextLength, activations, n); }
}
