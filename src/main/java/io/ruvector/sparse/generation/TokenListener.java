package io.ruvector.sparse.generation;

/**
 * Receives each generated token as soon as it is chosen, on the generating thread.
 *
 * <p>{@code text} is the text that became final with this token. It can be empty: while a UTF-8
 * character's bytes are incomplete, or while the text so far could be the start of a stop string (it is
 * then held back, and delivered with a later token or with the last one). Concatenating every
 * {@code text} gives exactly {@link GenerationResult#text()}. The token that ends the generation (end of
 * sequence, stop string, limit) is delivered too, with whatever text was still held back.
 *
 * <p>An exception thrown here ends the generation and reaches the caller of
 * {@link Generator#generate}.
 */
@FunctionalInterface
public interface TokenListener {

    /** A listener that ignores everything. */
    TokenListener NONE = (token, text) -> { };

    void onToken(int token, String text);
}
