package io.ruvector.sparse.memory;

import io.ruvector.sparse.ffi.libc.Libc;

/** The access patterns {@link MemoryHints#advise} can announce to the kernel ({@code madvise(2)}). */
public enum Advice {
    /** No special treatment; undoes the others. */
    NORMAL,
    /** Pages are read in random order: read-ahead is useless (cold FFN rows picked by a predictor). */
    RANDOM,
    /** Pages are read in order once: read ahead aggressively. */
    SEQUENTIAL,
    /** The pages will be needed soon: start reading them in now. */
    WILLNEED,
    /**
     * The pages are not needed for now: the kernel may drop them; a file mapping re-reads them from the file
     * on the next access. Only allowed on file mappings (on private anonymous memory it would zero data).
     */
    DONTNEED;

    int linuxValue() {
        return switch (this) {
            case NORMAL -> Libc.MADV_NORMAL();
            case RANDOM -> Libc.MADV_RANDOM();
            case SEQUENTIAL -> Libc.MADV_SEQUENTIAL();
            case WILLNEED -> Libc.MADV_WILLNEED();
            case DONTNEED -> Libc.MADV_DONTNEED();
        };
    }
}
