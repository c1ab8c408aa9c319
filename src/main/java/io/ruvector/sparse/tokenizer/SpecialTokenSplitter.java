package io.ruvector.sparse.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts special tokens out of raw text before the main tokenizer sees it (llama.cpp's
 * {@code tokenizer_st_partition}). Candidates are the CONTROL, USER_DEFINED and UNKNOWN tokens, tried
 * longest first; each one splits every remaining text fragment at all of its occurrences. USER_DEFINED
 * tokens are always split out; CONTROL and UNKNOWN ones only when the caller asks to parse specials.
 * A token with the LSTRIP / RSTRIP attribute also swallows the ASCII whitespace beside it.
 */
final class SpecialTokenSplitter {

    /** A piece of the input: either a special token ({@code token >= 0}) or the text {@code [start, end)}. */
    record Fragment(int token, int start, int end) {
        boolean isText() { return token < 0; }
    }

    private final Vocabulary vocab;
    private final int[] candidates;

    SpecialTokenSplitter(Vocabulary vocab) {
        this.vocab = vocab;
        List<Integer> ids = new ArrayList<>();
        int specialAttrs = Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED | Vocabulary.ATTR_UNKNOWN;
        for (int id = 0; id < vocab.size(); id++) {
            if (vocab.has(id, specialAttrs)) ids.add(id);
        }
        // Longest (in UTF-8 bytes, as llama.cpp) first; ties by id so the order does not depend on a sort.
        ids.sort(Comparator.<Integer>comparingInt(id -> -vocab.text(id).getBytes(StandardCharsets.UTF_8).length)
                .thenComparingInt(id -> id));
        this.candidates = ids.stream().mapToInt(Integer::intValue).toArray();
    }

    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) return fragments;
        fragments.add(new Fragment(-1, 0, text.length()));
        // Vocabularies may have thousands of candidates (Gemma): look only for those whose first
        // character occurs in the text at all.
        java.util.BitSet present = new java.util.BitSet(128);
        for (int i = 0; i < text.length(); i++) present.set(text.charAt(i));
        int skipUnlessParsing = Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN;
        for (int id : candidates) {
            if (!parseSpecial && vocab.has(id, skipUnlessParsing)) continue;
            String special = vocab.text(id);
            if (!present.get(special.charAt(0)) || text.indexOf(special) < 0) continue;
            fragments = splitAll(text, fragments, id, special);
        }
        return fragments;
    }

    private List<Fragment> splitAll(String text, List<Fragment> in, int id, String special) {
        List<Fragment> out = new ArrayList<>(in.size() + 4);
        boolean lstrip = vocab.has(id, Vocabulary.ATTR_LSTRIP);
        boolean rstrip = vocab.has(id, Vocabulary.ATTR_RSTRIP);
        for (Fragment f : in) {
            if (!f.isText()) {
                out.add(f);
                continue;
            }
            int start = f.start();
            int end = f.end();
            while (start < end) {
                int match = text.indexOf(special, start);
                if (match < 0 || match + special.length() > end) break;
                int leftEnd = match;
                if (lstrip) while (leftEnd > start && isAsciiSpace(text.charAt(leftEnd - 1))) leftEnd--;
                if (leftEnd > start) out.add(new Fragment(-1, start, leftEnd));
                out.add(new Fragment(id, match, match + special.length()));
                start = match + special.length();
                if (rstrip) while (start < end && isAsciiSpace(text.charAt(start))) start++;
            }
            if (start < end) out.add(new Fragment(-1, start, end));
        }
        return out;
    }

    /** C's isspace in the "C" locale, which llama.cpp uses for the strip attributes. */
    private static boolean isAsciiSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }
}
