package io.ruvector.sparse.tokenizer;

/**
 * Kind of a vocabulary entry, as stored in {@code tokenizer.ggml.token_type} (the codes are llama.cpp's).
 */
public enum TokenType {
    /** Code 0: no type given; renders as nothing. */
    UNDEFINED,
    /** Code 1: ordinary text. */
    NORMAL,
    /** Code 2: the unknown-token marker. */
    UNKNOWN,
    /** Code 3: control token (BOS, EOS, chat markers); matched in text only when parsing specials. */
    CONTROL,
    /** Code 4: added token, always matched in text before the main tokenizer runs. */
    USER_DEFINED,
    /** Code 5: reserved, never produced. */
    UNUSED,
    /** Code 6: a single byte, written {@code <0xXX>} (SentencePiece byte fallback). */
    BYTE;

    private static final TokenType[] BY_CODE = values();

    /** The type for a GGUF code; unknown codes are {@link #UNDEFINED}, as in llama.cpp. */
    public static TokenType fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : UNDEFINED;
    }
}
