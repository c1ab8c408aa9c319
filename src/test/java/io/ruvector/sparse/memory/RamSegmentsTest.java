package io.ruvector.sparse.memory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Where {@link RamSegments} puts a buffer: in a store with room for it, else in anonymous memory. */
class RamSegmentsTest {

    @TempDir
    Path dir;

    @Test
    void aStoreIsUsedOnlyWhenItsFreeSpaceCoversTheBufferAndTheHeadroom() {
        long mb = 1 << 20;
        assertTrue(RamSegments.fits(4 * mb, 4 * mb + RamSegments.HEADROOM));
        assertFalse(RamSegments.fits(4 * mb, 4 * mb + RamSegments.HEADROOM - 1));
        assertFalse(RamSegments.fits(4 * mb, 64 << 10), "a 64 KiB /dev/shm");
        assertFalse(RamSegments.fits(1, -1), "unknown free space");
    }

    @Test
    void aStoreTooSmallForTheBufferIsSkippedForAMemoryFileOfItsOwn() throws Exception {
        long bytes = 3 << 20;
        AtomicInteger asked = new AtomicInteger();
        try (Arena arena = Arena.ofConfined()) {
            // The injected store says it has 64 KiB free, as Docker's /dev/shm might after other tenants.
            MemorySegment seg = RamSegments.allocate(arena, bytes, List.of(dir), d -> {
                asked.incrementAndGet();
                return 64 << 10;
            });
            assertEquals(1, asked.get());
            assertEquals(bytes, seg.byteSize());
            assertTrue(isZeroAndWritable(seg));
            if (System.getProperty("os.name", "").startsWith("Linux")) {
                assertTrue(seg.isMapped(), "a memory file of its own (memfd), still a mapped segment");
            }
        }
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "no file left in the store");
        }
    }

    @Test
    void aStoreWithRoomGetsAMappedUnlinkedFile() throws Exception {
        long bytes = (3 << 20) + 17;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = RamSegments.allocate(arena, bytes, List.of(dir), d -> Long.MAX_VALUE);
            assertEquals(bytes, seg.byteSize());
            assertTrue(seg.isMapped());
            assertTrue(isZeroAndWritable(seg));
            try (var files = Files.list(dir)) {
                assertEquals(0, files.count(), "the file is unlinked once mapped");
            }
        }
    }

    @Test
    void aStoreThatCannotTakeTheFileFallsBackToMemoryThatWorks() {
        Path missing = dir.resolve("no-such-folder");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = RamSegments.allocate(arena, 1 << 16, List.of(missing), d -> Long.MAX_VALUE);
            assertEquals(1 << 16, seg.byteSize());
            assertTrue(isZeroAndWritable(seg));
        }
    }

    @Test
    void aMemoryFileIsAMappedSegmentThatLivesUntilItsArenaCloses() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "memfd_create is Linux's");
        MemorySegment seg;
        try (Arena arena = Arena.ofShared()) {
            seg = RamSegments.mapMemoryFile(arena, (5 << 20) + 3);
            assertTrue(seg != null && seg.isMapped());
            assertTrue(isZeroAndWritable(seg));
        }
        assertFalse(seg.scope().isAlive());
    }

    private static boolean isZeroAndWritable(MemorySegment seg) {
        for (long i = 0; i < seg.byteSize(); i += 4096) {
            if (seg.get(ValueLayout.JAVA_BYTE, i) != 0) return false;
            seg.set(ValueLayout.JAVA_BYTE, i, (byte) 1);
        }
        seg.set(ValueLayout.JAVA_BYTE, seg.byteSize() - 1, (byte) 1);
        return true;
    }
}
