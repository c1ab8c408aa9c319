package io.ruvector.sparse.memory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Off-heap memory for copies of weight rows (hot tier, cold-row cache), mapped from an unlinked file in RAM
 * ({@code /dev/shm} where it exists) rather than malloc'ed.
 *
 * <p>Why mapped: the weights these buffers copy are mapped file memory, and the tensor kernels are shared by
 * copied and in-place rows. Given two kinds of segment, C2 compiles the kernels' loads for both, and decoding
 * got measurably slower; with one kind the kernels stay monomorphic.
 */
final class RamSegments {

    private RamSegments() {}

    /** {@code bytes} of zeroed memory owned by {@code arena} (malloc'ed when no file can be mapped). */
    static MemorySegment allocate(Arena arena, long bytes) {
        Path dir = Path.of("/dev/shm");
        try {
            if (!Files.isDirectory(dir) || !Files.isWritable(dir)) dir = Path.of(System.getProperty("java.io.tmpdir"));
            Path file = Files.createTempFile(dir, "sparse-infer-rows-", ".bin");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            } finally {
                Files.deleteIfExists(file); // the mapping keeps the memory until the arena releases it
            }
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return arena.allocate(bytes, 64);
        }
    }
}
