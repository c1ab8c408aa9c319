package io.ruvector.sparse.tokenizer;

import io.ruvector.sparse.gguf.GgufArray;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufValueType;

import java.util.HashMap;
import java.util.Map;

/**
 * The token table read once from GGUF metadata: text, score and attributes of every id, and the reverse
 * lookup text -> id. Attributes are bit flags (a token can be, say, CONTROL and RSTRIP at once).
 */
final class Vocabulary {

    static final int ATTR_UNKNOWN = 1;
    static final int ATTR_UNUSED = 1 << 1;
    static final int ATTR_NORMAL = 1 << 2;
    static final int ATTR_CONTROL = 1 << 3;
    static final int ATTR_USER_DEFINED = 1 << 4;
    static final int ATTR_BYTE = 1 << 5;
    /** Matched special token swallows whitespace to its left. */
    static final int ATTR_LSTRIP = 1 << 7;
    /** Matched special token swallows whitespace to its right. */
    static final int ATTR_RSTRIP = 1 << 8;

    private final String[] texts;
    private final float[] scores;
    private final int[] attrs;
    private final TokenType[] types;
    private final Map<String, Integer> ids;

    private Vocabulary(String[] texts, float[] scores, TokenType[] types) {
        this.texts = texts;
        this.scores = scores;
        this.types = types;
        this.attrs = new int[texts.length];
        this.ids = HashMap.newHashMap(texts.length);
        for (int i = 0; i < texts.length; i++) {
            if (texts[i].isEmpty()) texts[i] = "[EMPTY_" + i + "]"; // as llama.cpp: keeps the lookup unambiguous
            ids.putIfAbsent(texts[i], i); // duplicate text: the first id wins
            attrs[i] = switch (types[i]) {
                case UNDEFINED -> 0;
                case NORMAL -> ATTR_NORMAL;
                case UNKNOWN -> ATTR_UNKNOWN;
                case CONTROL -> ATTR_CONTROL;
                case USER_DEFINED -> ATTR_USER_DEFINED;
                case UNUSED -> ATTR_UNUSED;
                case BYTE -> ATTR_BYTE;
            };
        }
    }

    static Vocabulary load(GgufFile gguf) {
        String name = gguf.path() != null ? String.valueOf(gguf.path().getFileName()) : "GGUF";
        if (!gguf.has("tokenizer.ggml.tokens")) {
            throw new IllegalArgumentException(name + " has no tokenizer (metadata key 'tokenizer.ggml.tokens' is missing)");
        }
        GgufArray tokenArray = gguf.getArray("tokenizer.ggml.tokens");
        if (tokenArray.elementType() != GgufValueType.STRING) {
            throw new IllegalArgumentException(name + ": tokenizer.ggml.tokens must be an array of strings, not "
                    + tokenArray.elementType());
        }
        String[] texts = tokenArray.toStringArray();
        int n = texts.length;
        if (n == 0) throw new IllegalArgumentException(name + ": tokenizer.ggml.tokens is empty");

        float[] scores = new float[n];
        if (gguf.has("tokenizer.ggml.scores")) {
            GgufArray a = gguf.getArray("tokenizer.ggml.scores");
            requireLength(name, "tokenizer.ggml.scores", a, n);
            for (int i = 0; i < n; i++) scores[i] = (float) a.getDouble(i);
        }

        TokenType[] types = new TokenType[n];
        if (gguf.has("tokenizer.ggml.token_type")) {
            GgufArray a = gguf.getArray("tokenizer.ggml.token_type");
            requireLength(name, "tokenizer.ggml.token_type", a, n);
            for (int i = 0; i < n; i++) types[i] = TokenType.fromCode((int) a.getLong(i));
        } else {
            java.util.Arrays.fill(types, TokenType.NORMAL);
        }
        return new Vocabulary(texts, scores, types);
    }

    /** For tests and synthetic vocabularies. */
    static Vocabulary of(String[] texts, float[] scores, TokenType[] types) {
        if (scores.length != texts.length || types.length != texts.length) {
            throw new IllegalArgumentException("texts, scores and types differ in length");
        }
        return new Vocabulary(texts.clone(), scores.clone(), types.clone());
    }

    private static void requireLength(String name, String key, GgufArray a, int n) {
        if (a.size() < n) {
            throw new IllegalArgumentException(name + ": " + key + " has " + a.size() + " entries for " + n + " tokens");
        }
    }

    int size() { return texts.length; }

    String text(int id) { return texts[id]; }

    float score(int id) { return scores[id]; }

    TokenType type(int id) { return types[id]; }

    /** The id whose text is exactly {@code text}, or -1. */
    int id(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    boolean has(int id, int attr) { return (attrs[id] & attr) != 0; }

    int attrs(int id) { return attrs[id]; }

    void addAttr(int id, int attr) { attrs[id] |= attr; }

    void removeAttr(int id, int attr) { attrs[id] &= ~attr; }

    boolean contains(int id) { return id >= 0 && id < texts.length; }
}
