package io.ruvector.sparse.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Reads this process's mappings from {@code /proc/self/smaps} (Linux): the advice a mapping carries. */
public final class Smaps {

    private static final Path SMAPS = Path.of("/proc/self/smaps");
    private static final Path PAGEMAP = Path.of("/proc/self/pagemap");
    private static final long PAGE = 4096;

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

    /**
     * How many of the whole pages inside [address, address + length) are mapped in this process's page tables
     * now ({@code /proc/self/pagemap}, bit 63 "present"). Unlike {@code mincore}, which for a file mapping
     * reports the page cache, this tells whether the pages count in this process's resident set.
     */
    public static long presentPages(long address, long length) throws IOException {
        long first = (address + PAGE - 1) / PAGE;
        long end = (address + length) / PAGE;
        if (end <= first) return 0;
        ByteBuffer entries = ByteBuffer.allocate((int) ((end - first) * 8)).order(ByteOrder.nativeOrder());
        try (FileChannel ch = FileChannel.open(PAGEMAP)) {
            long pos = first * 8;
            while (entries.hasRemaining()) {
                int read = ch.read(entries, pos + entries.position());
                if (read <= 0) throw new IOException("short read of " + PAGEMAP);
            }
        }
        entries.flip();
        long present = 0;
        while (entries.hasRemaining()) if (entries.getLong() < 0) present++;   // bit 63
        return present;
    }

    /** Whether {@link #presentPages} can be read here. */
    public static boolean pagemapAvailable() { return Files.isReadable(PAGEMAP); }
}
