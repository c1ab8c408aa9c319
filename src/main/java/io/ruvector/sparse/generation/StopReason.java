package io.ruvector.sparse.generation;

/** Why a generation ended. */
public enum StopReason {
    /** The model produced an end-of-sequence or end-of-turn token. */
    END_OF_GENERATION,
    /** The text reached one of the stop strings (it is not part of the result text). */
    STOP_STRING,
    /** The requested number of tokens was generated. */
    MAX_TOKENS,
    /** The session's context is full. */
    CONTEXT_FULL,
    /** {@link Cancellation#cancel()} was called. */
    CANCELLED
}
