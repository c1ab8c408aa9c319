package io.ruvector.sparse.tokenizer;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizerTest {

    @TempDir
    Path tmp;

    static Tokenizer load(String relative) throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require(relative))) {
            return Tokenizer.fromGguf(f); // also shows the tokenizer outlives the file
        }
    }

    // ------------------------------------------------------------ stories260K goldens (models/README.md)

    @Test
    void stories260KEncodesTheReadmeChecks() throws Exception {
        Tokenizer tok = load("models/stories260K.gguf");
        String readme = Files.readString(Fixtures.require("models/README.md"), StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\"([^\"]+)\" (?:encodes )?to \\[([0-9, ]+)]").matcher(readme);
        int checks = 0;
        while (m.find()) {
            int[] expected = Arrays.stream(m.group(2).split(",\\s*")).mapToInt(Integer::parseInt).toArray();
            assertArrayEquals(expected, tok.encode(m.group(1)), "encode(\"" + m.group(1) + "\")");
            assertEquals(m.group(1), tok.decode(expected));
            checks++;
        }
        assertEquals(2, checks, "README tokenizer checks found");
        assertTrue(tok.addBosByDefault());
        assertEquals(1, tok.bosId());
        assertEquals(2, tok.eosId());
        assertTrue(tok.isEndOfGeneration(2));
        assertFalse(tok.isEndOfGeneration(1));
    }

    @Test
    void stories260KDecodesTheGoldenGeneration() throws Exception {
        Tokenizer tok = load("models/stories260K.gguf");
        String readme = Files.readString(Fixtures.require("models/README.md"), StandardCharsets.UTF_8);
        int[] ids = goldenIds(readme);
        String text = goldenText(readme);
        assertEquals(200, ids.length);

        assertEquals(text, tok.decode(ids));

        // Streamed after BOS, as generation sees it: the same text, piece by piece.
        TokenDecoder stream = tok.newDecoderAfter(tok.bosId());
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(stream.accept(id));
        assertEquals(text, sb.append(stream.flush()).toString());

        // And with BOS in the sequence, BOS renders as nothing and the space after it goes.
        int[] withBos = new int[ids.length + 1];
        withBos[0] = tok.bosId();
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        assertEquals(text, tok.decode(withBos));
        // Rendered, "<s>" takes the place of the stripped space, as in llama.cpp: "<s> Once".
        assertEquals("<s> " + text, tok.decode(withBos, true));
    }

    static int[] goldenIds(String readme) {
        Matcher m = Pattern.compile("Token ids of those 200 steps[^\\n]*\\n([0-9 ]+)").matcher(readme);
        assertTrue(m.find(), "golden ids in models/README.md");
        return Arrays.stream(m.group(1).trim().split(" +")).mapToInt(Integer::parseInt).toArray();
    }

    static String goldenText(String readme) {
        int section = readme.indexOf("## Expected output");
        int open = readme.indexOf("```\n", section) + 4;
        int close = readme.indexOf("\n```", open);
        assertTrue(section >= 0 && open > 3 && close > open, "golden text in models/README.md");
        return readme.substring(open, close);
    }

    // ------------------------------------------------------------ streaming decoder

    @Test
    void streamingDecoderWaitsForWholeCharactersFromByteTokens() throws Exception {
        Tokenizer tok = load("vocab/ggml-vocab-llama-spm.gguf");
        // The llama emoji is not in the Llama 2 vocabulary: it falls back to its four UTF-8 bytes.
        int[] ids = tok.encode("🦙 x", false, false);
        assertEquals(TokenType.BYTE, tok.tokenType(ids[1]));
        assertEquals("<0xF0>", tok.tokenText(ids[1]));
        TokenDecoder d = tok.newDecoder();
        List<String> chunks = new ArrayList<>();
        for (int id : ids) chunks.add(d.accept(id));
        assertFalse(d.hasPending());
        // "▁" then F0 9F A6 99 then "▁x": nothing comes out while the emoji is incomplete.
        assertEquals(List.of("", "", "", "", "🦙", " x"), chunks);
    }

    @Test
    void streamingDecoderSplitsByteLevelPiecesAtCharacterBoundaries() throws Exception {
        Tokenizer tok = load("vocab/ggml-vocab-gpt-2.gguf");
        String text = "日本語のテキスト 🦙🦙 ✅ naïve";
        int[] ids = tok.encode(text, false, false);
        TokenDecoder d = tok.newDecoder();
        StringBuilder sb = new StringBuilder();
        int heldBack = 0;
        for (int id : ids) {
            String chunk = d.accept(id);
            assertFalse(chunk.contains("\uFFFD"), "no broken character in a chunk");
            if (d.hasPending()) heldBack++;
            sb.append(chunk);
        }
        assertTrue(heldBack > 0, "some GPT-2 tokens end inside a character");
        assertEquals(text, sb.append(d.flush()).toString());
    }

    @Test
    void flushReplacesAnIncompleteCharacter() throws Exception {
        Tokenizer tok = load("vocab/ggml-vocab-llama-spm.gguf");
        TokenDecoder d = tok.newDecoderAfter(tok.tokenId("▁a"));
        assertEquals("", d.accept(tok.tokenId("<0xE6>")));
        assertTrue(d.hasPending());
        assertEquals("\uFFFD", d.flush());
        assertEquals(" a", d.accept(tok.tokenId("▁a"))); // not after BOS: the space stays
    }

    @Test
    void tokenPiecesForDisplay() throws Exception {
        Tokenizer tok = load("vocab/ggml-vocab-gpt-2.gguf");
        int the = tok.tokenId("Ġthe");
        assertEquals(" the", tok.tokenPiece(the));
        assertArrayEquals(" the".getBytes(StandardCharsets.UTF_8), tok.tokenBytes(the));
        int lone = tok.tokenId("ãģ"); // bytes E3 81: the start of a 3-byte character
        assertTrue(lone >= 0);
        assertEquals("<0xE3><0x81>", tok.tokenPiece(lone));
        assertEquals("<|endoftext|>", tok.tokenPiece(50256));
        assertThrows(IllegalArgumentException.class, () -> tok.tokenPiece(50257));
        assertThrows(IllegalArgumentException.class, () -> tok.newDecoder().accept(-1));
    }

    // ------------------------------------------------------------ special tokens and defaults

    @Test
    void controlTokensAreParsedOnlyWhenAsked() throws Exception {
        Tokenizer tok = load("vocab/ggml-vocab-starcoder.gguf");
        int fimPrefix = tok.tokenId("<fim_prefix>");
        assertEquals(TokenType.CONTROL, tok.tokenType(fimPrefix));
        int[] parsed = tok.encode("<fim_prefix>def f():", false, true);
        assertEquals(fimPrefix, parsed[0]);
        assertArrayEquals(tok.encode("def f():", false, false), Arrays.copyOfRange(parsed, 1, parsed.length));
        int[] literal = tok.encode("<fim_prefix>def f():", false, false);
        assertFalse(Arrays.stream(literal).anyMatch(id -> id == fimPrefix));
        assertEquals("<fim_prefix>def f():", tok.decode(literal));
        assertEquals("def f():", tok.decode(parsed));
        assertEquals("<fim_prefix>def f():", tok.decode(parsed, true));
    }

    @Test
    void sentencePiecePrefixesASpaceAfterEverySpecialToken() throws Exception {
        Tokenizer tok = load("vocab/ggml-vocab-llama-spm.gguf");
        int[] ids = tok.encode("Hi</s>there", true, true);
        assertArrayEquals(new int[] {1, tok.tokenId("▁Hi"), 2, tok.tokenId("▁there")}, ids);
        assertEquals("Hi there", tok.decode(ids)); // the prefix space after a special token stays
    }

    @Test
    void phi3SpecialTokensSwallowTheWhitespaceAfterThem() throws Exception {
        Tokenizer tok = load("vocab/ggml-vocab-phi-3.gguf");
        int user = tok.tokenId("<|user|>");
        int[] ids = tok.encode("<|user|>\nHello", false, true);
        assertArrayEquals(new int[] {user, tok.tokenId("▁Hello")}, ids);
        assertTrue(tok.isEndOfGeneration(tok.tokenId("<|end|>")));
        assertTrue(tok.isEndOfGeneration(tok.eosId()));
        assertTrue(tok.eotId() != Tokenizer.NO_TOKEN);
    }

    @Test
    void defaultsComeFromTheMetadata() throws Exception {
        Tokenizer deepseek = load("vocab/ggml-vocab-deepseek-coder.gguf");
        assertTrue(deepseek.addBosByDefault());
        assertEquals(32013, deepseek.encode("x")[0]);
        assertEquals("deepseek-coder", deepseek.preTokenizer());
        Tokenizer gpt2 = load("vocab/ggml-vocab-gpt-2.gguf");
        assertFalse(gpt2.addBosByDefault());
        assertArrayEquals(gpt2.encode("Hello world", false, false), gpt2.encode("Hello world"));
        assertTrue(gpt2.isEndOfGeneration(50256));
        assertEquals(50257, gpt2.vocabSize());
        Tokenizer bert = load("vocab/ggml-vocab-bert-bge.gguf");
        int[] ids = bert.encode("hello world");
        assertEquals(101, ids[0]);
        assertEquals(102, ids[ids.length - 1]);
    }

    // ------------------------------------------------------------ synthetic vocabularies (no fixtures needed)

    @Test
    void sentencePieceMergesTheBestScoringPairFirstAndLeftmostOnTies() throws Exception {
        Path p = MiniGguf.sentencePiece(
                List.of("▁", "a", "b", "c", "ab", "bc", "▁a", "abc", "aa"),
                List.of(-10f, -10f, -10f, -10f, -1f, -2f, -5f, -0.5f, -1f)).write(tmp, "spm.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            int base = 3 + 256;
            // ▁ a b c: "ab" (-1) beats "bc" (-2) and "▁a" (-5); then "abc" (-0.5); "▁abc" is no token.
            assertArrayEquals(new int[] {base, base + 7}, tok.encode("abc", false, false));
            // ▁ a a a: the two "aa" candidates tie; the left one wins.
            assertArrayEquals(new int[] {base, base + 8, base + 1}, tok.encode("aaa", false, false));
            // "z" is in no token: its byte token <0x7A>.
            assertArrayEquals(new int[] {base, 3 + 'z'}, tok.encode("z", false, false));
            assertEquals("abc z", tok.decode(tok.encode("abc z", true, false)));
        }
    }

    @Test
    void bytePairMergesByRank() throws Exception {
        List<String> tokens = List.of("a", "b", "c", "ab", "bc", "abc", "Ġ", "Ġa");
        Path p = new MiniGguf().put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.pre", "gpt-2")
                .put("tokenizer.ggml.tokens", tokens)
                .put("tokenizer.ggml.merges", List.of("b c", "a b", "a bc", "Ġ a"))
                .write(tmp, "bpe.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            assertArrayEquals(new int[] {5}, tok.encode("abc", false, false));      // b+c, then a+bc
            assertArrayEquals(new int[] {3, 7}, tok.encode("ab a", false, false));  // "ab" " a"
            assertEquals("ab a", tok.decode(new int[] {3, 7}));
        }
    }

    @Test
    void unknownModelOrPreTokenizerIsNamed() throws Exception {
        Path t5 = new MiniGguf().put("tokenizer.ggml.model", "t5").put("tokenizer.ggml.tokens", List.of("a"))
                .write(tmp, "t5.gguf");
        Path pre = new MiniGguf().put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.pre", "no-such-pre")
                .put("tokenizer.ggml.tokens", List.of("a", "b")).put("tokenizer.ggml.merges", List.of("a b"))
                .write(tmp, "pre.gguf");
        Path none = new MiniGguf().put("general.architecture", "llama").write(tmp, "none.gguf");
        try (GgufFile a = GgufFile.open(t5); GgufFile b = GgufFile.open(pre); GgufFile c = GgufFile.open(none)) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromGguf(a)).getMessage().contains("'t5'"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromGguf(b)).getMessage().contains("'no-such-pre'"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromGguf(c)).getMessage().contains("tokenizer.ggml.model"));
        }
    }

    @Test
    void missingPreTokenizerFallsBackToDefault() throws Exception {
        Path p = new MiniGguf().put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.tokens", List.of("a", "b", "ab"))
                .put("tokenizer.ggml.merges", List.of("a b")).write(tmp, "nopre.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            assertEquals("default", tok.preTokenizer());
            assertArrayEquals(new int[] {2}, tok.encode("ab", false, false));
        }
    }

    @Test
    void outOfRangeSpecialIdsFallBack() throws Exception {
        Path p = MiniGguf.sentencePiece(List.of("▁a"), List.of(-1f))
                .put("tokenizer.ggml.seperator_token_id", 0xFFFFFFFFL) // u32 "none", as in stories260K
                .put("tokenizer.ggml.eos_token_id", 7777L)
                .write(tmp, "ids.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizer.fromGguf(f);
            assertEquals(Tokenizer.NO_TOKEN, tok.separatorId());
            assertEquals(2, tok.eosId());
        }
    }
}
