package io.ruvector.sparse.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A dedicated pool that splits a range of rows into a few contiguous parts per thread, built for the ~150
 * short parallel loops a decoded token needs.
 *
 * <p>Dispatch is cheap: the workers are persistent threads that, after finishing their parts, spin for a short
 * while ({@link #SPIN_NANOS}; not at all when the pool has more threads than the machine has processors)
 * watching a generation counter and only then park; the caller publishes a job by bumping the counter and
 * works on it too, then waits (spin, then park) for the others. No task objects, no futures, no allocation per
 * call.
 *
 * <p>The range is cut into {@code p = min(n, threads * PARTS_PER_THREAD)} contiguous parts, longest first
 * ({@link #sliceStart}); the threads claim parts in order. Each output element is
 * computed by exactly one thread, whole, so results never depend on the thread count or on who claimed what.
 *
 * <p>Several threads may call at once (the sessions of one model share one pool): a call that finds another
 * caller's job running computes its own on the calling thread rather than wait, so N callers on P cores keep
 * the cores busy with P pool threads instead of N x P. A call made from inside a running body (nested
 * parallelism) runs serially on the calling thread. Use after {@link #close()} throws
 * {@link IllegalStateException}; a call running when the pool is closed completes first.
 */
public final class Parallel implements AutoCloseable {

    /** Body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Parts per thread: a few long contiguous parts each (long row streams keep the hardware prefetcher busy),
     * claimed in order, so a thread that a noisy neighbour slowed down does not hold the others at the barrier.
     */
    static final int PARTS_PER_THREAD = 4;

    /** How long an idle thread spins before it parks: long enough to cover the gap between two matvecs. */
    public static final long SPIN_NANOS = 100_000;

    /** {@link #SPIN_NANOS}, or 0 when there are more threads than processors and spinning would steal their time. */
    private final long spinNanos;

    private final int threads;
    private final Worker[] workers;
    private final ReentrantLock dispatch = new ReentrantLock();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final java.util.concurrent.atomic.LongAdder busyRuns = new java.util.concurrent.atomic.LongAdder();

    // The current job, written by the dispatching thread before the volatile generation bump.
    private RangeBody body;
    private int n;
    private int parts;
    private final AtomicInteger nextPart = new AtomicInteger();
    private volatile long generation;
    private volatile Thread waiter;
    private volatile boolean waiterParked;
    private volatile boolean closed;

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, not " + threads);
        this.threads = threads;
        this.spinNanos = threads <= Runtime.getRuntime().availableProcessors() ? SPIN_NANOS : 0;
        this.workers = new Worker[threads - 1];
        for (int k = 0; k < workers.length; k++) {
            workers[k] = new Worker(k + 1);
            workers[k].thread.start();
        }
    }

    /**
     * Loops smaller than this much work (multiply-adds, or a comparable count) run on the calling thread alone
     * in {@link #forRange(int, long, RangeBody)}: handing them to the pool would cost more than it saves.
     */
    public static final long MIN_PARALLEL_WORK = 1 << 16;

    /** A pool with one thread per available processor. */
    public static Parallel forMachine() { return new Parallel(Runtime.getRuntime().availableProcessors()); }

    public int threads() { return threads; }

    /**
     * The slice part {@code k} of {@code parts} gets of {@code [0, n)}: its start (end = start of k+1). Parts
     * shrink from first to last when the range is long enough ({@code n >= parts^2}): part k starts at
     * {@code n (1 - (1 - k/parts)^2)}, so the first parts, claimed first, are long, and the last one, which
     * decides how long the others wait at the end, holds 1/parts^2 of the range instead of 1/parts. (Threads
     * finishing their parts up to a whole part apart idled ~3% of a prompt batch with equal parts.) Shorter
     * ranges are cut evenly.
     */
    public static int sliceStart(int n, int parts, int k) {
        if ((long) n < (long) parts * parts) return (int) ((long) n * k / parts);
        long left = parts - k;   // the share still ahead of part k is (left/parts)^2
        return (int) (n - (long) Math.ceil((double) n * left * left / ((long) parts * parts)));
    }

    /**
     * {@link #forRange(int, RangeBody)} when {@code work} is at least {@link #MIN_PARALLEL_WORK}, else
     * {@code body.run(0, n)} on the calling thread. (Which thread computes an element never changes its value.)
     */
    public void forRange(int n, long work, RangeBody body) {
        if (work < MIN_PARALLEL_WORK) {
            if (closed) throw new IllegalStateException("Parallel pool is closed");
            if (n > 0) body.run(0, n);
        } else {
            forRange(n, body);
        }
    }

    /** Runs {@code body} over {@code [0, n)}, cut into parts that the pool's threads claim; returns when all are done. */
    public void forRange(int n, RangeBody body) {
        if (closed) throw new IllegalStateException("Parallel pool is closed");
        if (n < 0) throw new IllegalArgumentException("negative range " + n);
        int parts = Math.min(threads * PARTS_PER_THREAD, n);
        if (threads == 1 || parts <= 1 || dispatch.isHeldByCurrentThread() || Thread.currentThread() instanceof WorkerThread) {
            if (n > 0) body.run(0, n);
            return;
        }
        if (!dispatch.tryLock()) {
            // Another caller's job holds the workers (sessions of one model share this pool): compute this one on
            // the calling thread instead of queueing behind it, so concurrent sessions keep every core busy without
            // a pool each. Serial or parallel, each element is computed the same way, by one thread.
            if (closed) throw new IllegalStateException("Parallel pool is closed");
            busyRuns.increment();
            body.run(0, n);
            return;
        }
        try {
            if (closed) throw new IllegalStateException("Parallel pool is closed");
            this.body = body;
            this.n = n;
            this.parts = parts;
            nextPart.set(0);
            // Every worker acknowledges every job (idle ones too), so none can lag into the next job's fields.
            pending.set(workers.length);
            waiter = Thread.currentThread();
            generation = generation + 1;
            for (Worker w : workers) {
                if (w.sleeping) LockSupport.unpark(w.thread);
            }
            Throwable own = null;
            try {
                runParts(body, n, parts);
            } catch (Throwable t) {
                own = t;
                nextPart.set(Integer.MAX_VALUE / 2);   // the workers stop claiming
            }
            awaitWorkers();
            this.body = null;
            Throwable worker = failure.getAndSet(null);
            Throwable t = own;
            if (t == null) t = worker;
            else if (worker != null && worker != own) own.addSuppressed(worker);   // not lost behind the caller's own
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error err) throw err;
            if (t != null) throw new IllegalStateException(t);
        } finally {
            dispatch.unlock();
        }
    }

    /** Claims parts in order until none is left: a thread slowed down (by another process) takes fewer. */
    private void runParts(RangeBody body, int n, int parts) {
        for (int k = nextPart.getAndIncrement(); k < parts; k = nextPart.getAndIncrement()) {
            body.run(sliceStart(n, parts, k), sliceStart(n, parts, k + 1));
        }
    }

    private void awaitWorkers() {
        long start = 0;
        int spins = 0;
        while (pending.get() != 0) {
            if (++spins < 1024 && spinNanos > 0) {
                Thread.onSpinWait();
            } else if (start == 0) {
                start = System.nanoTime();
            } else if (System.nanoTime() - start < spinNanos) {
                Thread.onSpinWait();
            } else {
                waiterParked = true;
                if (pending.get() != 0) LockSupport.parkNanos(this, 1_000_000);
                waiterParked = false;
            }
        }
    }

    /**
     * Stops the workers once the job in flight, if any, is done: a call already running completes, calls
     * waiting for the pool and later calls throw {@link IllegalStateException}. Idempotent. Called from inside a
     * running body it only marks the pool closed (waiting for the job would wait for itself); otherwise it also
     * waits for the worker threads to end.
     */
    @Override
    public void close() {
        boolean insideJob = dispatch.isHeldByCurrentThread()
                || Thread.currentThread() instanceof WorkerThread w && w.pool == this;
        if (insideJob) {
            // The job's generation is published already, so every worker finishes it before it sees the flag.
            closed = true;
        } else {
            // Taking the dispatch lock waits for a running job: closing between a caller's check of the flag and its
            // publishing the job would let workers exit before acknowledging it, leaving the caller waiting forever.
            dispatch.lock();
            try {
                closed = true;
            } finally {
                dispatch.unlock();
            }
        }
        for (Worker w : workers) LockSupport.unpark(w.thread);
        if (!insideJob) awaitExit();
    }

    /**
     * Waits (up to a second each) for the workers to end, so that a closed pool leaves no threads behind: callers
     * that count or dump threads right after closing one pool and opening another see only the live one.
     */
    private void awaitExit() {
        boolean interrupted = false;
        for (Worker w : workers) {
            try {
                w.thread.join(1000);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Calls that found another caller's job running and computed on their own thread (for tests and tuning). */
    public long busyRuns() { return busyRuns.sum(); }

    /** True once {@link #close()} was called. */
    public boolean isClosed() { return closed; }

    private static final class WorkerThread extends Thread {
        final Parallel pool;

        WorkerThread(Parallel pool, Runnable r, String name) {
            super(r, name);
            this.pool = pool;
            setDaemon(true);
        }
    }

    private final class Worker implements Runnable {
        final int index;
        final Thread thread;
        volatile boolean sleeping;

        Worker(int index) {
            this.index = index;
            this.thread = new WorkerThread(Parallel.this, this, "sparse-infer-worker-" + index);
        }

        @Override
        public void run() {
            // Generation 0 is the state before any job; reading the field here instead could skip a job
            // published before this thread got to run.
            long seen = 0;
            while (true) {
                long g = awaitJob(seen);
                if (g < 0) return;
                seen = g;
                try {
                    runParts(body, n, parts);
                } catch (Throwable t) {
                    if (!failure.compareAndSet(null, t)) {
                        Throwable first = failure.get();
                        if (first != null && first != t) first.addSuppressed(t);   // every worker's failure is reported
                    }
                    nextPart.set(Integer.MAX_VALUE / 2);   // the others stop claiming
                }
                if (pending.decrementAndGet() == 0 && waiterParked) LockSupport.unpark(waiter);
            }
        }

        /** Spins, then parks, until the generation moves past {@code seen}; -1 when the pool closed. */
        private long awaitJob(long seen) {
            long start = System.nanoTime();
            int spins = 0;
            while (true) {
                long g = generation;
                if (g != seen) return g;
                if (closed) return -1;
                if (spinNanos > 0 && ((++spins & 255) != 0 || System.nanoTime() - start < spinNanos)) {
                    Thread.onSpinWait();
                    continue;
                }
                sleeping = true;
                if (generation == seen && !closed) LockSupport.park(this);
                sleeping = false;
            }
        }
    }
}
