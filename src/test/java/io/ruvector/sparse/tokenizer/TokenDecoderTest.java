package io.ruvector.sparse.tokenizer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The rule that decides which trailing bytes wait for the rest of their character. */
class TokenDecoderTest {

    private static int tail(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) bytes[i];
        return TokenDecoder.incompleteTail(b, b.length);
    }

    @Test
    void holdsBackOnlyStartsOfValidCharacters() {
        assertEquals(0, tail());
        assertEquals(0, tail('a'));
        assertEquals(1, tail('a', 0xC3));             // é without its second byte
        assertEquals(0, tail(0xC3, 0xA9));            // é complete
        assertEquals(2, tail(0xE6, 0x97));            // 3-byte character, 2 present
        assertEquals(0, tail(0xE6, 0x97, 0xA5));
        assertEquals(3, tail(0xF0, 0x9F, 0xA6));      // emoji, 3 of 4
        assertEquals(0, tail(0xF0, 0x9F, 0xA6, 0x99));
        assertEquals(0, tail(0x80));                  // stray continuation byte: emit (as U+FFFD)
        assertEquals(0, tail(0xC0));                  // never a valid lead byte
        assertEquals(0, tail(0xF5));
        assertEquals(0, tail(0xE0, 0x80));            // overlong: can never complete
        assertEquals(0, tail(0xED, 0xA0));            // surrogate range
        assertEquals(0, tail(0xF4, 0x90));            // above U+10FFFF
        assertEquals(2, tail(0xF4, 0x8F));
        assertEquals(0, tail(0x80, 0x80, 0x80, 0x80)); // more continuation bytes than any character has
    }
}
