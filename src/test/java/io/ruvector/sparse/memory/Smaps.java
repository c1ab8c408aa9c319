package io.ruvector.sparse.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Reads this process's mappings from {@code /proc/self/smaps} (Linux): the advice a mapping carries. */
public final class Smaps {

    private static final Path SMAPS = Path.of("/proc/self/smaps");

    private Smaps() {}

    public static boolean available() { return Files.isReadable(SMAPS); }

    /** True when the VmFlags of the mapping that holds {@code address} include "rr" (MADV_RANDOM). */
    public static boolean randomRead(long address) throws IOException {
        boolean inside = false;
        for (String line : Files.readAllLines(SMAPS)) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                inside = Long.compareUnsigned(Long.parseUnsignedLong(range[0], 16), address) <= 0
                        && Long.compareUnsigned(address, Long.parseUnsignedLong(range[1], 16)) < 0;
            } else if (inside && line.startsWith("VmFlags:")) {
                return Arrays.asList(line.substring(8).trim().split("\\s+")).contains("rr");
            }
        }
        throw new AssertionError("no mapping holds address " + Long.toHexString(address));
    }
}
