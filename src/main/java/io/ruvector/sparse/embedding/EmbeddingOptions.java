package io.ruvector.sparse.embedding;

/**
 * How an {@link EmbeddingModel} runs. Immutable; start from {@link #defaults()}:
 * {@code EmbeddingOptions.defaults().withThreads(2).withMaxTokens(128)}.
 *
 * @param threads     threads of the model's pool (>= 1)
 * @param maxTokens   the most tokens of a text that are embedded, [CLS] and [SEP] included; longer texts are cut
 *                    there, keeping the final [SEP], as Hugging Face's tokenizers truncate. 0 means the model's
 *                    context ({@code <arch>.context_length}); more than that is refused when the model is opened
 * @param batchTokens {@link EmbeddingModel#embedAll} puts consecutive texts into one pass over the weights until
 *                    their tokens would exceed this (a longer text gets a pass of its own)
 */
public record EmbeddingOptions(int threads, int maxTokens, int batchTokens) {

    /**
     * Tokens per pass by default: several sentences share each read of the weights, and the activations of the
     * pass (a few hundred KB per 100 tokens) stay in cache. Measured on all-MiniLM-L6-v2 (2 threads): passes of
     * 64-128 tokens embedded about twice as fast as passes of 2048.
     */
    public static final int DEFAULT_BATCH_TOKENS = 128;

    public EmbeddingOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, not " + threads);
        if (maxTokens < 0 || maxTokens == 1) throw new IllegalArgumentException("max tokens must be 0 (the model's context) or >= 2, not " + maxTokens);
        if (batchTokens < 1) throw new IllegalArgumentException("batch tokens must be >= 1, not " + batchTokens);
    }

    /** All processors, the model's context, {@value #DEFAULT_BATCH_TOKENS} tokens per pass. */
    public static EmbeddingOptions defaults() {
        return new EmbeddingOptions(Runtime.getRuntime().availableProcessors(), 0, DEFAULT_BATCH_TOKENS);
    }

    public EmbeddingOptions withThreads(int t) { return new EmbeddingOptions(t, maxTokens, batchTokens); }

    public EmbeddingOptions withMaxTokens(int n) { return new EmbeddingOptions(threads, n, batchTokens); }

    public EmbeddingOptions withBatchTokens(int n) { return new EmbeddingOptions(threads, maxTokens, n); }
}
