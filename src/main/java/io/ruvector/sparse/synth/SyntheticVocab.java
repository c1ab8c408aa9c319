package io.ruvector.sparse.synth;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A synthetic SentencePiece-style vocabulary ({@code tokenizer.ggml.model = "llama"}) that llama.cpp
 * loads: 0 {@code <unk>}, 1 {@code <s>} (BOS), 2 {@code </s>} (EOS), 3..258 the byte tokens
 * {@code <0x00>}..{@code <0xFF>}, then unique word pieces, shortest first so that every longer piece can
 * be reached by merging shorter ones: {@code ▁}, {@code ▁a}..{@code ▁z}, {@code a}..{@code z}, digits and
 * punctuation, common English words, then every letter pair, triple, ... with and without the word-start
 * mark {@code ▁}. Lower-case text tokenizes into real pieces; anything else falls back to bytes.
 *
 * @param tokens token texts, index = id
 * @param scores SentencePiece scores: 0 for special and byte tokens, 0, -1, -2, ... for the pieces
 * @param types  llama.cpp token types: 1 normal, 2 unknown, 3 control, 6 byte
 */
public record SyntheticVocab(List<String> tokens, float[] scores, int[] types) {

    public static final int UNK = 0;
    public static final int BOS = 1;
    public static final int EOS = 2;
    /** Id of the byte token {@code <0x00>}; byte b is {@code FIRST_BYTE + b}. */
    public static final int FIRST_BYTE = 3;
    /** Smallest vocabulary: specials, 256 bytes and the word-start piece. */
    public static final int MIN_SIZE = FIRST_BYTE + 256 + 1;

    public static final int TYPE_NORMAL = 1;
    public static final int TYPE_UNKNOWN = 2;
    public static final int TYPE_CONTROL = 3;
    public static final int TYPE_BYTE = 6;

    private static final String WORD_START = "\u2581";
    private static final String[] COMMON_WORDS = {
            "the", "and", "was", "to", "of", "in", "it", "he", "she", "they", "is", "that", "with", "for", "on",
            "his", "her", "had", "you", "at", "one", "day", "said", "not", "but", "be", "we", "so", "there",
            "little", "big", "time", "upon", "once", "very", "happy", "saw", "play", "went", "friend", "mom",
            "loved", "wanted", "named", "girl", "boy", "dog", "cat", "tree", "sun", "ball", "park", "home",
            "fun", "good", "all", "from", "what", "when", "then", "up", "out", "go", "can", "do", "did"};

    public SyntheticVocab {
        tokens = List.copyOf(tokens);
        scores = scores.clone();
        types = types.clone();
    }

    @Override
    public float[] scores() { return scores.clone(); }

    @Override
    public int[] types() { return types.clone(); }

    public int size() { return tokens.size(); }

    /** A vocabulary of exactly {@code size} tokens. */
    public static SyntheticVocab llama(int size) {
        if (size < MIN_SIZE) throw new IllegalArgumentException("vocabulary size must be at least " + MIN_SIZE + ", not " + size);
        List<String> tokens = new ArrayList<>(size);
        tokens.add("<unk>");
        tokens.add("<s>");
        tokens.add("</s>");
        for (int b = 0; b < 256; b++) tokens.add(String.format("<0x%02X>", b));
        Set<String> pieces = new LinkedHashSet<>();
        int need = size - tokens.size();
        pieces.add(WORD_START);
        for (char c = 'a'; c <= 'z'; c++) pieces.add(WORD_START + c);
        for (char c = 'a'; c <= 'z'; c++) pieces.add(String.valueOf(c));
        for (char c : "0123456789.,!?'\"-:;()".toCharArray()) pieces.add(String.valueOf(c));
        for (String w : COMMON_WORDS) pieces.add(WORD_START + w);
        for (int len = 2; pieces.size() < need; len++) {
            addCombinations(pieces, len, WORD_START, need);
            addCombinations(pieces, len, "", need);
        }
        List<String> ordered = new ArrayList<>(pieces);
        tokens.addAll(ordered.subList(0, need));
        float[] scores = new float[size];
        int[] types = new int[size];
        types[UNK] = TYPE_UNKNOWN;
        types[BOS] = TYPE_CONTROL;
        types[EOS] = TYPE_CONTROL;
        for (int b = 0; b < 256; b++) types[FIRST_BYTE + b] = TYPE_BYTE;
        for (int i = FIRST_BYTE + 256; i < size; i++) {
            types[i] = TYPE_NORMAL;
            scores[i] = -(i - (FIRST_BYTE + 256));
        }
        return new SyntheticVocab(tokens, scores, types);
    }

    /** Adds prefix + every lower-case word of {@code len} letters, in order, until {@code need} pieces exist. */
    private static void addCombinations(Set<String> pieces, int len, String prefix, int need) {
        int[] digits = new int[len];
        char[] text = new char[len];
        while (pieces.size() < need) {
            for (int i = 0; i < len; i++) text[i] = (char) ('a' + digits[i]);
            pieces.add(prefix + new String(text));
            int i = len - 1;
            while (i >= 0 && ++digits[i] == 26) digits[i--] = 0;
            if (i < 0) return;
        }
    }
}
