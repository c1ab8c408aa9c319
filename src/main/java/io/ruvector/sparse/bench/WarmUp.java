package io.ruvector.sparse.bench;

import java.util.function.LongSupplier;

/**
 * How many untimed runs a benchmark makes before timing, so that the JIT has compiled what it measures: a fixed
 * count (one is llama-bench's protocol), or {@link #auto()}: until two runs in a row take times within
 * {@link #SETTLED} of each other. After a single warm-up C2 is often still compiling into the first timed runs,
 * which then come out 5-45% slower than the rest (see docs/PERFORMANCE.md).
 *
 * @param fixedRuns the count, or -1 for auto
 */
public record WarmUp(int fixedRuns) {

    /** Relative difference under which two runs in a row count as settled. */
    public static final double SETTLED = 0.05;
    public static final int MIN_AUTO_RUNS = 2;
    public static final int MAX_AUTO_RUNS = 8;
    /** Auto runs at least this long in all: a tiny model's runs take milliseconds, too few for C2. */
    public static final long MIN_AUTO_NANOS = 1_000_000_000L;
    /** Auto stops after this long even when unsettled. */
    public static final long MAX_AUTO_NANOS = 10_000_000_000L;

    public WarmUp {
        if (fixedRuns < -1) throw new IllegalArgumentException("warm-up runs must be >= 0 (or auto), not " + fixedRuns);
    }

    public static WarmUp auto() { return new WarmUp(-1); }

    public static WarmUp runs(int n) {
        if (n < 0) throw new IllegalArgumentException("warm-up runs must be >= 0, not " + n);
        return new WarmUp(n);
    }

    /** {@code auto} or a count >= 0, as the CLI's {@code --warmup} takes it. */
    public static WarmUp parse(String value) {
        if (value.trim().equalsIgnoreCase("auto")) return auto();
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 0) return runs(n);
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("--warmup must be a count >= 0 or auto, not '" + value + "'");
    }

    public boolean isAuto() { return fixedRuns < 0; }

    /** For progress lines: "3 warm-up" or "warm-up until settled". */
    public String label() { return isAuto() ? "warm-up until settled" : fixedRuns + " warm-up"; }

    /**
     * Makes the warm-up runs ({@code run} does one and returns its nanoseconds): the fixed count, or with auto
     * until two in a row are within {@link #SETTLED} of each other, with at least {@link #MIN_AUTO_RUNS} runs and
     * {@link #MIN_AUTO_NANOS} in all; unsettled, it stops after {@link #MAX_AUTO_RUNS} runs once that minimum time
     * has passed, or after {@link #MAX_AUTO_NANOS}. Returns how many runs it made.
     */
    public int run(LongSupplier run) {
        if (!isAuto()) {
            for (int w = 0; w < fixedRuns; w++) run.getAsLong();
            return fixedRuns;
        }
        long previous = run.getAsLong();
        long total = previous;
        int runs = 1;
        while (true) {
            long now = run.getAsLong();
            total += now;
            runs++;
            boolean settled = Math.abs(now - previous) <= SETTLED * Math.min(now, previous);
            boolean longEnough = runs >= MIN_AUTO_RUNS && total >= MIN_AUTO_NANOS;
            if (longEnough && (settled || runs >= MAX_AUTO_RUNS) || total >= MAX_AUTO_NANOS) return runs;
            previous = now;
        }
    }
}
