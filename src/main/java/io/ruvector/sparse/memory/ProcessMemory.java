package io.ruvector.sparse.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * This process's memory figures at one moment, from {@code /proc/self/status} and {@code /proc/self/stat}
 * (Linux): resident set, its peak, locked bytes, and page faults so far. Subtract two snapshots with
 * {@link #minus} to see what a piece of work cost, e.g. the faults per generated token. Fields that cannot be
 * read (other systems) are -1.
 *
 * @param residentBytes     VmRSS
 * @param peakResidentBytes VmHWM
 * @param lockedBytes       VmLck: memory held by {@code mlock}
 * @param minorFaults       faults served without I/O (page already in the page cache)
 * @param majorFaults       faults that waited for the disk
 */
public record ProcessMemory(long residentBytes, long peakResidentBytes, long lockedBytes,
                            long minorFaults, long majorFaults) {

    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path STAT = Path.of("/proc/self/stat");

    /** Reads the figures now. */
    public static ProcessMemory read() {
        List<String> status = lines(STATUS);
        long[] faults = faults();
        return new ProcessMemory(kilobytes(status, "VmRSS:"), kilobytes(status, "VmHWM:"),
                kilobytes(status, "VmLck:"), faults[0], faults[1]);
    }

    /** Field-wise difference {@code this - earlier} (a field unknown in either is -1). */
    public ProcessMemory minus(ProcessMemory earlier) {
        return new ProcessMemory(diff(residentBytes, earlier.residentBytes),
                diff(peakResidentBytes, earlier.peakResidentBytes), diff(lockedBytes, earlier.lockedBytes),
                diff(minorFaults, earlier.minorFaults), diff(majorFaults, earlier.majorFaults));
    }

    private static long diff(long a, long b) { return a < 0 || b < 0 ? -1 : a - b; }

    @Override
    public String toString() {
        return "RSS " + human(residentBytes) + " (peak " + human(peakResidentBytes) + "), locked "
                + human(lockedBytes) + ", page faults " + minorFaults + " minor / " + majorFaults + " major";
    }

    /** True when the effective capability set holds capability number {@code bit} (e.g. 14 = CAP_IPC_LOCK). */
    static boolean hasCapability(int bit) {
        for (String line : lines(STATUS)) {
            if (line.startsWith("CapEff:")) {
                try {
                    return (Long.parseUnsignedLong(line.substring(7).strip(), 16) >>> bit & 1) == 1;
                } catch (NumberFormatException e) {
                    return false;
                }
            }
        }
        return false;
    }

    private static List<String> lines(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException | UnsupportedOperationException e) {
            return List.of();
        }
    }

    private static long kilobytes(List<String> status, String key) {
        for (String line : status) {
            if (line.startsWith(key)) {
                String[] w = line.substring(key.length()).strip().split("\\s+");
                try {
                    return Long.parseLong(w[0]) * 1024;
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }

    /** minflt and majflt: fields 10 and 12 of /proc/self/stat, counted after the ")" that ends the name. */
    private static long[] faults() {
        try {
            String stat = Files.readString(STAT);
            String[] w = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new long[] {Long.parseLong(w[7]), Long.parseLong(w[9])};
        } catch (IOException | RuntimeException e) {
            return new long[] {-1, -1};
        }
    }

    /** "12.5 MiB" style; "?" for -1. */
    static String human(long bytes) {
        if (bytes < 0) return "?";
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
