package io.ruvector.sparse.tokenizer;

import io.ruvector.sparse.gguf.GgufFile;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Text to token ids and back, built from a GGUF file's tokenizer metadata and matching llama.cpp.
 *
 * <p>Supported {@code tokenizer.ggml.model} values: {@code llama} (SentencePiece BPE with byte fallback),
 * {@code gpt2} (byte-level BPE with the pre-tokenizer named by {@code tokenizer.ggml.pre}) and {@code bert}
 * (WordPiece). Special tokens are cut out of the text first: user-defined tokens always, control tokens
 * only when {@code parseSpecial} is set.
 *
 * <p>Decoding renders each token's bytes; a {@link TokenDecoder} streams them and emits whole UTF-8
 * characters only. Unlike llama.cpp's {@code detokenize}, no "clean-up" of spaces before punctuation is
 * applied, so decoding is lossless: {@code decode(encode(s, false, false)) == s} for text the vocabulary
 * can represent (WordPiece, which lowercases and drops spacing, is the exception).
 *
 * <p>Instances are immutable and safe to share between threads. The metadata is copied out of the file
 * on load, so the tokenizer stays usable after the {@link GgufFile} is closed.
 */
public final class Tokenizer {

    /** Returned by the special-token accessors when the vocabulary has no such token. */
    public static final int NO_TOKEN = -1;

    private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
            "<end_of_utterance>");
    private static final List<String> EOG_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>",
            "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
            "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>",
            "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[");
    private static final List<String> FIM_PAD_TEXTS = List.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]");
    private static final List<String> FIM_REP_TEXTS = List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
            "<reponame>");
    private static final List<String> FIM_SEP_TEXTS = List.of("<|file_sep|>");

    private final String model;
    private final String preTokenizer;
    private final Vocabulary vocab;
    private final Encoder encoder;
    private final SpecialTokenSplitter splitter;
    private final int bos;
    private final int eos;
    private final int eot;
    private final int eom;
    private final int unk;
    private final int sep;
    private final int pad;
    private final boolean addBos;
    private final boolean addEos;
    private final boolean addSep;
    private final boolean addSpacePrefix;
    private final boolean[] endOfGeneration;
    private final byte[][] pieceBytes;
    private final boolean[] hiddenUnlessSpecial;

    private Tokenizer(Builder b) {
        this.model = b.model;
        this.preTokenizer = b.pre;
        this.vocab = b.vocab;
        this.encoder = b.encoder;
        this.bos = b.bos;
        this.eos = b.eos;
        this.eot = b.eot;
        this.eom = b.eom;
        this.unk = b.unk;
        this.sep = b.sep;
        this.pad = b.pad;
        this.addBos = b.addBos;
        this.addEos = b.addEos;
        this.addSep = b.addSep;
        this.addSpacePrefix = b.addSpacePrefix;
        this.splitter = new SpecialTokenSplitter(vocab);
        int n = vocab.size();
        this.endOfGeneration = new boolean[n];
        for (int id : b.eog) endOfGeneration[id] = true;
        this.pieceBytes = new byte[n][];
        this.hiddenUnlessSpecial = new boolean[n];
        for (int id = 0; id < n; id++) {
            pieceBytes[id] = render(id);
            hiddenUnlessSpecial[id] = vocab.has(id, Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN);
        }
    }

    /**
     * Builds the tokenizer described by a GGUF file's {@code tokenizer.ggml.*} metadata. Only metadata is
     * read, so vocabulary-only files (no tensors) work.
     *
     * @throws IllegalArgumentException when the tokenizer metadata is missing, malformed, or names an
     *                                  unsupported model or pre-tokenizer (the message names it)
     */
    public static Tokenizer fromGguf(GgufFile gguf) {
        Objects.requireNonNull(gguf, "gguf");
        return new Tokenizer(new Builder(gguf));
    }

    // ---------------------------------------------------------------- encoding

    /**
     * Encodes with the model's own defaults ({@code tokenizer.ggml.add_bos_token} / {@code add_eos_token},
     * for BERT also the trailing separator), treating special-token text as plain text.
     */
    public int[] encode(String text) {
        return encode(text, addBos, addEos || addSep, false);
    }

    /**
     * Encodes {@code text}, adding BOS in front when {@code addBos}, never EOS.
     *
     * @param parseSpecial when true, text such as {@code <|im_end|>} becomes that control token
     */
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        return encode(text, addBos, false, parseSpecial);
    }

    /**
     * Encodes {@code text}; {@code addEos} appends EOS (for BERT vocabularies: the separator token).
     *
     * @throws IllegalStateException when BOS or EOS is asked for and the vocabulary has none
     */
    public int[] encode(String text, boolean addBos, boolean addEos, boolean parseSpecial) {
        Objects.requireNonNull(text, "text");
        IntList out = new IntList(text.length() / 3 + 4);
        if (addBos) out.add(require(bos, "BOS"));
        boolean atStart = true;
        for (SpecialTokenSplitter.Fragment f : splitter.split(text, parseSpecial)) {
            if (f.isText()) {
                encoder.encode(text.substring(f.start(), f.end()), atStart, out);
                atStart = false;
            } else {
                out.add(f.token());
                atStart = true;
            }
        }
        if (addEos) out.add(encoder instanceof WordPieceEncoder ? require(sep, "separator") : require(eos, "EOS"));
        return out.toArray();
    }

    private int require(int id, String what) {
        if (id == NO_TOKEN) throw new IllegalStateException("the vocabulary has no " + what + " token");
        return id;
    }

    // ---------------------------------------------------------------- decoding

    /** Decodes a whole sequence; control tokens (BOS, EOS, chat markers) render as nothing. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * Decodes a whole sequence as text that starts here: with a SentencePiece vocabulary the space the
     * encoder prefixed is removed from the first piece and from the piece after a BOS.
     *
     * @param renderSpecial when true, control tokens render as their text (e.g. {@code <s>})
     */
    public String decode(int[] ids, boolean renderSpecial) {
        TokenDecoder d = new TokenDecoder(this, renderSpecial, true);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(d.accept(id));
        return sb.append(d.flush()).toString();
    }

    /** A streaming decoder for text that starts with the next token (see {@link #decode(int[], boolean)}). */
    public TokenDecoder newDecoder() {
        return new TokenDecoder(this, false, true);
    }

    /**
     * A streaming decoder continuing after {@code previousToken}, e.g. the last prompt token when streaming
     * generated text: the next piece keeps its leading space unless {@code previousToken} is BOS.
     */
    public TokenDecoder newDecoderAfter(int previousToken) {
        return new TokenDecoder(this, false, previousToken == bos && bos != NO_TOKEN);
    }

    /** A streaming decoder with a choice of rendering control tokens. */
    public TokenDecoder newDecoder(boolean renderSpecial) {
        return new TokenDecoder(this, renderSpecial, true);
    }

    // ---------------------------------------------------------------- vocabulary

    public int vocabSize() { return vocab.size(); }

    /** {@code tokenizer.ggml.model}: "llama", "gpt2" or "bert". */
    public String model() { return model; }

    /** The pre-tokenizer in use for byte-level BPE ("default" when the file names none), else "". */
    public String preTokenizer() { return preTokenizer; }

    public int bosId() { return bos; }

    public int eosId() { return eos; }

    /** End-of-turn token (e.g. {@code <|eot_id|>}, {@code <|im_end|>}), or {@link #NO_TOKEN}. */
    public int eotId() { return eot; }

    /** End-of-message token ({@code <|eom_id|>}), or {@link #NO_TOKEN}. */
    public int eomId() { return eom; }

    public int unknownId() { return unk; }

    public int separatorId() { return sep; }

    public int paddingId() { return pad; }

    /** Whether the model wants BOS in front of a prompt ({@code tokenizer.ggml.add_bos_token}). */
    public boolean addBosByDefault() { return addBos; }

    /** Whether the model wants EOS after a prompt ({@code tokenizer.ggml.add_eos_token}). */
    public boolean addEosByDefault() { return addEos; }

    /** Whether SentencePiece text gets a leading space ({@code tokenizer.ggml.add_space_prefix}). */
    public boolean addsSpacePrefix() { return addSpacePrefix; }

    /** True for tokens that end generation: EOS, EOT, EOM and the model's other end markers. */
    public boolean isEndOfGeneration(int id) {
        return id >= 0 && id < endOfGeneration.length && endOfGeneration[id];
    }

    /** All end-of-generation ids, ascending. */
    public int[] endOfGenerationIds() {
        int count = 0;
        for (boolean b : endOfGeneration) if (b) count++;
        int[] ids = new int[count];
        for (int id = 0, k = 0; id < endOfGeneration.length; id++) if (endOfGeneration[id]) ids[k++] = id;
        return ids;
    }

    public TokenType tokenType(int id) { return vocab.type(check(id)); }

    /** The vocabulary entry as stored, e.g. {@code ▁Hello}, {@code Ġworld} or {@code <0x0A>}. */
    public String tokenText(int id) { return vocab.text(check(id)); }

    /** The id whose stored text is exactly {@code text}, or {@link #NO_TOKEN}. */
    public int tokenId(String text) { return vocab.id(text); }

    /** The bytes the token stands for in text; control tokens give their own text. */
    public byte[] tokenBytes(int id) { return pieceBytes[check(id)].clone(); }

    /**
     * The token's text for display: its bytes as UTF-8, with bytes that do not form whole characters
     * (one piece of a multi-byte character) shown as {@code <0xXX>}.
     */
    public String tokenPiece(int id) {
        byte[] bytes = pieceBytes[check(id)];
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder sb = new StringBuilder();
            for (byte b : bytes) {
                if (b >= 0x20 && b < 0x7F) sb.append((char) b);
                else sb.append(String.format("<0x%02X>", b & 0xFF));
            }
            return sb.toString();
        }
    }

    int check(int id) {
        if (id < 0 || id >= vocab.size()) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary (size " + vocab.size() + ")");
        }
        return id;
    }

    /** The token's bytes without copying; callers must not modify the array. */
    byte[] bytesOf(int id) { return pieceBytes[id]; }

    boolean isHiddenUnlessSpecial(int id) { return hiddenUnlessSpecial[id]; }

    private byte[] render(int id) {
        String text = vocab.text(id);
        if (vocab.has(id, Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN | Vocabulary.ATTR_USER_DEFINED)) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        if (vocab.has(id, Vocabulary.ATTR_NORMAL)) {
            if (encoder instanceof BytePairEncoder) return byteLevelDecode(text);
            return text.replace(SentencePieceEncoder.SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
        }
        if (vocab.has(id, Vocabulary.ATTR_BYTE)) {
            if (text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")) {
                try {
                    return new byte[] {(byte) Integer.parseInt(text.substring(3, 5), 16)};
                } catch (NumberFormatException e) {
                    // not a byte token after all: fall through to its text
                }
            }
            return text.getBytes(StandardCharsets.UTF_8);
        }
        return new byte[0]; // UNDEFINED and UNUSED tokens render as nothing, as in llama.cpp
    }

    /** Byte-level BPE text back to bytes; a character outside GPT-2's map is kept as its UTF-8. */
    private static byte[] byteLevelDecode(String text) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            int b = ByteLevel.decode(cp);
            if (b >= 0) out.write(b);
            else out.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    @Override
    public String toString() {
        return "Tokenizer[" + model + (preTokenizer.isEmpty() ? "" : "/" + preTokenizer) + ", " + vocab.size()
                + " tokens, bos=" + bos + ", eos=" + eos + "]";
    }

    // ---------------------------------------------------------------- loading

    /** Reads the metadata in the order llama.cpp does; the constructor then freezes the result. */
    private static final class Builder {
        final GgufFile gguf;
        final String source;
        final String model;
        final Vocabulary vocab;
        String pre = "";
        Encoder encoder;
        int bos, eos, eot = NO_TOKEN, eom = NO_TOKEN, unk, sep, pad;
        boolean addBos, addEos, addSep, addSpacePrefix;
        final Set<Integer> eog = new TreeSet<>();

        Builder(GgufFile gguf) {
            this.gguf = gguf;
            this.source = gguf.path() != null ? String.valueOf(gguf.path().getFileName()) : "GGUF";
            if (!gguf.has("tokenizer.ggml.model")) {
                throw new IllegalArgumentException(source + " has no tokenizer (metadata key 'tokenizer.ggml.model' is missing)");
            }
            this.model = gguf.getString("tokenizer.ggml.model");
            boolean ignoreMerges = false;
            PreTokenizer preTokenizer = null;
            switch (model) {
                case "llama" -> {
                    bos = 1; eos = 2; unk = 0; sep = NO_TOKEN; pad = NO_TOKEN;
                    addSpacePrefix = true; addBos = true;
                }
                case "bert" -> {
                    bos = 101; eos = NO_TOKEN; unk = 100; sep = 102; pad = 0;
                    addBos = true; addSep = true;
                }
                case "gpt2" -> {
                    if (!gguf.has("tokenizer.ggml.merges")) {
                        throw new IllegalArgumentException(source + ": byte-level BPE vocabulary without 'tokenizer.ggml.merges'");
                    }
                    bos = 11; eos = 11; unk = NO_TOKEN; sep = NO_TOKEN; pad = NO_TOKEN;
                    String name = gguf.getString("tokenizer.ggml.pre", "");
                    preTokenizer = PreTokenizer.forName(name);
                    pre = preTokenizer.name();
                    ignoreMerges = PreTokenizer.ignoresMerges(pre);
                    addBos = PreTokenizer.addsBosByDefault(pre);
                    if (pre.equals("glm4") || pre.equals("chatglm-bpe")) bos = NO_TOKEN;
                }
                default -> throw new IllegalArgumentException("unsupported tokenizer model '" + model
                        + "' (tokenizer.ggml.model in " + source + "); supported: llama, gpt2, bert");
            }
            addSpacePrefix = gguf.getBoolean("tokenizer.ggml.add_space_prefix", addSpacePrefix);
            this.vocab = Vocabulary.load(gguf);

            bos = specialId("tokenizer.ggml.bos_token_id", bos);
            eos = specialId("tokenizer.ggml.eos_token_id", eos);
            eot = specialId("tokenizer.ggml.eot_token_id", eot);
            eom = specialId("tokenizer.ggml.eom_token_id", eom);
            unk = specialId("tokenizer.ggml.unknown_token_id", unk);
            sep = specialId("tokenizer.ggml.seperator_token_id", sep);
            pad = specialId("tokenizer.ggml.padding_token_id", pad);
            int fimPad = specialId("tokenizer.ggml.fim_pad_token_id", NO_TOKEN);
            int fimRep = specialId("tokenizer.ggml.fim_rep_token_id", NO_TOKEN);
            int fimSep = specialId("tokenizer.ggml.fim_sep_token_id", NO_TOKEN);

            addBos = gguf.getBoolean("tokenizer.ggml.add_bos_token", addBos);
            addEos = gguf.getBoolean("tokenizer.ggml.add_eos_token", addEos);
            addSep = gguf.getBoolean("tokenizer.ggml.add_sep_token", addSep);
            if (addBos && bos == NO_TOKEN) throw new IllegalArgumentException(source + ": add_bos_token is true but there is no BOS token");
            if (addEos && eos == NO_TOKEN) throw new IllegalArgumentException(source + ": add_eos_token is true but there is no EOS token");
            if (addSep && sep == NO_TOKEN) throw new IllegalArgumentException(source + ": add_sep_token is true but there is no separator token");

            // Models often leave these ids out of the metadata; llama.cpp recognises them by their text and
            // makes sure they are control tokens.
            if (eot == NO_TOKEN) eot = findControl(EOT_TEXTS);
            if (eom == NO_TOKEN) eom = findControl(List.of("<|eom_id|>"));
            if (fimPad == NO_TOKEN) fimPad = findControl(FIM_PAD_TEXTS);
            if (fimRep == NO_TOKEN) fimRep = findControl(FIM_REP_TEXTS);
            if (fimSep == NO_TOKEN) fimSep = findControl(FIM_SEP_TEXTS);
            for (int id : new int[] {fimPad, fimRep, fimSep}) if (id != NO_TOKEN) eog.add(id);
            for (String text : EOG_TEXTS) {
                int id = vocab.id(text);
                if (id >= 0) {
                    eog.add(id);
                    vocab.addAttr(id, Vocabulary.ATTR_CONTROL);
                }
            }
            for (String text : List.of("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>")) {
                int id = vocab.id(text); // gpt-oss: always rendered
                if (id >= 0) replaceAttrs(id, Vocabulary.ATTR_USER_DEFINED);
            }
            for (int id : new int[] {eos, eot, eom}) if (id != NO_TOKEN) eog.add(id);
            dropEndIfHarmony();
            dropSlashSIfToolResponse();
            applyStripAttributes();

            this.encoder = switch (model) {
                case "llama" -> new SentencePieceEncoder(vocab, addSpacePrefix, unk);
                case "gpt2" -> new BytePairEncoder(vocab, gguf.getArray("tokenizer.ggml.merges"), preTokenizer, ignoreMerges);
                default -> {
                    boolean lowercase = gguf.getBoolean("tokenizer.ggml.normalizer.lowercase", true);
                    boolean stripAccents = gguf.getBoolean("tokenizer.ggml.normalizer.strip_accents", lowercase);
                    yield new WordPieceEncoder(vocab, unk, lowercase, stripAccents);
                }
            };
        }

        /** An id from metadata when present and inside the vocabulary, else the default (if inside). */
        private int specialId(String key, int orElse) {
            int fallback = vocab.contains(orElse) ? orElse : NO_TOKEN;
            return gguf.get(key).map(v -> {
                long id = v.asLong();
                return id >= 0 && id < vocab.size() ? (int) id : fallback;
            }).orElse(fallback);
        }

        /** The lowest id whose text is one of {@code texts}, made a control token; or NO_TOKEN. */
        private int findControl(List<String> texts) {
            int best = NO_TOKEN;
            for (String t : texts) {
                int id = vocab.id(t);
                if (id >= 0 && (best == NO_TOKEN || id < best)) best = id;
            }
            if (best != NO_TOKEN) vocab.addAttr(best, Vocabulary.ATTR_CONTROL);
            return best;
        }

        private void replaceAttrs(int id, int attr) {
            vocab.removeAttr(id, vocab.attrs(id));
            vocab.addAttr(id, attr);
        }

        /** o200k-harmony and solar-open use {@code <|end|>} inside a turn, so it must not stop generation. */
        private void dropEndIfHarmony() {
            boolean hasReturn = false, hasCall = false, hasFlush = false;
            int end = NO_TOKEN;
            for (int id : eog) {
                switch (vocab.text(id)) {
                    case "<|return|>" -> hasReturn = true;
                    case "<|call|>", "<|calls|>" -> hasCall = true;
                    case "<|flush|>" -> hasFlush = true;
                    case "<|end|>" -> end = id;
                    default -> { }
                }
            }
            if (end != NO_TOKEN && hasCall && (hasReturn || hasFlush)) {
                eog.remove(end);
                replaceAttrs(end, Vocabulary.ATTR_USER_DEFINED);
            }
        }

        /** Gemma 4 uses {@code </s>} as text when it also has {@code <|tool_response>}. */
        private void dropSlashSIfToolResponse() {
            int s = vocab.id("</s>");
            if (s >= 0 && eog.contains(s) && vocab.id("<|tool_response>") >= 0 && eog.contains(vocab.id("<|tool_response>"))) {
                eog.remove(s);
                replaceAttrs(s, Vocabulary.ATTR_NORMAL);
            }
        }

        /**
         * llama.cpp's per-model strip attributes (not stored in GGUF): Phi-3's special tokens swallow the
         * whitespace after them, and some BERT-likes' mask token the whitespace before it.
         */
        private void applyStripAttributes() {
            String name = gguf.getString("general.name", "").toLowerCase(java.util.Locale.ROOT);
            String arch = gguf.getString("general.architecture", "");
            if (pre.contains("jina-v2-de") || pre.contains("jina-v2-es") || pre.contains("jina-v2-code")
                    || arch.contains("nomic-bert-moe") || arch.contains("jina-bert-v3")) {
                int mask = vocab.id("<mask>");
                if (mask >= 0) vocab.addAttr(mask, Vocabulary.ATTR_LSTRIP);
            } else if (name.contains("phi-3") || name.contains("phi3")) {
                int special = Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED | Vocabulary.ATTR_UNKNOWN;
                for (int id = 0; id < vocab.size(); id++) if (vocab.has(id, special)) vocab.addAttr(id, Vocabulary.ATTR_RSTRIP);
                int s = vocab.id("</s>");
                if (s >= 0) vocab.addAttr(s, Vocabulary.ATTR_RSTRIP);
                for (String t : new String[] {"<unk>", "<s>", "<|endoftext|>"}) {
                    int id = vocab.id(t);
                    if (id >= 0) vocab.removeAttr(id, Vocabulary.ATTR_RSTRIP);
                }
            } else if (name.contains("modern-bert")) {
                int mask = vocab.id("[MASK]");
                if (mask >= 0) vocab.addAttr(mask, Vocabulary.ATTR_LSTRIP);
            }
        }
    }
}
