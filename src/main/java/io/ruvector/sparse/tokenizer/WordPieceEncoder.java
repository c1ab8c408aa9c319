package io.ruvector.sparse.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * WordPiece ({@code tokenizer.ggml.model = bert}) as Hugging Face's {@code BertNormalizer},
 * {@code BertPreTokenizer} and {@code WordPiece} run it, so the ids equal those the model was trained and
 * exported with: control characters dropped and whitespace made a space, CJK ideographs set apart, accents
 * stripped (canonical decomposition, then only non-spacing marks removed), lowercase; words split at whitespace
 * and punctuation (each punctuation character a word of its own). Each word, prefixed with U+2581 the way the
 * GGUF converter stores word-initial pieces, is cut greedily into the longest vocabulary entries; a word with
 * an uncuttable position, or longer than {@value #MAX_WORD_CHARS} characters, becomes the unknown token.
 *
 * <p>llama.cpp's normaliser differs on two points that matter for real text: it keeps only the first code
 * point of a character's decomposition (a Hangul syllable loses all but its leading jamo) and it strips spacing
 * combining marks (category Mc, the vowel signs of Devanagari and other Indic scripts) as well. Both change the
 * ids of Korean and Hindi text; we follow Hugging Face.
 */
final class WordPieceEncoder implements Encoder {

    /** Hugging Face's {@code max_input_chars_per_word}: longer words are one unknown token. */
    static final int MAX_WORD_CHARS = 100;

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
        for (String word : words(normalize(text))) {
            int before = out.size();
            if (word.codePointCount(0, word.length()) <= MAX_WORD_CHARS) pieces(word, out);
            if (out.size() == before) {
                if (unknownId < 0) throw new IllegalStateException("word '" + word + "' has no pieces and the vocabulary no unknown token");
                out.add(unknownId);
            }
        }
    }

    /** Appends the word's pieces, longest match first; appends nothing when some position cannot be cut. */
    private void pieces(String word, IntList out) {
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
                return;
            }
            i = matchEnd;
        }
    }

    /** {@code BertNormalizer}: clean, set CJK apart, strip accents, lowercase, in that order. */
    private String normalize(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) continue;
            if (isWhitespace(cp)) sb.append(' ');
            else if (isChinese(cp)) sb.append(' ').appendCodePoint(cp).append(' ');
            else sb.appendCodePoint(cp);
        }
        String s = sb.toString();
        if (stripAccents) {
            String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
            sb.setLength(0);
            for (int i = 0; i < nfd.length(); ) {
                int cp = nfd.codePointAt(i);
                i += Character.charCount(cp);
                if (Character.getType(cp) != Character.NON_SPACING_MARK) sb.appendCodePoint(cp);
            }
            s = sb.toString();
        }
        if (lowercase) {
            // per character, as Rust's char::to_lowercase (no final-sigma context), but with its multi-character
            // results (U+0130 becomes "i" + U+0307)
            sb.setLength(0);
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                i += Character.charCount(cp);
                if (cp < 0x80) sb.append((char) Character.toLowerCase(cp));
                else sb.append(Character.toString(cp).toLowerCase(Locale.ROOT));
            }
            s = sb.toString();
        }
        return s;
    }

    /** {@code BertPreTokenizer}: whitespace separates words, each punctuation character is a word. */
    private static List<String> words(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (isWhitespace(cp)) {
                flush(word, words);
            } else if (isPunctuation(cp)) {
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

    /** Control characters in Hugging Face's sense: categories Cc, Cf, Co, Cs, Cn, except tab and line breaks. */
    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int type = Character.getType(cp);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                || type == Character.PRIVATE_USE || type == Character.UNASSIGNED;
    }

    private static boolean isWhitespace(int cp) { return PreTokenizer.isUnicodeWhitespace(cp); }

    /** ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~) or a Unicode punctuation category. */
    private static boolean isPunctuation(int cp) {
        if (cp < 0x80) return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
        int type = Character.getType(cp);
        return type == Character.CONNECTOR_PUNCTUATION || type == Character.DASH_PUNCTUATION
                || type == Character.START_PUNCTUATION || type == Character.END_PUNCTUATION
                || type == Character.INITIAL_QUOTE_PUNCTUATION || type == Character.FINAL_QUOTE_PUNCTUATION
                || type == Character.OTHER_PUNCTUATION;
    }

    /** BERT's CJK ideograph ranges, as Hugging Face's normaliser lists them. */
    private static boolean isChinese(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B820 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
