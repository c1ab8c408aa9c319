package io.ruvector.sparse.kernels;

import java.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A dedicated pool that splits a range of rows into one contiguous slice per thread.
 *
 * <p>Each output element is computed by exactly one thread, whole, so results never depend on the
 * thread count: work is divided by output rows, never inside one dot product.
 */
public final class Parallel implements AutoCloseable {

    /** Body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private final int threads;
    private final ExecutorService pool;

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, not " + threads);
        this.threads = threads;
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "sparse-infer-worker");
            t.setDaemon(true);
            return t;
        });
    }

    /** A pool with one thread per available processor. */
    public static Parallel forMachine() { return new Parallel(Runtime.getRuntime().availableProcessors()); }

    public int threads() { return threads; }

    /** Runs {@code body} over {@code [0, n)} split into one contiguous slice per thread; returns when all are done. */
    public void forRange(int n, RangeBody body) {
        int parts = Math.min(threads, n);
        if (parts <= 1) {
            if (n > 0) body.run(0, n);
            return;
        }
        List<Future<?>> futures = new ArrayList<>(parts - 1);
        for (int p = 1; p < parts; p++) {
            int from = (int) ((long) n * p / parts);
            int to = (int) ((long) n * (p + 1) / parts);
            futures.add(pool.submit(() -> body.run(from, to)));
        }
        body.run(0, (int) ((long) n / parts));
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException re) throw re;
                if (c instanceof Error err) throw err;
                throw new IllegalStateException(c);
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
