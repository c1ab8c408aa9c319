package io.ruvector.sparse.spark;

import io.ruvector.sparse.generation.ContinuousBatcher;
import io.ruvector.sparse.model.FeedForward;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Session;

import java.util.List;
import java.util.function.Supplier;

/** The engine an executor's model runs rows with. */
final class Engines {

    private Engines() {}

    /**
     * With batch slots, a continuous batcher whose queue takes the rows every concurrent task keeps in flight;
     * without, per-task sessions.
     *
     * @param feedForward the sparse model's feed-forward blocks, or null for the dense ones
     */
    static CompletionEngine of(LanguageModel model, List<? extends FeedForward> feedForward, Supplier<Session> newSession,
                               int batchSlots, int tasks) {
        if (batchSlots == 0) return new SessionEngine(newSession);
        // Room for every task's rows even when more tasks run than the executor's cores say (an executor without
        // spark.executor.cores takes the machine's), so a submission is never rejected.
        int queue = Math.max(Math.max(1, tasks), Runtime.getRuntime().availableProcessors()) * batchSlots;
        ContinuousBatcher batcher = feedForward == null
                ? new ContinuousBatcher(model, batchSlots, queue)
                : new ContinuousBatcher(model, feedForward, batchSlots, queue);
        return new BatcherEngine(batcher);
    }
}
