package io.ruvector.sparse.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;

/**
 * WordPiece ({@code tokenizer.ggml.model = bert}) as llama.cpp runs it: BERT's basic normalisation
 * (lowercase, accents stripped, control characters dropped, punctuation and CJK ideographs split off as
 * words of their own, whitespace separates words), then each word, prefixed with U+2581 the way the GGUF
 * converter stores word-initial pieces, is cut greedily into the longest vocabulary entries. A word with
 * any uncuttable position becomes the unknown token.
 */
final class WordPieceEncoder implements Encoder {

    private final Vocabulary vocab;
    private final int unknownId;
    private final boolean lowercase;
    private final boolean stripAccents;
    private final int maxTokenChars;

    WordPieceEncoder(Vocabulary vocab, int unknownId, boolean lowercase, boolean stripAccents) {
        this.vocab = vocab;
        this.unknownId = unknownId;
        this.lowercase = lowercase;
        this.stripAccents = stripAccents;
        int max = 0;
        for (int i = 0; i < vocab.size(); i++) max = Math.max(max, vocab.text(i).length());
        this.maxTokenChars = max;
    }

    @Override
    public void encode(String text, boolean atStart, IntList out) {
        for (String word : words(text)) {
            String marked = SentencePieceEncoder.SPACE_MARK + word;
            int n = marked.length();
            int before = out.size();
            for (int i = 0; i < n; ) {
                int matchEnd = -1;
                for (int j = Math.min(n, i + maxTokenChars); j > i; j--) {
                    int id = vocab.id(marked.substring(i, j));
                    if (id >= 0) {
                        out.add(id);
                        matchEnd = j;
                        break;
                    }
                }
                if (matchEnd < 0) {
                    out.truncate(before);
                    break;
                }
                i = matchEnd;
            }
            if (out.size() == before) {
                if (unknownId < 0) throw new IllegalStateException("word '" + word + "' has no pieces and the vocabulary no unknown token");
                out.add(unknownId);
            }
        }
    }

    private List<String> words(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (PreTokenizer.isUnicodeWhitespace(cp)) {
                flush(word, words);
                continue;
            }
            if (stripAccents && cp >= 0x80) cp = Normalizer.normalize(Character.toString(cp), Normalizer.Form.NFD).codePointAt(0);
            int type = Character.getType(cp);
            if (cp == 0 || cp == 0xFFFD || isControl(type)) continue;
            if (stripAccents && isMark(type)) continue;
            if (lowercase) cp = Character.toLowerCase(cp);
            if (isPunctuation(type) || (cp < 0x7F && isSymbol(type)) || isChinese(cp)) {
                flush(word, words);
                words.add(Character.toString(cp));
            } else {
                word.appendCodePoint(cp);
            }
        }
        flush(word, words);
        return words;
    }

    private static void flush(StringBuilder word, List<String> words) {
        if (!word.isEmpty()) {
            words.add(word.toString());
            word.setLength(0);
        }
    }

    private static boolean isControl(int type) {
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                || type == Character.PRIVATE_USE;
    }

    private static boolean isMark(int type) {
        return type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK
                || type == Character.COMBINING_SPACING_MARK;
    }

    private static boolean isPunctuation(int type) {
        return type == Character.CONNECTOR_PUNCTUATION || type == Character.DASH_PUNCTUATION
                || type == Character.START_PUNCTUATION || type == Character.END_PUNCTUATION
                || type == Character.INITIAL_QUOTE_PUNCTUATION || type == Character.FINAL_QUOTE_PUNCTUATION
                || type == Character.OTHER_PUNCTUATION;
    }

    private static boolean isSymbol(int type) {
        return type == Character.MATH_SYMBOL || type == Character.CURRENCY_SYMBOL
                || type == Character.MODIFIER_SYMBOL || type == Character.OTHER_SYMBOL;
    }

    /** BERT's CJK ideograph ranges (0x2B920 rather than 0x2B820, as in the HF code llama.cpp follows). */
    private static boolean isChinese(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B920 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
