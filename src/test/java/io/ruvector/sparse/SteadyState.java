package io.ruvector.sparse;

import java.util.function.LongSupplier;

/**
 * Measures steady-state allocation despite the JIT. Until C2 has compiled a kernel (and after it throws code
 * away and recompiles), vector operations run as objects and allocate; on a loaded machine the compile queue
 * can lag by seconds, so a fixed number of warm-up calls proves nothing. Real garbage per call shows in every
 * window; JIT effects do not once compilation settles.
 */
public final class SteadyState {

    /** How long to wait for compilation to settle before a figure is taken as the steady state. */
    private static final long DEADLINE_NANOS = 60_000_000_000L;

    private SteadyState() {}

    /**
     * The smallest figure of repeated windows: {@code window} runs one window and returns its bytes per
     * call; windows repeat until one comes under {@code target} or a minute has passed (at least 3 windows).
     */
    public static long bestOf(LongSupplier window, long target) {
        long start = System.nanoTime();
        long best = Long.MAX_VALUE;
        for (int i = 0; best >= target && (i < 3 || System.nanoTime() - start < DEADLINE_NANOS); i++) {
            best = Math.min(best, window.getAsLong());
        }
        return best;
    }
}
