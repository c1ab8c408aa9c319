package io.ruvector.sparse.tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into words before byte-level BPE, as selected by {@code tokenizer.ggml.pre}.
 *
 * <p>A pre-tokenizer is a list of regexes applied in turn, as llama.cpp's {@code unicode_regex_split}
 * does: the first regex cuts the text into its matches and the gaps between them, each later regex cuts
 * every piece again (and never across an earlier cut). Lookarounds and {@code \z} see only the piece.
 *
 * <p>Unicode behaviour follows llama.cpp: {@code \p{L}}, {@code \p{N}}, {@code \p{P}}... are the Unicode
 * general categories (Java's tables), and {@code \s} is the Unicode White_Space set. Java's {@code \s}
 * is ASCII-only, so the regexes run over a shadow copy of the text in which every non-ASCII White_Space
 * character is replaced by U+000B (all of them are in the BMP, so offsets stay aligned); llama.cpp uses the
 * same substitution for its std::regex fallback. Regexes are compiled once, when the tokenizer loads.
 */
final class PreTokenizer {

    /** GPT-2's word split, also the core of several others. */
    private static final String GPT2 =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final String CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
    private static final String LLAMA3 = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN35 = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String SEED_CODER = CONTRACTIONS
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String BAILINGMOE = "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])"
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
    // Tekken and GPT-4o split letter runs by case. llama.cpp writes "a letter that is not a-z" as
    // ((?=[\p{L}])([^a-z])); Java's class intersection says the same without a repeated group, which
    // keeps the engine from recursing once per character on long words.
    private static final String UPPERISH = "[\\p{L}&&[^a-z]]";
    private static final String LOWERISH = "[\\p{L}&&[^A-Z]]";
    private static final String TEKKEN = "[^\\r\\n\\p{L}\\p{N}]?" + UPPERISH + "*" + LOWERISH + "+"
            + "|[^\\r\\n\\p{L}\\p{N}]?" + UPPERISH + "+" + LOWERISH + "*"
            + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String GPT4O = "[^\\r\\n\\p{L}\\p{N}]?" + UPPERISH + "*" + LOWERISH + "+" + CONTRACTIONS + "?"
            + "|[^\\r\\n\\p{L}\\p{N}]?" + UPPERISH + "+" + LOWERISH + "*" + CONTRACTIONS + "?"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String DEEPSEEK3 = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+"
            + "|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String CJK = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";
    private static final String DEEPSEEK_LLM_LETTERS = "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba"
            + "\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386"
            + "\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556"
            + "\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77"
            + "\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b"
            + "\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3"
            + "\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115"
            + "\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149"
            + "\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b"
            + "\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a"
            + "\uff41-\uff5a\\x{10400}-\\x{1044f}\\x{104b0}-\\x{104d3}\\x{104d8}-\\x{104fb}\\x{10c80}-\\x{10cb2}"
            + "\\x{10cc0}-\\x{10cf2}\\x{118a0}-\\x{118df}\\x{1e900}-\\x{1e943}]+";
    private static final String DEEPSEEK_LLM_PUNCT = "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+";
    private static final String BLOOM = " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+";

    /** Regex lists by pre-tokenizer name. */
    private static final Map<String, String[]> REGEXES = new LinkedHashMap<>();
    /** Names whose words are looked up whole before merging (llama.cpp's ignore_merges). */
    private static final List<String> IGNORE_MERGES = new ArrayList<>();
    /** Names whose tokenizer adds BOS unless the file says otherwise. */
    private static final List<String> ADD_BOS = new ArrayList<>();

    static {
        register(new String[] {"[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}, "default");
        register(new String[] {GPT2}, "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
                "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "mpt", "olmo", "jais", "trillion",
                "granite-docling", "exaone4", "jina-v1-en", "jina-v2-code", "roberta-bpe");
        register(new String[] {LLAMA3}, "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                "midm-2.0", "lfm2", "jina-v5-nano");
        IGNORE_MERGES.addAll(List.of("llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                "midm-2.0", "lfm2", "jina-v5-nano"));
        ADD_BOS.addAll(IGNORE_MERGES);
        register(new String[] {LLAMA3}, "dbrx", "smaug-bpe", "glm4", "chatglm-bpe");
        register(new String[] {QWEN2}, "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "hunyuan",
                "solar-open", "megrez", "grok-2");
        register(new String[] {QWEN35}, "qwen35");
        register(new String[] {"[\\r\\n]", DEEPSEEK_LLM_LETTERS, DEEPSEEK_LLM_PUNCT, "\\s+\\z", CJK, "\\p{N}+"},
                "deepseek-llm");
        register(new String[] {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK, "\\p{N}"}, "deepseek-coder");
        register(new String[] {"\\p{N}{1,3}", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+", DEEPSEEK3},
                "deepseek-v3");
        register(new String[] {"[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]"}, "falcon");
        register(new String[] {"\\p{N}", GPT2}, "starcoder", "refact", "command-r", "smollm", "codeshell",
                "exaone", "minerva-7b", "mellum2");
        register(new String[] {BLOOM}, "poro-chat", "bloom", "gpt3-finnish");
        register(new String[] {BLOOM, "\\p{N}"}, "viking");
        register(new String[] {TEKKEN}, "tekken");
        IGNORE_MERGES.add("tekken");
        ADD_BOS.add("tekken");
        register(new String[] {GPT4O}, "gpt-4o", "llama4", "kanana2", "talkie");
        register(new String[] {SEED_CODER}, "seed-coder");
        register(new String[] {BAILINGMOE}, "bailingmoe", "bailingmoe2", "llada-moe");
    }

    private static void register(String[] regexes, String... names) {
        for (String name : names) REGEXES.put(name, regexes);
    }

    private final String name;
    private final Pattern[] patterns;

    private PreTokenizer(String name, String[] regexes) {
        this.name = name;
        this.patterns = new Pattern[regexes.length];
        for (int i = 0; i < regexes.length; i++) patterns[i] = Pattern.compile(regexes[i]);
    }

    /**
     * The pre-tokenizer named by {@code tokenizer.ggml.pre}. A missing name means "default", as in
     * llama.cpp (which warns that quality may suffer).
     *
     * @throws IllegalArgumentException naming the pre-tokenizer when it is not known
     */
    static PreTokenizer forName(String name) {
        String key = name == null || name.isEmpty() ? "default" : name;
        String[] regexes = REGEXES.get(key);
        if (regexes == null) {
            throw new IllegalArgumentException("unsupported pre-tokenizer '" + key
                    + "' (tokenizer.ggml.pre); supported: " + String.join(", ", REGEXES.keySet()));
        }
        return new PreTokenizer(key, regexes);
    }

    static boolean ignoresMerges(String name) { return IGNORE_MERGES.contains(name); }

    static boolean addsBosByDefault(String name) { return ADD_BOS.contains(name); }

    String name() { return name; }

    /** Splits {@code text} into words; the result holds the end offset (exclusive) of each word in order. */
    IntList split(String text) {
        IntList ends = new IntList(16);
        if (text.isEmpty()) return ends;
        String shadow = withAsciiWhitespace(text);
        ends.add(text.length());
        IntList next = new IntList(16);
        for (Pattern p : patterns) {
            next.clear();
            Matcher m = p.matcher(shadow);
            int start = 0;
            for (int k = 0; k < ends.size(); k++) {
                int end = ends.get(k);
                m.region(start, end);
                int pos = start;
                while (m.find()) {
                    if (m.end() == m.start()) continue; // an empty match cuts nothing
                    if (m.start() > pos) next.add(m.start());
                    next.add(m.end());
                    pos = m.end();
                }
                if (pos < end) next.add(end);
                start = end;
            }
            IntList swap = ends;
            ends = next;
            next = swap;
        }
        return ends;
    }

    /** The text with non-ASCII White_Space characters replaced by U+000B (see the class comment). */
    static String withAsciiWhitespace(String text) {
        char[] chars = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80 && isUnicodeWhitespace(c)) {
                if (chars == null) chars = text.toCharArray();
                chars[i] = '\u000B';
            }
        }
        return chars == null ? text : new String(chars);
    }

    /** Unicode's White_Space property (llama.cpp's whitespace flag). */
    static boolean isUnicodeWhitespace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }
}
