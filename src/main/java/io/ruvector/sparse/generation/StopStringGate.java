package io.ruvector.sparse.generation;

import java.util.List;

/**
 * Lets generated text through once it can no longer be the start of a stop string, and notices when a
 * stop string is complete. Text that might still grow into a stop string is held back.
 */
final class StopStringGate {

    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    StopStringGate(List<String> stops) { this.stops = stops; }

    /** Adds text; returns the part that is now final (all text before a completed stop string). */
    String offer(String piece) {
        if (stopped) return "";
        pending.append(piece);
        if (stops.isEmpty()) return take(pending.length());
        int earliest = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (earliest < 0 || i < earliest)) earliest = i;
        }
        if (earliest >= 0) {
            String out = pending.substring(0, earliest);
            pending.setLength(0);
            stopped = true;
            return out;
        }
        int hold = 0;
        for (String s : stops) hold = Math.max(hold, longestSuffixThatStarts(s));
        return take(pending.length() - hold);
    }

    /** True once a stop string was completed. */
    boolean stopped() { return stopped; }

    /** Everything still held back (call when the generation ends for another reason). */
    String flush() { return take(pending.length()); }

    private String take(int n) {
        String out = pending.substring(0, n);
        pending.delete(0, n);
        return out;
    }

    /** Length of the longest end of {@code pending} that is a proper prefix of {@code stop}. */
    private int longestSuffixThatStarts(String stop) {
        int max = Math.min(stop.length() - 1, pending.length());
        search:
        for (int len = max; len > 0; len--) {
            int offset = pending.length() - len;
            for (int j = 0; j < len; j++) {
                if (pending.charAt(offset + j) != stop.charAt(j)) continue search;
            }
            return len;
        }
        return 0;
    }
}
