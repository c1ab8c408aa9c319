package io.ruvector.sparse.kernels;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ParallelTest {

    @Test
    void slicesCoverTheRangeOnceInContiguousStaticParts() {
        try (Parallel pool = new Parallel(3)) {
            for (int n : new int[] {0, 1, 2, 3, 4, 10, 1000, 4097}) {
                int[] hits = new int[n];
                java.util.Set<java.util.List<Integer>> slices = java.util.concurrent.ConcurrentHashMap.newKeySet();
                pool.forRange(n, (from, to) -> {
                    for (int i = from; i < to; i++) hits[i]++;
                    slices.add(java.util.List.of(from, to));
                });
                for (int i = 0; i < n; i++) assertEquals(1, hits[i], "n=" + n + " i=" + i);
                int parts = Math.min(3, n);
                java.util.Set<java.util.List<Integer>> expected = new java.util.HashSet<>();
                for (int k = 0; k < parts; k++) {
                    expected.add(java.util.List.of(Parallel.sliceStart(n, parts, k), Parallel.sliceStart(n, parts, k + 1)));
                }
                assertEquals(expected, slices, "n=" + n);
            }
        }
    }

    @Test
    void manyShortJobsRunInOrderWithoutLosingWork() {
        try (Parallel pool = new Parallel(2)) {
            AtomicLong total = new AtomicLong();
            for (int job = 0; job < 5_000; job++) {
                int n = 1 + job % 64;
                pool.forRange(n, (from, to) -> {
                    long s = 0;
                    for (int i = from; i < to; i++) s += i;
                    total.addAndGet(s);
                });
            }
            long expected = 0;
            for (int job = 0; job < 5_000; job++) {
                int n = 1 + job % 64;
                expected += (long) n * (n - 1) / 2;
            }
            assertEquals(expected, total.get());
        }
    }

    @Test
    void exceptionsReachTheCallerAndThePoolKeepsWorking() {
        try (Parallel pool = new Parallel(3)) {
            IllegalStateException boom = new IllegalStateException("boom");
            RuntimeException thrown = assertThrows(RuntimeException.class, () -> pool.forRange(30, (from, to) -> {
                if (from > 0) throw boom;
            }));
            assertSame(boom, thrown);
            AtomicInteger count = new AtomicInteger();
            pool.forRange(30, (from, to) -> count.addAndGet(to - from));
            assertEquals(30, count.get());
        }
    }

    @Test
    void nestedCallsRunSeriallyAndUseAfterCloseFails() {
        Parallel pool = new Parallel(2);
        AtomicInteger count = new AtomicInteger();
        pool.forRange(4, (from, to) -> pool.forRange(10, (a, b) -> count.addAndGet(b - a)));
        assertEquals(20, count.get());
        pool.close();
        assertThrows(IllegalStateException.class, () -> pool.forRange(4, (a, b) -> {}));
    }
}
