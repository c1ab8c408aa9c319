package io.ruvector.sparse.spark;

import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.ContinuousBatcher;
import io.ruvector.sparse.generation.GenerationOptions;
import io.ruvector.sparse.generation.GenerationResult;
import io.ruvector.sparse.generation.TokenListener;

import java.util.concurrent.CompletableFuture;

/**
 * Rows of all the executor's running tasks decoded together by the engine's {@link ContinuousBatcher}: each task
 * keeps as many rows submitted as there are slots, so one task alone fills them and several tasks share them.
 * The queue holds every task's rows ({@code tasks x slots}), so a submission is never rejected.
 */
final class BatcherEngine implements CompletionEngine {

    private final ContinuousBatcher batcher;
    private final int slots;

    BatcherEngine(ContinuousBatcher batcher) {
        this.batcher = batcher;
        this.slots = batcher.slots();
    }

    @Override
    public CompletableFuture<GenerationResult> submit(String prompt, GenerationOptions options) {
        return batcher.submit(prompt, options, TokenListener.NONE, new Cancellation());
    }

    @Override
    public int rowsInFlight() { return slots; }

    @Override
    public void close() {
        batcher.close();
    }
}
