package io.ruvector.sparse.generation;

/** What generation needs from a tokenizer: text to tokens, tokens to text, and which tokens end a reply. */
public interface TokenText {

    /**
     * Tokenizes {@code text}.
     *
     * @param addSpecial   add the model's start token (BOS) when its metadata asks for one and the text
     *                     does not already begin with it
     * @param parseSpecial turn special-token text such as {@code <|im_start|>} into the special token
     *                     (needed for rendered chat templates; never for untrusted user text)
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** True for tokens that end a generation (end of sequence, end of turn). */
    boolean isEndOfGeneration(int token);

    /**
     * A fresh decoder for the tokens that follow {@code previousToken} (the last prompt token): after
     * BOS a SentencePiece model's leading space is dropped, as at the start of a text; elsewhere it is kept.
     */
    Decoder newDecoder(int previousToken);

    /** Turns a stream of tokens into text, returning only whole UTF-8 characters. */
    interface Decoder {
        /** The text completed by this token: may be empty while a character's bytes are incomplete. */
        String next(int token);

        /** Whatever is left at the end of the stream (incomplete bytes as U+FFFD), then starts afresh. */
        String finish();
    }
}
