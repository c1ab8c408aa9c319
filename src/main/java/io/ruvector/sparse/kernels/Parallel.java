package io.ruvector.sparse.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A dedicated pool that splits a range of rows into one contiguous slice per thread.
 *
 * <p>Each output element is computed by exactly one thread, whole, so results never depend on the
 * thread count: work is divided by output rows, never inside one dot product.
 *
 * <p>The calling thread computes the first slice and {@code threads - 1} persistent workers the others.
 * A call allocates nothing (decoding runs hundreds of these per token): the job is handed over through
 * fields published by a volatile generation counter, and threads wait by spinning briefly, then parking.
 * Calls are serialized, so one pool may be shared by several threads; a body that itself calls
 * {@link #forRange} on the same pool from a worker runs that inner loop inline.
 */
public final class Parallel implements AutoCloseable {

    /** Body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** How long a waiting thread spins before it parks: long enough to bridge the gap between two loops. */
    private static final long SPIN_NANOS = 50_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();

    // The job in flight: written by the caller before the volatile write of generation, read by workers after
    // reading it.
    private RangeBody body;
    private int n;
    private int parts;
    private volatile Thread caller;   // the thread inside forRange, if any
    private volatile Throwable failure;
    private volatile int generation;
    private volatile boolean closed;

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, not " + threads);
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int slice = i + 1;
            Thread t = new Thread(() -> workLoop(slice), "sparse-infer-worker-" + slice);
            t.setDaemon(true);
            workers[i] = t;
        }
        for (Thread t : workers) t.start();
    }

    /** A pool with one thread per available processor. */
    public static Parallel forMachine() { return new Parallel(Runtime.getRuntime().availableProcessors()); }

    public int threads() { return threads; }

    /** Runs {@code body} over {@code [0, n)} split into one contiguous slice per thread; returns when all are done. */
    public void forRange(int n, RangeBody body) {
        int parts = Math.min(threads, n);
        Thread self = Thread.currentThread();
        if (parts <= 1 || self == caller || isWorker(self)) {   // nested inside a loop of this pool: inline
            if (n > 0) body.run(0, n);
            return;
        }
        synchronized (this) {
            if (closed) throw new IllegalStateException("thread pool is closed");
            this.body = body;
            this.n = n;
            this.parts = parts;
            this.caller = Thread.currentThread();
            this.failure = null;
            pending.set(workers.length);   // every worker acknowledges every job, so none can miss one
            generation++;
            for (Thread w : workers) LockSupport.unpark(w);
            try {
                body.run(0, end(n, parts, 0));
            } catch (Throwable t) {
                failure = t;
            }
            awaitWorkers();
            this.body = null;
            this.caller = null;
            Throwable f = failure;
            if (f != null) {
                failure = null;
                if (f instanceof RuntimeException re) throw re;
                if (f instanceof Error err) throw err;
                throw new IllegalStateException(f);
            }
        }
    }

    private static int end(int n, int parts, int p) { return (int) ((long) n * (p + 1) / parts); }

    private boolean isWorker(Thread t) {
        for (Thread w : workers) if (w == t) return true;
        return false;
    }

    private void awaitWorkers() {
        long start = System.nanoTime();
        while (pending.get() != 0) {
            if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
            else LockSupport.park(this);
        }
    }

    private void workLoop(int slice) {
        int seen = 0;
        while (true) {
            long start = System.nanoTime();
            while (generation == seen && !closed) {
                if (System.nanoTime() - start < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.park(this);
            }
            if (closed) return;
            seen = generation;
            int parts = this.parts;
            if (slice < parts) {
                int n = this.n;
                try {
                    body.run(end(n, parts, slice - 1), end(n, parts, slice));
                } catch (Throwable t) {
                    failure = t;
                }
            }
            Thread c = caller;
            if (pending.decrementAndGet() == 0) LockSupport.unpark(c);
        }
    }

    /** Stops the workers, after the loop in flight if any. Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        for (Thread t : workers) LockSupport.unpark(t);
    }
}
