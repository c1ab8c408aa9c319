package io.ruvector.sparse.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns a stream of token ids into text, one id at a time, emitting only whole UTF-8 characters: bytes
 * of a character split across tokens (byte-fallback tokens, byte-level BPE pieces) are held back until
 * the character is complete. Bytes that can never form a character are emitted as U+FFFD.
 *
 * <p>With a SentencePiece vocabulary the space the encoder put in front of the text is removed again:
 * from the first piece of a decoder made for text that starts here, and from the piece after a BOS (as
 * llama2.c does). When control tokens are rendered, BOS's own text {@code <s>} is that first piece, so
 * the space after it stays ({@code "<s> Once"}), as in llama.cpp.
 *
 * <p>Not thread-safe: one decoder per stream.
 */
public final class TokenDecoder {

    private final Tokenizer tokenizer;
    private final boolean renderSpecial;
    private final boolean stripsSpacePrefix;
    private boolean stripNextSpace;
    private byte[] pending = new byte[16];
    private int pendingLength;

    TokenDecoder(Tokenizer tokenizer, boolean renderSpecial, boolean atTextStart) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
        this.stripsSpacePrefix = tokenizer.addsSpacePrefix();
        this.stripNextSpace = stripsSpacePrefix && atTextStart;
    }

    /**
     * Adds one token and returns the text it completes (often the token's own text, sometimes "" while a
     * multi-byte character is incomplete, sometimes more when it completes one).
     *
     * @throws IllegalArgumentException when {@code id} is outside the vocabulary
     */
    public String accept(int id) {
        tokenizer.check(id);
        if (stripsSpacePrefix && id == tokenizer.bosId()) stripNextSpace = true;
        if (!renderSpecial && tokenizer.isHiddenUnlessSpecial(id)) return "";
        byte[] bytes = tokenizer.bytesOf(id);
        if (bytes.length == 0) return "";
        int from = 0;
        if (stripNextSpace) {
            stripNextSpace = false;
            if (bytes[0] == ' ') from = 1;
        }
        append(bytes, from);
        return drainComplete();
    }

    /** Returns whatever is held back (an incomplete character, as U+FFFD) and resets the buffer. */
    public String flush() {
        String rest = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
        pendingLength = 0;
        return rest;
    }

    /** True when bytes of an incomplete character are held back. */
    public boolean hasPending() { return pendingLength > 0; }

    private void append(byte[] bytes, int from) {
        int n = bytes.length - from;
        if (pendingLength + n > pending.length) pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + n));
        System.arraycopy(bytes, from, pending, pendingLength, n);
        pendingLength += n;
    }

    /** Emits the buffer up to the start of a trailing character that is still missing bytes. */
    private String drainComplete() {
        int keep = incompleteTail(pending, pendingLength);
        int emit = pendingLength - keep;
        if (emit == 0) return "";
        String text = new String(pending, 0, emit, StandardCharsets.UTF_8);
        System.arraycopy(pending, emit, pending, 0, keep);
        pendingLength = keep;
        return text;
    }

    /**
     * Length of the trailing bytes that begin a valid multi-byte character but do not finish it, or 0.
     * Only the last character can be incomplete: anything malformed earlier decodes to U+FFFD anyway.
     */
    static int incompleteTail(byte[] b, int length) {
        int continuation = 0;
        int i = length - 1;
        while (i >= 0 && continuation < 3 && (b[i] & 0xC0) == 0x80) {
            continuation++;
            i--;
        }
        if (i < 0) return 0;
        int lead = b[i] & 0xFF;
        int needed;
        if (lead >= 0xC2 && lead <= 0xDF) needed = 2;
        else if (lead >= 0xE0 && lead <= 0xEF) needed = 3;
        else if (lead >= 0xF0 && lead <= 0xF4) needed = 4;
        else return 0;
        int have = continuation + 1;
        if (have >= needed) return 0;
        // The second byte of E0/ED/F0/F4 sequences has a narrower range; a byte outside it can never complete.
        if (have >= 2) {
            int second = b[i + 1] & 0xFF;
            if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F)
                    || (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F)) return 0;
        }
        return have;
    }
}
