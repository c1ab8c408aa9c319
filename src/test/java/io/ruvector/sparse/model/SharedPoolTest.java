package io.ruvector.sparse.model;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sessions of a model share its one pool of threads, concurrently and with the results of a lone session. */
class SharedPoolTest {

    private static final String STORIES = "models/stories260K.gguf";
    private static final int[] PROMPT = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421};

    /** The prompt, then {@code steps} greedy tokens. */
    static int[] greedy(Session s, int[] prompt, int steps) {
        int[] out = new int[steps];
        int next = s.evaluate(prompt).argmax();
        for (int i = 0; i < steps; i++) {
            out[i] = next;
            next = s.evaluate(next).argmax();
        }
        return out;
    }

    private static long workerThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("sparse-infer-worker-")).count();
    }

    @Test
    void fourConcurrentSessionsGiveTheTokensOfOneAndStartNoThreadsOfTheirOwn() throws Exception {
        Path path = Fixtures.require(STORIES);
        int steps = 48;
        int[] alone;
        try (LanguageModel m = LanguageModel.open(path, ModelOptions.defaults().withThreads(1));
             Session s = m.newSession()) {
            alone = greedy(s, PROMPT, steps);
        }
        for (int threads : new int[] {2, 3}) {
            try (LanguageModel m = LanguageModel.open(path, ModelOptions.defaults().withThreads(threads).withBatchSize(4))) {
                long before = workerThreads();
                ExecutorService ex = Executors.newFixedThreadPool(4);
                List<Session> sessions = new ArrayList<>();
                try {
                    for (int i = 0; i < 4; i++) sessions.add(m.newSession());
                    assertEquals(threads - 1, workerThreads() - before, "one pool for the model, not one per session");
                    CountDownLatch start = new CountDownLatch(1);
                    List<Future<int[]>> futures = new ArrayList<>();
                    for (Session s : sessions) {
                        futures.add(ex.submit(() -> {
                            start.await();
                            return greedy(s, PROMPT, steps);
                        }));
                    }
                    start.countDown();
                    for (int i = 0; i < futures.size(); i++) {
                        assertArrayEquals(alone, futures.get(i).get(), threads + " threads, session " + i);
                    }
                } finally {
                    ex.shutdownNow();
                    for (Session s : sessions) s.close();
                }
                assertFalse(m.pool().isClosed(), "closing sessions leaves the model's pool");
            }
        }
    }

    @Test
    void closingTheModelStopsItsPoolAndASessionThatFailsToOpenLeavesNothingBehind() throws Exception {
        Path path = Fixtures.require(STORIES);
        LanguageModel m = LanguageModel.open(path, ModelOptions.defaults().withThreads(2));
        try (Session s = m.newSession()) {
            s.evaluate(1, 403);
        }
        var pool = m.pool();
        long before = workerThreads();
        LanguageModel huge = LanguageModel.open(path, ModelOptions.defaults().withThreads(2).withContextLength(Integer.MAX_VALUE / 2));
        assertThrows(RuntimeException.class, huge::newSession, "a context too large to allocate");
        huge.close();
        assertTrue(workerThreads() <= before, "the failed session started no threads");
        m.close();
        assertTrue(pool.isClosed());
        assertThrows(IllegalStateException.class, () -> pool.forRange(10, (a, b) -> {}));
    }
}
