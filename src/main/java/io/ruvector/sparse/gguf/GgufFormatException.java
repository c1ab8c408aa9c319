package io.ruvector.sparse.gguf;

import java.io.IOException;

/** A GGUF file that is corrupt, truncated or of a kind we do not read; says where and what. */
public final class GgufFormatException extends IOException {
    private final long offset;

    public GgufFormatException(long offset, String message) {
        super("at byte " + offset + ": " + message);
        this.offset = offset;
    }

    /** Byte offset in the file where the problem was found, or -1 when it concerns the whole file. */
    public long offset() { return offset; }
}
