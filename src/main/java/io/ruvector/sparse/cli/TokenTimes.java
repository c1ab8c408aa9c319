package io.ruvector.sparse.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
     * Seconds since this process started, or NaN. On Linux from {@code /proc} (the system's uptime minus the
     * process's start, both since boot, to 10 ms): {@code ProcessHandle}'s start instant adds the boot time, which
     * the kernel gives in whole seconds, so it came out up to a second early.
     */
    static double secondsSinceProcessStart() {
        try {
            String uptime = Files.readString(Path.of("/proc/uptime"));
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            double startSeconds = Long.parseLong(f[22 - 3]) / (double) USER_HZ;
            return Double.parseDouble(uptime.substring(0, uptime.indexOf(' '))) - startSeconds;
        } catch (IOException | RuntimeException notLinux) {
            Instant started = ProcessHandle.current().info().startInstant().orElse(null);
            return started == null ? Double.NaN : Duration.between(started, Instant.now()).toNanos() / 1e9;
        }
    }

    /** The unit of the times in {@code /proc/PID/stat}: 100 per second on Linux whatever the kernel's tick rate. */
    private static final int USER_HZ = 100;

    /**
     * One line: {@code first token: S s after process start (epoch-us E) | token ms: t1 t2 ...}, where t1 is the
     * time from the first token to the second, and so on.
     */
    String report() {
        StringBuilder s = new StringBuilder("first token: ");
        double sinceStart = secondsSinceProcessStart();
        if (!Double.isNaN(sinceStart) && count > 0) {
            long firstNanosAgo = System.nanoTime() - nanos[1];
            s.append(String.format(Locale.ROOT, "%.3f s after process start", sinceStart - firstNanosAgo / 1e9));
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
