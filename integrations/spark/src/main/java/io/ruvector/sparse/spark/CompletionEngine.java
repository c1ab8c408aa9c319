package io.ruvector.sparse.spark;

import io.ruvector.sparse.generation.GenerationOptions;
import io.ruvector.sparse.generation.GenerationResult;

import java.util.concurrent.CompletableFuture;

/**
 * How an executor's shared model turns prompts into completions. Tasks of the executor call it from their own
 * threads at once.
 */
interface CompletionEngine extends AutoCloseable {

    /**
     * Starts one generation. A prompt the model cannot take (too long for the context) fails the future (or
     * throws) with an {@link IllegalArgumentException} naming the problem.
     */
    CompletableFuture<GenerationResult> submit(String prompt, GenerationOptions options);

    /** How many rows one task keeps submitted at once: 1 for an engine that generates on the calling thread. */
    int rowsInFlight();

    @Override
    void close();
}
