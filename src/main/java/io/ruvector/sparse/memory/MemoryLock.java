package io.ruvector.sparse.memory;

import java.lang.foreign.MemorySegment;

/**
 * The outcome of {@link MemoryHints#lock}: either the pages are locked in RAM until {@link #close()}, or they
 * are not and {@link #message()} says why (e.g. the RLIMIT_MEMLOCK limit and how to raise it).
 */
public final class MemoryLock implements AutoCloseable {

    private final MemorySegment region;
    private final String message;
    private boolean locked;

    MemoryLock(MemorySegment region, boolean locked, String message) {
        this.region = region;
        this.locked = locked;
        this.message = message;
    }

    /** True while the region is locked. */
    public synchronized boolean locked() { return locked; }

    /** Bytes locked (the region rounded out to whole pages), or 0. */
    public synchronized long lockedBytes() { return locked ? MemoryHints.pageSpan(region) : 0; }

    /** What happened, for a log line: the locked size, or why nothing was locked. */
    public String message() { return message; }

    /** Unlocks the pages (no-op when nothing was locked or already closed). */
    @Override
    public synchronized void close() {
        if (locked) {
            locked = false;
            MemoryHints.unlock(region);
        }
    }

    @Override
    public String toString() { return "MemoryLock[" + message + "]"; }
}
