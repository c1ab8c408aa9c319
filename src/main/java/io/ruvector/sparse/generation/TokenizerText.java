package io.ruvector.sparse.generation;

import io.ruvector.sparse.tokenizer.TokenDecoder;
import io.ruvector.sparse.tokenizer.Tokenizer;

/** A {@link TokenText} over the project's {@link Tokenizer}. */
final class TokenizerText implements TokenText {

    private final Tokenizer tokenizer;

    TokenizerText(Tokenizer tokenizer) { this.tokenizer = tokenizer; }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        int[] ids = tokenizer.encode(text, false, false, parseSpecial);
        int bos = tokenizer.bosId();
        boolean addBos = addSpecial && tokenizer.addBosByDefault() && bos != Tokenizer.NO_TOKEN
                && (ids.length == 0 || ids[0] != bos);
        if (!addBos) return ids;
        int[] withBos = new int[ids.length + 1];
        withBos[0] = bos;
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    @Override
    public boolean isEndOfGeneration(int token) { return tokenizer.isEndOfGeneration(token); }

    @Override
    public Decoder newDecoder(int previousToken) {
        TokenDecoder d = tokenizer.newDecoderAfter(previousToken);
        return new Decoder() {
            @Override
            public String next(int token) { return d.accept(token); }

            @Override
            public String finish() { return d.flush(); }
        };
    }
}
