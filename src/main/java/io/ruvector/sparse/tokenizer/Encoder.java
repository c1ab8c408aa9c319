package io.ruvector.sparse.tokenizer;

/** Turns one fragment of plain text (special tokens already cut out) into token ids. */
sealed interface Encoder permits SentencePieceEncoder, BytePairEncoder, WordPieceEncoder {

    /**
     * Appends the ids of {@code text} to {@code out}.
     *
     * @param atStart true when the fragment starts the input or follows a special token (SentencePiece
     *                adds its space prefix there)
     */
    void encode(String text, boolean atStart, IntList out);
}
