package io.ruvector.sparse.generation;

/**
 * What generation needs from a model session: feed tokens, get the next-token logits, move back.
 *
 * <p>A session holds the tokens evaluated so far (its KV cache); {@link #evaluate} appends to them.
 */
public interface LogitsSource {

    /**
     * Appends {@code tokens} at {@link #position()} and returns the logits that follow the last one.
     * The array may be a buffer the source reuses: it is valid until the next call, and callers must not
     * change it. The source must not keep a reference to {@code tokens}.
     */
    float[] evaluate(int[] tokens);

    /** Number of tokens evaluated so far. */
    int position();

    /** Forgets every token from {@code position} on, so the next {@link #evaluate} continues there. */
    void rewind(int position);

    /** The most tokens the session can hold. */
    int contextLength();

    /** Number of logits {@link #evaluate} returns: the vocabulary size. */
    int vocabSize();
}
