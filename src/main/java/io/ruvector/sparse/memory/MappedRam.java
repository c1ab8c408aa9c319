package io.ruvector.sparse.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.SegmentAllocator;

/**
 * Off-heap memory that is a mapped file in RAM ({@code /dev/shm} or a memory file; see {@link RamSegments} for
 * why mapped and for the fallbacks), for copies of weights that the same kernels read as mapped cache files.
 */
public final class MappedRam {

    private static final long PAGE = 4096;

    private MappedRam() {}

    /**
     * An allocator whose every allocation is zeroed memory owned by {@code arena}, mapped from a file in RAM where
     * possible (page-aligned), else anonymous memory of the arena.
     */
    public static SegmentAllocator allocator(Arena arena) {
        return (bytes, alignment) -> alignment <= PAGE ? RamSegments.allocate(arena, bytes) : arena.allocate(bytes, alignment);
    }
}
