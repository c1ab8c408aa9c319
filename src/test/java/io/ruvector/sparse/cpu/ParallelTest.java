package io.ruvector.sparse.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelTest {

    @Test
    void everyIndexIsVisitedOnceForAnySizeAndThreadCount() {
        for (int threads = 1; threads <= 4; threads++) {
            try (Parallel pool = new Parallel(threads)) {
                for (int n = 0; n <= 37; n++) {
                    int[] hits = new int[n];
                    pool.forRange(n, (from, to) -> {
                        for (int i = from; i < to; i++) hits[i]++;
                    });
                    int[] ones = new int[n];
                    Arrays.fill(ones, 1);
                    assertArrayEquals(ones, hits, threads + " threads, n = " + n);
                }
            }
        }
    }

    @Test
    void partsAreContiguousAndDeterministic() {
        try (Parallel pool = new Parallel(3)) {
            int n = 3 * Parallel.PARTS_PER_THREAD * 2 + 1;
            int[] owner = new int[n];
            AtomicInteger calls = new AtomicInteger();
            pool.forRange(n, (from, to) -> {
                calls.incrementAndGet();
                for (int i = from; i < to; i++) owner[i] = from;
            });
            int parts = 3 * Parallel.PARTS_PER_THREAD;
            assertEquals(parts, calls.get());
            for (int k = 0; k < parts; k++) {
                for (int i = Parallel.sliceStart(n, parts, k); i < Parallel.sliceStart(n, parts, k + 1); i++) {
                    assertEquals(Parallel.sliceStart(n, parts, k), owner[i], "index " + i);
                }
            }
        }
    }

    @Test
    void longRangesAreCutIntoPartsThatShrinkSoTheLastIsShort() {
        for (int parts : new int[] {2, 8, 24}) {
            for (int n : new int[] {parts * parts, parts * parts + 1, 1000, 2560, 11264, 32000, 1 << 20}) {
                if (n < parts * parts) continue;
                int previous = Integer.MAX_VALUE;
                assertEquals(0, Parallel.sliceStart(n, parts, 0));
                assertEquals(n, Parallel.sliceStart(n, parts, parts));
                for (int k = 0; k < parts; k++) {
                    int size = Parallel.sliceStart(n, parts, k + 1) - Parallel.sliceStart(n, parts, k);
                    assertTrue(size >= 1 && size <= previous, "part " + k + " of " + parts + " over " + n + ": " + size);
                    previous = size;
                }
                assertTrue(previous <= n / ((double) parts * parts) + 1, "last part " + previous + " of " + n);
            }
            // Short ranges: even parts, as many as there are indices at most.
            for (int n = 1; n < parts * parts; n += 7) {
                for (int k = 0; k < parts; k++) assertEquals((int) ((long) n * k / parts), Parallel.sliceStart(n, parts, k));
            }
        }
    }

    @Test
    void aSlowThreadLeavesItsUnclaimedPartsToTheOthers() {
        try (Parallel pool = new Parallel(2)) {
            int parts = 2 * Parallel.PARTS_PER_THREAD;   // one index per part
            Thread caller = Thread.currentThread();
            AtomicInteger done = new AtomicInteger();
            AtomicInteger byCaller = new AtomicInteger();
            java.util.concurrent.atomic.AtomicBoolean workerStalled = new java.util.concurrent.atomic.AtomicBoolean();
            pool.forRange(parts, (from, to) -> {
                if (Thread.currentThread() == caller) {
                    byCaller.addAndGet(to - from);
                } else if (workerStalled.compareAndSet(false, true)) {
                    // A worker descheduled by another process: it holds its first part until every other part is
                    // done, which only happens if the caller claims them (10 s bound in case it never does).
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (done.get() < parts - 1 && System.nanoTime() < deadline) Thread.onSpinWait();
                }
                done.addAndGet(to - from);
            });
            assertEquals(parts, done.get());
            assertTrue(byCaller.get() >= parts - 1, byCaller.get() + " of " + parts + " parts on the caller");
        }
    }

    @Test
    void exceptionsReachTheCallerAndThePoolStaysUsable() {
        try (Parallel pool = new Parallel(2)) {
            IllegalArgumentException boom = new IllegalArgumentException("boom");
            IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class,
                    () -> pool.forRange(100, (from, to) -> {
                        if (from > 0) throw boom;
                    }));
            assertSame(boom, thrown);
            AtomicInteger sum = new AtomicInteger();
            pool.forRange(100, (from, to) -> sum.addAndGet(to - from));
            assertEquals(100, sum.get());
        }
    }

    @Test
    void nestedLoopsRunInlineAndConcurrentCallersAreSerialized() throws Exception {
        try (Parallel pool = new Parallel(2)) {
            AtomicInteger inner = new AtomicInteger();
            pool.forRange(4, (from, to) -> {
                for (int i = from; i < to; i++) pool.forRange(10, (a, b) -> inner.addAndGet(b - a));
            });
            assertEquals(40, inner.get());

            ExecutorService callers = Executors.newFixedThreadPool(3);
            try {
                List<Future<Long>> results = new ArrayList<>();
                for (int c = 0; c < 6; c++) {
                    results.add(callers.submit(() -> {
                        long total = 0;
                        for (int rep = 0; rep < 200; rep++) {
                            java.util.concurrent.atomic.AtomicLong sum = new java.util.concurrent.atomic.AtomicLong();
                            pool.forRange(1000, (from, to) -> {
                                long s = 0;
                                for (int i = from; i < to; i++) s += i;
                                sum.addAndGet(s);
                            });
                            total += sum.get();
                        }
                        return total;
                    }));
                }
                for (Future<Long> f : results) assertEquals(200L * 999 * 1000 / 2, f.get());
            } finally {
                callers.shutdownNow();
            }
        }
    }

    @Test
    void closedPoolRefusesWork() {
        Parallel pool = new Parallel(2);
        pool.close();
        pool.close();
        assertThrows(IllegalStateException.class, () -> pool.forRange(10, (a, b) -> {}));
    }

    @Test
    void partsAreTheOnesSliceStartNames() {
        try (Parallel pool = new Parallel(3)) {
            for (int n : new int[] {0, 1, 2, 3, 4, 10, 1000, 4097}) {
                java.util.Set<List<Integer>> slices = java.util.concurrent.ConcurrentHashMap.newKeySet();
                pool.forRange(n, (from, to) -> slices.add(List.of(from, to)));
                int parts = Math.min(3 * Parallel.PARTS_PER_THREAD, n);
                java.util.Set<List<Integer>> expected = new java.util.HashSet<>();
                for (int k = 0; k < parts; k++) expected.add(List.of(Parallel.sliceStart(n, parts, k), Parallel.sliceStart(n, parts, k + 1)));
                assertEquals(expected, slices, "n=" + n);
            }
        }
    }

    @Test
    void manyShortJobsLoseNoWorkEvenWithMoreThreadsThanProcessors() {
        for (int threads : new int[] {2, Runtime.getRuntime().availableProcessors() + 2}) {
            try (Parallel pool = new Parallel(threads)) {
                java.util.concurrent.atomic.AtomicLong total = new java.util.concurrent.atomic.AtomicLong();
                long expected = 0;
                for (int job = 0; job < 3_000; job++) {
                    int n = 1 + job % 64;
                    expected += (long) n * (n - 1) / 2;
                    pool.forRange(n, (from, to) -> {
                        long s = 0;
                        for (int i = from; i < to; i++) s += i;
                        total.addAndGet(s);
                    });
                }
                assertEquals(expected, total.get(), threads + " threads");
            }
        }
    }
}
