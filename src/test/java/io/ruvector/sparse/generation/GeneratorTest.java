package io.ruvector.sparse.generation;

import io.ruvector.sparse.sampling.SamplerConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GeneratorTest {

    /** Tokens 2.. are the words below: "Once"=2, " upon"=3, " a"=4, " time"=5, "."=6, ... */
    private static final FakeTokenText WORDS = FakeTokenText.of("Once", " upon", " a", " time", ".", "x", "y", "z", "Hel", "lo", " Wor", "ld");

    private static GenerationOptions greedy(int max) {
        return GenerationOptions.of(SamplerConfig.greedy(), max);
    }

    /** Collects every callback. */
    private static final class Recorder implements TokenListener {
        final List<Integer> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final List<String> pieces = new ArrayList<>();

        @Override
        public void onToken(int token, String piece) {
            tokens.add(token);
            pieces.add(piece);
            text.append(piece);
        }
    }

    @Test
    void greedyReplaysTheScriptAndStreamsEveryToken() {
        FakeModel m = new FakeModel(WORDS.pieces.length, 64, 2, 3, 4, 5, 6, 7);
        Recorder rec = new Recorder();
        GenerationResult r = new Generator(m, WORDS).generate(new int[]{FakeTokenText.BOS}, greedy(4), rec, new Cancellation());
        assertArrayEquals(new int[]{2, 3, 4, 5}, r.tokens());
        assertEquals("Once upon a time", r.text());
        assertEquals(StopReason.MAX_TOKENS, r.stopReason());
        assertEquals(List.of(2, 3, 4, 5), rec.tokens);
        assertEquals(List.of("Once", " upon", " a", " time"), rec.pieces);
        assertEquals(1, r.promptTokens());
        // The session keeps the prompt and all generated tokens but the last, which was never fed back.
        assertEquals(List.of(0, 2, 3, 4), m.held);
        assertTrue(r.generationTokensPerSecond() > 0 && r.promptTokensPerSecond() > 0);
    }

    @Test
    void textPromptGetsBosOnlyOnAnEmptySession() {
        FakeModel m = new FakeModel(WORDS.pieces.length, 64, 3, 4, 5, 6, 6, 6, 6, 6);
        Generator g = new Generator(m, WORDS);
        g.generate("Once", greedy(1));
        assertArrayEquals(new int[]{FakeTokenText.BOS, 2}, m.calls.getFirst());
        g.generate(" upon", greedy(1));
        assertArrayEquals(new int[]{3}, m.calls.getLast());
    }

    @Test
    void endOfGenerationStopsAndAddsNoText() {
        FakeModel m = new FakeModel(WORDS.pieces.length, 64, 2, 6, FakeTokenText.EOS, 3);
        Recorder rec = new Recorder();
        GenerationResult r = new Generator(m, WORDS).generate(new int[]{0}, greedy(100), rec, new Cancellation());
        assertEquals(StopReason.END_OF_GENERATION, r.stopReason());
        assertArrayEquals(new int[]{2, 6, FakeTokenText.EOS}, r.tokens());
        assertEquals("Once.", r.text());
        assertEquals("", rec.pieces.getLast());
    }

    @Test
    void stopStringSpanningTokensIsHeldBackAndCut() {
        // "Hel" "lo" " Wor" "ld": stop at "o W" -> "Hell"
        FakeModel m = new FakeModel(WORDS.pieces.length, 64, 10, 11, 12, 13, 2);
        Recorder rec = new Recorder();
        GenerationResult r = new Generator(m, WORDS).generate(new int[]{0}, greedy(100).withStopStrings("o W", "zzz"),
                rec, new Cancellation());
        assertEquals(StopReason.STOP_STRING, r.stopReason());
        assertEquals("Hell", r.text());
        assertEquals("Hell", rec.text.toString());
        assertEquals(List.of("Hel", "l", ""), rec.pieces, "the 'o' is held back as a possible start of 'o W'");
        assertArrayEquals(new int[]{10, 11, 12}, r.tokens());
    }

    @Test
    void heldBackTextIsDeliveredWhenTheGenerationEndsOtherwise() {
        FakeModel m = new FakeModel(WORDS.pieces.length, 64, 2, 7, 8);
        Recorder rec = new Recorder();
        GenerationResult r = new Generator(m, WORDS).generate(new int[]{0}, greedy(3).withStopStrings("xyz"), rec, new Cancellation());
        assertEquals(StopReason.MAX_TOKENS, r.stopReason());
        assertEquals("Oncexy", r.text());
        assertEquals(List.of("Once", "", "xy"), rec.pieces);
    }

    @Test
    void multiByteCharactersAreStreamedWhole() {
        byte[] e1 = {(byte) 0xC3};
        byte[] e2 = {(byte) 0xA9};
        FakeTokenText bytes = new FakeTokenText(new byte[0], new byte[0], e1, e2, "!".getBytes());
        FakeModel m = new FakeModel(5, 64, 2, 3, 4, 2);
        Recorder rec = new Recorder();
        GenerationResult r = new Generator(m, bytes).generate(new int[]{0}, greedy(4), rec, new Cancellation());
        assertEquals(List.of("", "é", "!", "\uFFFD"), rec.pieces, "a dangling lead byte becomes U+FFFD at the end");
        assertEquals("é!\uFFFD", r.text());
    }

    @Test
    void cancellingFromTheListenerStopsAfterThatToken() {
        FakeModel m = new FakeModel(WORDS.pieces.length, 64, 2, 3, 4, 5, 6, 7);
        Cancellation c = new Cancellation();
        Recorder rec = new Recorder();
        GenerationResult r = new Generator(m, WORDS).generate(new int[]{0}, greedy(100), (t, s) -> {
            rec.onToken(t, s);
            if (rec.tokens.size() == 2) c.cancel();
        }, c);
        assertEquals(StopReason.CANCELLED, r.stopReason());
        assertEquals(3, r.generatedTokens(), "the token being chosen when cancel() came is still delivered");
        assertEquals("Once upon a", r.text());
    }

    @Test
    void cancellingFromAnotherThreadStopsWithinAToken() throws Exception {
        FakeModel m = new FakeModel(WORDS.pieces.length, 100_000);
        m.delayMillis = 2;
        Cancellation c = new Cancellation();
        Generator g = new Generator(m, WORDS);
        CompletableFuture<GenerationResult> f = CompletableFuture.supplyAsync(() ->
                g.generate(new int[]{0}, GenerationOptions.of(SamplerConfig.defaults(1), GenerationOptions.UNLIMITED), TokenListener.NONE, c));
        Thread.sleep(50);
        c.cancel();
        GenerationResult r = f.get(10, TimeUnit.SECONDS);
        assertEquals(StopReason.CANCELLED, r.stopReason());
        assertTrue(r.generatedTokens() > 0 && r.generatedTokens() < 10_000, "tokens: " + r.generatedTokens());
    }

    @Test
    void alreadyCancelledEvaluatesNothing() {
        FakeModel m = new FakeModel(WORDS.pieces.length, 64, 2);
        Cancellation c = new Cancellation();
        c.cancel();
        GenerationResult r = new Generator(m, WORDS).generate(new int[]{0, 2}, greedy(5), TokenListener.NONE, c);
        assertEquals(StopReason.CANCELLED, r.stopReason());
        assertEquals(0, r.generatedTokens());
        assertTrue(m.calls.isEmpty());
    }

    @Test
    void stopsWhenTheContextIsFull() {
        FakeModel m = new FakeModel(WORDS.pieces.length, 5, 2, 3, 4, 5, 6, 7, 8);
        GenerationResult r = new Generator(m, WORDS).generate(new int[]{0}, greedy(100), TokenListener.NONE, new Cancellation());
        assertEquals(StopReason.CONTEXT_FULL, r.stopReason());
        assertArrayEquals(new int[]{2, 3, 4, 5, 6}, r.tokens());
        assertEquals(5, m.position());
    }

    @Test
    void longPromptsAreEvaluatedInChunks() {
        FakeModel m = new FakeModel(WORDS.pieces.length, 4096, new int[0]);
        int[] prompt = new int[2 * Generator.PROMPT_CHUNK + 100];
        new Generator(m, WORDS).generate(prompt, greedy(1), TokenListener.NONE, new Cancellation());
        assertEquals(List.of(Generator.PROMPT_CHUNK, Generator.PROMPT_CHUNK, 100), m.calls.stream().map(a -> a.length).toList());
    }

    @Test
    void badPromptsAreRejectedWithTheReason() {
        FakeModel m = new FakeModel(WORDS.pieces.length, 8, 2);
        Generator g = new Generator(m, WORDS);
        Cancellation c = new Cancellation();
        var empty = assertThrows(IllegalArgumentException.class, () -> g.generate(new int[0], greedy(1), TokenListener.NONE, c));
        assertTrue(empty.getMessage().contains("no tokens"), empty.getMessage());
        var outside = assertThrows(IllegalArgumentException.class, () -> g.generate(new int[]{0, 99}, greedy(1), TokenListener.NONE, c));
        assertTrue(outside.getMessage().contains("99"), outside.getMessage());
        var tooLong = assertThrows(IllegalArgumentException.class, () -> g.generate(new int[9], greedy(1), TokenListener.NONE, c));
        assertTrue(tooLong.getMessage().contains("does not fit"), tooLong.getMessage());
        assertThrows(IllegalArgumentException.class, () -> greedy(0));
        assertThrows(IllegalArgumentException.class, () -> greedy(1).withStopStrings(""));
    }

    @Test
    void sameSeedSameTextDifferentSeedDifferentText() {
        int[][] runs = new int[3][];
        long[] seeds = {7, 7, 8};
        for (int i = 0; i < 3; i++) {
            FakeModel m = new FakeModel(WORDS.pieces.length, 256);
            GenerationOptions o = GenerationOptions.of(SamplerConfig.defaults(seeds[i]).withTemperature(1.5f).withTopK(0).withMinP(0f), 40);
            runs[i] = new Generator(m, WORDS).generate(new int[]{0}, o, TokenListener.NONE, new Cancellation()).tokens();
        }
        assertArrayEquals(runs[0], runs[1]);
        assertNotEquals(Arrays.toString(runs[0]), Arrays.toString(runs[2]));
    }
}
