package io.ruvector.sparse.spark;

import io.ruvector.sparse.generation.GenerationOptions;
import io.ruvector.sparse.generation.GenerationResult;
import io.ruvector.sparse.generation.Generator;
import io.ruvector.sparse.model.Session;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.Supplier;

/**
 * One row at a time on the calling task's thread, exactly as the CLI's {@code generate} does: a session per
 * running task, taken from a pool of idle ones (a session holds a KV cache of the full context, so it is kept
 * for the next task rather than reallocated). Concurrent tasks share the model's weights and thread pool.
 *
 * <p>Sparse models use this engine: their sessions compute single-token steps sparsely.
 */
final class SessionEngine implements CompletionEngine {

    private final Supplier<Session> newSession;
    private final ConcurrentLinkedDeque<Session> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    SessionEngine(Supplier<Session> newSession) {
        this.newSession = newSession;
    }

    @Override
    public CompletableFuture<GenerationResult> submit(String prompt, GenerationOptions options) {
        if (closed) throw new IllegalStateException("the executor's model is closed");
        Session session = idle.pollFirst();
        if (session == null) session = newSession.get();
        try {
            // A fresh start: the prompt gets its BOS, as with the CLI's new session.
            session.reset();
            return CompletableFuture.completedFuture(Generator.of(session).generate(prompt, options));
        } catch (IllegalArgumentException badPrompt) {
            return CompletableFuture.failedFuture(badPrompt);
        } finally {
            idle.addFirst(session);
        }
    }

    @Override
    public int rowsInFlight() { return 1; }

    @Override
    public void close() {
        closed = true;
        for (Session s; (s = idle.pollFirst()) != null; ) s.close();
    }
}
