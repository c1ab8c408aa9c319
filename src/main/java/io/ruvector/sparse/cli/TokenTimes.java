package io.ruvector.sparse.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * When each of the first generated tokens was chosen, for {@code generate --timings}: a one-shot run is judged by
 * its first token and its first few steps, before the JIT has settled, and those are what this records.
 */
final class TokenTimes {

    /** Tokens whose times are reported one by one. */
    static final int SHOWN = 16;

    private final long[] nanos = new long[SHOWN + 1];
    private int count;
    private long firstTokenEpochMicros;

    /** @param promptStart {@link System#nanoTime()} when the prompt began: the first interval is the prompt's */
    TokenTimes(long promptStart) { nanos[0] = promptStart; }

    /** Called as each token is chosen (allocates nothing after the first). */
    void tokenChosen() {
        if (count == 0) {
            Instant now = Instant.now();
            firstTokenEpochMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
        }
        if (count < SHOWN) nanos[count + 1] = System.nanoTime();
        count++;
    }

    /**
     * One line: {@code first token: S s after process start (epoch-us E) | token ms: t1 t2 ...}, where t1 is the
     * time from the first token to the second, and so on.
     */
    String report() {
        StringBuilder s = new StringBuilder("first token: ");
        Instant started = ProcessHandle.current().info().startInstant().orElse(null);
        if (started != null && count > 0) {
            Instant first = Instant.ofEpochSecond(firstTokenEpochMicros / 1_000_000L, firstTokenEpochMicros % 1_000_000L * 1_000);
            s.append(String.format(Locale.ROOT, "%.3f s after process start", Duration.between(started, first).toNanos() / 1e9));
        } else {
            s.append("-");
        }
        s.append(" (epoch-us ").append(firstTokenEpochMicros).append(") | token ms:");
        for (int i = 2; i <= Math.min(count, SHOWN); i++) {
            s.append(String.format(Locale.ROOT, " %.1f", (nanos[i] - nanos[i - 1]) / 1e6));
        }
        return s.toString();
    }
}
