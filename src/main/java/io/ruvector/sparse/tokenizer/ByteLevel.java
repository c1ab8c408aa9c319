package io.ruvector.sparse.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's reversible byte-to-character mapping used by byte-level BPE vocabularies: printable Latin-1
 * bytes stand for themselves, the other 68 bytes (controls, space, 0x7F-0xA0, 0xAD) are shifted to
 * U+0100 and up in byte order, so every byte string becomes a string of visible characters.
 */
final class ByteLevel {

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            char c = (char) (printable ? b : next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {}

    static char encode(int b) { return BYTE_TO_CHAR[b & 0xFF]; }

    /** The byte a mapped character stands for, or -1 when it is not one of the 256. */
    static int decode(int c) { return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1; }

    /** The mapped form of a byte string. */
    static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(out);
    }
}
