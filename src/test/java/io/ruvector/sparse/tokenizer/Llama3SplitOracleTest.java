package io.ruvector.sparse.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Differential test of the Llama 3 / Qwen 2 word split: the regex run by {@link PreTokenizer} against an
 * independent character-by-character scanner that spells out what each alternative of the regex does
 * (llama.cpp itself runs such a scanner for Llama 3 rather than a regex engine). No vocabulary of these
 * families is among the fixtures, so this is what pins their behaviour down.
 */
class Llama3SplitOracleTest {

    @Test
    void regexMatchesScannerOnRandomText() {
        Random rnd = new Random(31337);
        for (int trial = 0; trial < 3000; trial++) {
            String s = trial % 3 == 0 ? TokenizerRoundTripTest.randomText(rnd, 30) : denseText(rnd, 30);
            assertEquals(scan(s, 3), PreTokenizerTest.split("llama3", s), () -> "llama3 " + LlamaCppVocabTest.escape(s));
            assertEquals(scan(s, 1), PreTokenizerTest.split("qwen2", s), () -> "qwen2 " + LlamaCppVocabTest.escape(s));
        }
    }

    /** Text from a small alphabet that hits the interesting boundaries often. */
    private static String denseText(Random rnd, int max) {
        String alphabet = "aZé1٣'sStTrReE \t\n\r\u00A0\u3000.,!?-—🦙你\u0301";
        int[] cps = alphabet.codePoints().toArray();
        StringBuilder sb = new StringBuilder();
        int n = rnd.nextInt(max + 1);
        for (int i = 0; i < n; i++) sb.appendCodePoint(cps[rnd.nextInt(cps.length)]);
        return sb.toString();
    }

    private static boolean isL(int c) { return Character.isLetter(c); }

    private static boolean isN(int c) {
        int t = Character.getType(c);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    private static boolean isWs(int c) { return PreTokenizer.isUnicodeWhitespace(c); }

    /** The words of {@code s}; digits are grouped by at most {@code digitGroup}. */
    static List<String> scan(String s, int digitGroup) {
        int[] cp = s.codePoints().toArray();
        int end = cp.length;
        List<String> words = new ArrayList<>();
        int pos = 0;
        while (pos < end) {
            int start = pos;
            int c = cp[pos];
            // (?:'s|'t|'re|'ve|'m|'ll|'d), either case
            if (c == '\'' && pos + 1 < end) {
                int a = Character.toLowerCase(cp[pos + 1]);
                int b = pos + 2 < end ? Character.toLowerCase(cp[pos + 2]) : -1;
                if (a == 's' || a == 't' || a == 'm' || a == 'd') pos += 2;
                else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) pos += 3;
            }
            if (pos == start && c != '\r' && c != '\n' && !isN(c) && (isL(c) || (pos + 1 < end && isL(cp[pos + 1])))) {
                pos++; // [^\r\n\p{L}\p{N}]?\p{L}+ : one leading non-letter, or the first letter
                while (pos < end && isL(cp[pos])) pos++;
            }
            if (pos == start && isN(c)) {
                while (pos < end && isN(cp[pos]) && pos - start < digitGroup) pos++;
            }
            if (pos == start) { // " ?[^\s\p{L}\p{N}]+[\r\n]*"
                int p = c == ' ' ? pos + 1 : pos;
                int q = p;
                while (q < end && !isWs(cp[q]) && !isL(cp[q]) && !isN(cp[q])) q++;
                if (q > p) {
                    while (q < end && (cp[q] == '\r' || cp[q] == '\n')) q++;
                    pos = q;
                }
            }
            if (pos == start) { // \s*[\r\n]+ | \s+(?!\S) | \s+
                int run = 0;
                int lastNewline = -1;
                while (pos + run < end && isWs(cp[pos + run])) {
                    if (cp[pos + run] == '\r' || cp[pos + run] == '\n') lastNewline = pos + run;
                    run++;
                }
                if (lastNewline >= 0) pos = lastNewline + 1;
                else if (run > 1 && pos + run < end) pos += run - 1;
                else pos += Math.max(run, 1);
            }
            words.add(new String(cp, start, pos - start));
        }
        return words;
    }
}
