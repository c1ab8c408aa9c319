package io.ruvector.sparse.generation;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.sampling.SamplerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The batcher on the real engine (stories260K): every request, run with others at once, gives what {@link Generator}
 * gives alone on a fresh session; cancellation frees a slot; a full queue rejects; close cancels everything.
 */
class ContinuousBatcherTest {

    private static final long TIMEOUT_S = 60;
    private static LanguageModel model;

    @BeforeAll
    static void open() throws Exception {
        model = LanguageModel.open(Fixtures.require("models/stories260K.gguf"),
                ModelOptions.defaults().withThreads(2).withContextLength(96));
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    /** One request of the mix: prompt, options, and an optional number of tokens after which it cancels itself. */
    private record Case(String prompt, GenerationOptions options, int cancelAfter) {}

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        String[] prompts = {"Once upon a time", "Lily went to the park", "The cat", "One day, a little boy named Tom",
                "She", "The sun was shining and the birds"};
        for (int i = 0; i < prompts.length; i++) {
            cases.add(new Case(prompts[i], GenerationOptions.of(SamplerConfig.greedy(), 20 + 7 * i), 0));
            cases.add(new Case(prompts[i], GenerationOptions.of(SamplerConfig.defaults(100 + i), 30), 0));
        }
        cases.add(new Case("Once upon a time", GenerationOptions.of(SamplerConfig.defaults(7), 60).withStopStrings("."), 0));
        cases.add(new Case("Lily", GenerationOptions.of(SamplerConfig.greedy(), GenerationOptions.UNLIMITED), 0)); // context full
        cases.add(new Case("The dog", GenerationOptions.of(SamplerConfig.defaults(3), 50), 5));
        return cases;
    }

    /** A listener that records the streamed text and cancels its request after {@code cancelAfter} tokens (0: never). */
    private static final class Recorder implements TokenListener {
        final StringBuilder text = new StringBuilder();
        final Cancellation cancellation = new Cancellation();
        final int cancelAfter;
        int tokens;

        Recorder(int cancelAfter) { this.cancelAfter = cancelAfter; }

        @Override
        public void onToken(int token, String piece) {
            text.append(piece);
            if (++tokens == cancelAfter) cancellation.cancel();
        }
    }

    private static GenerationResult alone(Case c) {
        try (Session session = model.newSession()) {
            Recorder rec = new Recorder(c.cancelAfter);
            GenerationResult r = Generator.of(session).generate(c.prompt, c.options, rec, rec.cancellation);
            assertEquals(r.text(), rec.text.toString());
            return r;
        }
    }

    private static void assertSameGeneration(GenerationResult expected, GenerationResult actual, String what) {
        assertArrayEquals(expected.tokens(), actual.tokens(), what + ": tokens");
        assertEquals(expected.text(), actual.text(), what + ": text");
        assertEquals(expected.stopReason(), actual.stopReason(), what + ": stop reason");
        assertEquals(expected.promptTokens(), actual.promptTokens(), what + ": prompt tokens");
    }

    @Test
    void everyConcurrentRequestGetsWhatGeneratorGivesAlone() throws Exception {
        List<Case> cases = cases();
        for (int slots : new int[]{1, 3, 8}) {
            try (ContinuousBatcher batcher = new ContinuousBatcher(model, slots, cases.size())) {
                List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
                List<Recorder> recorders = new ArrayList<>();
                for (Case c : cases) {
                    Recorder rec = new Recorder(c.cancelAfter);
                    recorders.add(rec);
                    futures.add(batcher.submit(c.prompt, c.options, rec, rec.cancellation));
                }
                long promptTokens = 0;
                long generated = 0;
                for (int i = 0; i < cases.size(); i++) {
                    GenerationResult r = futures.get(i).get(TIMEOUT_S, TimeUnit.SECONDS);
                    String what = slots + " slots, case " + i + " " + cases.get(i);
                    assertSameGeneration(alone(cases.get(i)), r, what);
                    assertEquals(r.text(), recorders.get(i).text.toString(), what + ": streamed text");
                    promptTokens += r.promptTokens();
                    generated += r.generatedTokens();
                }
                ContinuousBatcher.Stats stats = batcher.stats();
                assertEquals(new ContinuousBatcher.Stats(0, 0, cases.size(), promptTokens, generated), stats);
            }
        }
    }

    @Test
    void theKindsOfEndAllOccurInTheMix() {
        List<StopReason> seen = new ArrayList<>();
        for (Case c : cases()) seen.add(alone(c).stopReason());
        for (StopReason r : List.of(StopReason.MAX_TOKENS, StopReason.STOP_STRING, StopReason.CONTEXT_FULL, StopReason.CANCELLED)) {
            assertTrue(seen.contains(r), "no case ends with " + r + ": " + seen);
        }
    }

    @Test
    void aFullQueueRejectsAndACancelledRequestFreesItsSlot() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        TokenListener blocking = (token, text) -> {
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        GenerationOptions forever = GenerationOptions.of(SamplerConfig.greedy(), GenerationOptions.UNLIMITED);
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, 1, 1)) {
            Cancellation first = new Cancellation();
            CompletableFuture<GenerationResult> running = batcher.submit("Once", forever, blocking, first);
            assertTrue(started.await(TIMEOUT_S, TimeUnit.SECONDS));
            CompletableFuture<GenerationResult> queued = batcher.submit("Lily", GenerationOptions.of(SamplerConfig.greedy(), 5),
                    TokenListener.NONE, new Cancellation());
            assertEquals(1, batcher.stats().activeSlots());
            assertEquals(1, batcher.stats().queuedRequests());

            CompletableFuture<GenerationResult> rejected = batcher.submit("The", forever, TokenListener.NONE, new Cancellation());
            ExecutionException e = assertThrows(ExecutionException.class, () -> rejected.get(TIMEOUT_S, TimeUnit.SECONDS));
            assertInstanceOf(RejectedExecutionException.class, e.getCause());

            first.cancel();
            release.countDown();
            GenerationResult cancelled = running.get(TIMEOUT_S, TimeUnit.SECONDS);
            assertEquals(StopReason.CANCELLED, cancelled.stopReason());
            // the slot went to the queued request, which runs to its end as if alone
            assertSameGeneration(alone(new Case("Lily", GenerationOptions.of(SamplerConfig.greedy(), 5), 0)),
                    queued.get(TIMEOUT_S, TimeUnit.SECONDS), "queued request");
            ContinuousBatcher.Stats stats = batcher.stats();
            assertEquals(0, stats.activeSlots());
            assertEquals(2, stats.requestsCompleted());
        }
    }

    @Test
    void cancellingTheFutureFreesTheSlot() throws Exception {
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, 1, 0)) {
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<GenerationResult> running = batcher.submit("Once",
                    GenerationOptions.of(SamplerConfig.greedy(), GenerationOptions.UNLIMITED), (t, s) -> started.countDown(), new Cancellation());
            assertTrue(started.await(TIMEOUT_S, TimeUnit.SECONDS));
            running.cancel(true);
            // the slot is free within a step: a new request gets it and completes
            GenerationResult next = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
            while (next == null && System.nanoTime() < deadline) {
                CompletableFuture<GenerationResult> f = batcher.submit("Lily", GenerationOptions.of(SamplerConfig.greedy(), 3),
                        TokenListener.NONE, new Cancellation());
                try {
                    next = f.get(TIMEOUT_S, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    assertInstanceOf(RejectedExecutionException.class, e.getCause());
                    Thread.sleep(1);
                }
            }
            assertEquals(StopReason.MAX_TOKENS, next.stopReason());
        }
    }

    @Test
    void closeCancelsRunningAndQueuedRequestsAndLaterSubmitsThrow() throws Exception {
        ContinuousBatcher batcher = new ContinuousBatcher(model, 2, 4);
        CountDownLatch started = new CountDownLatch(2);
        GenerationOptions forever = GenerationOptions.of(SamplerConfig.greedy(), GenerationOptions.UNLIMITED);
        List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            // a slow listener keeps the two running requests from reaching the end of the context before close
            futures.add(batcher.submit("Once", forever, (t, s) -> {
                started.countDown();
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, new Cancellation()));
        }
        assertTrue(started.await(TIMEOUT_S, TimeUnit.SECONDS));
        batcher.close();
        for (CompletableFuture<GenerationResult> f : futures) {
            assertTrue(f.isDone(), "close left a request unfinished");
            assertEquals(StopReason.CANCELLED, f.get().stopReason());
        }
        assertEquals(0, futures.get(4).get().generatedTokens(), "a queued request never started");
        assertThrows(IllegalStateException.class, () -> batcher.submit("Once", forever, TokenListener.NONE, new Cancellation()));
        assertThrows(IllegalStateException.class,
                () -> batcher.submit(new int[]{1}, forever, TokenListener.NONE, new Cancellation()));
        batcher.close();   // idempotent
    }

    @Test
    void badPromptsAreRefusedAtOnceNamingTheProblem() {
        try (ContinuousBatcher batcher = new ContinuousBatcher(model, 1, 1)) {
            GenerationOptions o = GenerationOptions.of(SamplerConfig.greedy(), 4);
            IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                    () -> batcher.submit(new int[0], o, TokenListener.NONE, new Cancellation()));
            assertTrue(empty.getMessage().contains("no tokens"), empty.getMessage());
            IllegalArgumentException outside = assertThrows(IllegalArgumentException.class,
                    () -> batcher.submit(new int[]{1, 1_000_000}, o, TokenListener.NONE, new Cancellation()));
            assertTrue(outside.getMessage().contains("vocabulary"), outside.getMessage());
            IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                    () -> batcher.submit(new int[97], o, TokenListener.NONE, new Cancellation()));
            assertTrue(tooLong.getMessage().contains("does not fit"), tooLong.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new ContinuousBatcher(model, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new ContinuousBatcher(model, 1, -1));
    }
}
