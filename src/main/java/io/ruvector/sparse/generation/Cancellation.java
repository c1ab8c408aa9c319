package io.ruvector.sparse.generation;

/**
 * A flag another thread sets to stop a running generation. The generation checks it before each
 * forward pass (and between prompt chunks), so it stops within one token's time and returns a result
 * with {@link StopReason#CANCELLED}. Once cancelled it stays cancelled: use a new one per generation.
 */
public final class Cancellation {

    private volatile boolean cancelled;

    /** Asks the generation to stop; safe from any thread, any number of times. */
    public void cancel() { cancelled = true; }

    public boolean isCancelled() { return cancelled; }
}
