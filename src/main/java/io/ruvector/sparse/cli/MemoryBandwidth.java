package io.ruvector.sparse.cli;

import io.ruvector.sparse.cpu.Simd;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Measures how fast this machine streams memory into the CPU right now: the bound on decode speed,
 * which reads every weight once per token. Sums a buffer far larger than the caches, split across the
 * given threads, and keeps the best of a few passes.
 */
final class MemoryBandwidth {

    private MemoryBandwidth() {}

    /**
     * Read bandwidth in bytes per second.
     *
     * @param bytes   buffer size (should exceed the last-level cache many times over)
     * @param threads readers
     * @param passes  repetitions; the fastest counts
     */
    static double measure(long bytes, int threads, int passes) {
        long floats = bytes / Float.BYTES / (threads * (long) Simd.F.length()) * threads * Simd.F.length();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "bandwidth-probe");
            t.setDaemon(true);
            return t;
        });
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(floats * Float.BYTES, 64);
            for (long i = 0; i < floats; i += 1024) buffer.setAtIndex(ValueLayout.JAVA_FLOAT, i, 1f); // touch every page
            double best = 0;
            long slice = floats / threads;
            for (int p = 0; p < passes; p++) {
                long start = System.nanoTime();
                List<Future<Float>> parts = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long from = t * slice;
                    parts.add(pool.submit(() -> sum(buffer, from, from + slice)));
                }
                float total = 0;
                for (Future<Float> f : parts) total += f.get();
                long nanos = System.nanoTime() - start;
                if (total < 0) throw new IllegalStateException("impossible sum"); // keeps the reads alive
                best = Math.max(best, floats * (double) Float.BYTES * 1e9 / nanos);
            }
            return best;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("bandwidth measurement interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("bandwidth measurement failed", e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private static float sum(MemorySegment m, long fromFloat, long toFloat) {
        FloatVector acc0 = FloatVector.zero(Simd.F);
        FloatVector acc1 = FloatVector.zero(Simd.F);
        int lanes = Simd.F.length();
        long i = fromFloat;
        for (; i + 2L * lanes <= toFloat; i += 2L * lanes) {
            acc0 = acc0.add(FloatVector.fromMemorySegment(Simd.F, m, i * Float.BYTES, Simd.LE));
            acc1 = acc1.add(FloatVector.fromMemorySegment(Simd.F, m, (i + lanes) * Float.BYTES, Simd.LE));
        }
        float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
        for (; i < toFloat; i++) s += m.getAtIndex(ValueLayout.JAVA_FLOAT, i);
        return s;
    }
}
