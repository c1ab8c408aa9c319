package io.ruvector.sparse.generation;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A toy tokenizer: token i is the byte sequence {@code pieces[i]}; token 0 is BOS, token 1 is EOS (no
 * text). Encoding is greedy longest match, enough for tests.
 */
final class FakeTokenText implements TokenText {

    static final int BOS = 0;
    static final int EOS = 1;
    final byte[][] pieces;

    FakeTokenText(byte[]... pieces) { this.pieces = pieces; }

    /** BOS, EOS, then one token per string (UTF-8). */
    static FakeTokenText of(String... words) {
        byte[][] p = new byte[words.length + 2][];
        p[BOS] = new byte[0];
        p[EOS] = new byte[0];
        for (int i = 0; i < words.length; i++) p[i + 2] = words[i].getBytes(StandardCharsets.UTF_8);
        return new FakeTokenText(p);
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        List<Integer> out = new ArrayList<>();
        if (addSpecial) out.add(BOS);
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int at = 0;
        while (at < b.length) {
            int best = -1;
            for (int t = 2; t < pieces.length; t++) {
                byte[] p = pieces[t];
                if (p.length > 0 && at + p.length <= b.length && java.util.Arrays.equals(b, at, at + p.length, p, 0, p.length)
                        && (best < 0 || p.length > pieces[best].length)) best = t;
            }
            if (best < 0) throw new IllegalArgumentException("cannot encode byte " + b[at]);
            out.add(best);
            at += pieces[best].length;
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public boolean isEndOfGeneration(int token) { return token == EOS; }

    @Override
    public Decoder newDecoder(int previousToken) {
        return new Decoder() {
            final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

            @Override
            public String next(int token) {
                bytes.writeBytes(pieces[token]);
                byte[] b = bytes.toByteArray();
                int complete = completePrefix(b);
                bytes.reset();
                bytes.write(b, complete, b.length - complete);
                return new String(b, 0, complete, StandardCharsets.UTF_8);
            }

            @Override
            public String finish() {
                CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE);
                try {
                    CharBuffer c = d.decode(ByteBuffer.wrap(bytes.toByteArray()));
                    bytes.reset();
                    return c.toString();
                } catch (java.nio.charset.CharacterCodingException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    /** Length of the longest prefix that does not end inside a multi-byte character. */
    private static int completePrefix(byte[] b) {
        int i = b.length;
        int back = 0;
        while (i > 0 && back < 3 && (b[i - 1] & 0xC0) == 0x80) {
            i--;
            back++;
        }
        if (i == 0) return b.length;
        int lead = b[i - 1] & 0xFF;
        int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return back + 1 >= need ? b.length : i - 1;
    }
}
