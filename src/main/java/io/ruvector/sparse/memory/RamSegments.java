package io.ruvector.sparse.memory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Off-heap memory for copies of weight rows (hot tier, cold-row cache), mapped from an unlinked file in RAM
 * ({@code /dev/shm} where it exists and has room) rather than malloc'ed.
 *
 * <p>Why mapped: the weights these buffers copy are mapped file memory, and the tensor kernels are shared by
 * copied and in-place rows. Given two kinds of segment, C2 compiles the kernels' loads for both, and decoding
 * got measurably slower; with one kind the kernels stay monomorphic.
 *
 * <p>Why the space check and the reservation: a mapping larger than the free space of its store (Docker gives
 * containers a 64 MB {@code /dev/shm}) maps fine and then faults (SIGBUS, surfacing as an
 * {@link InternalError}) on the first write past the free space. So a store is used only when its usable space
 * covers the buffer with {@link #HEADROOM} to spare, and the file's blocks are then written before mapping, so
 * that running out of space (another process filled the store in between) is an {@link IOException} here
 * rather than a fault later. Where no store has room the buffer is a memory file of its own
 * ({@code memfd_create(2)} on Linux: RAM like {@code /dev/shm}, but outside its size limit, still a mapped
 * file), and where that fails too, anonymous memory: slower to decode from in the worst case, never a crash.
 */
final class RamSegments {

    /** Free space a store keeps after the buffer, so that this process does not fill it for everyone else. */
    static final long HEADROOM = 1 << 20;

    private static final int RESERVE_CHUNK = 1 << 20;

    private RamSegments() {}

    /** {@code bytes} of zeroed memory owned by {@code arena}: a file in RAM where one fits, else anonymous memory. */
    static MemorySegment allocate(Arena arena, long bytes) {
        return allocate(arena, bytes, defaultStores(), RamSegments::usableSpace);
    }

    /**
     * {@code bytes} of zeroed memory owned by {@code arena}, mapped from a file in the first of {@code stores}
     * whose {@code usable} space leaves {@link #HEADROOM} after it, and whose blocks could all be written;
     * allocated from the arena (anonymous memory) where none can.
     */
    static MemorySegment allocate(Arena arena, long bytes, List<Path> stores, ToLongFunction<Path> usable) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        for (Path dir : stores) {
            if (!fits(bytes, usable.applyAsLong(dir))) continue;
            MemorySegment mapped = mapInRam(arena, bytes, dir);
            if (mapped != null) return mapped;
        }
        MemorySegment memfd = mapMemoryFile(arena, bytes);
        if (memfd != null) return memfd;
        return arena.allocate(Math.max(bytes, 1), 64).asSlice(0, bytes);
    }

    /**
     * A mapping of a new anonymous memory file ({@code memfd_create}, reopened through {@code /proc/self/fd} so
     * that a {@link FileChannel} maps it), every block written first; null where that is not available or fails.
     */
    static MemorySegment mapMemoryFile(Arena arena, long bytes) {
        if (MemoryFile.CREATE == null || MemoryFile.CLOSE == null) return null;
        int fd;
        try (Arena name = Arena.ofConfined()) {
            fd = (int) MemoryFile.CREATE.invokeExact(name.allocateFrom("sparse-infer-rows"), 0);
        } catch (Throwable t) {
            return null;
        }
        if (fd < 0) return null;
        try (FileChannel ch = FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            reserve(ch, bytes);
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        } finally {
            try {
                int ignored = (int) MemoryFile.CLOSE.invokeExact(fd);   // the mapping keeps the memory
            } catch (Throwable ignored) {
                // a leaked descriptor, not a wrong result
            }
        }
    }

    /** {@code memfd_create} and {@code close} from the C library, or null where they cannot be found (not Linux). */
    private static final class MemoryFile {
        static final MethodHandle CREATE = find("memfd_create", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        static final MethodHandle CLOSE = find("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

        private static MethodHandle find(String name, FunctionDescriptor descriptor) {
            if (!System.getProperty("os.name", "").startsWith("Linux")) return null;
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find(name).map(f -> linker.downcallHandle(f, descriptor)).orElse(null);
        }
    }

    /** Whether a store with {@code usableBytes} free (negative: unknown) takes a buffer of {@code bytes}. */
    static boolean fits(long bytes, long usableBytes) {
        return usableBytes >= 0 && bytes <= usableBytes - HEADROOM;
    }

    /** {@code /dev/shm} where it is a writable folder, then the temporary folder (Linux only has the former in RAM). */
    static List<Path> defaultStores() {
        List<Path> dirs = new ArrayList<>(2);
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) dirs.add(shm);
        else dirs.add(Path.of(System.getProperty("java.io.tmpdir")));
        return dirs;
    }

    /** Usable bytes of the file store holding {@code dir}; -1 when that cannot be read. */
    static long usableSpace(Path dir) {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return -1;
        }
    }

    /** A mapping of a new unlinked file of {@code bytes} in {@code dir}, every block written first; null when that fails. */
    private static MemorySegment mapInRam(Arena arena, long bytes, Path dir) {
        Path file = null;
        try {
            file = Files.createTempFile(dir, "sparse-infer-rows-", ".bin");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                reserve(ch, bytes);
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            }
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file); // the mapping keeps the memory until the arena releases it
                } catch (IOException | SecurityException ignored) {
                    // an unlinked-later temp file costs its space until the process exits; not worth failing for
                }
            }
        }
    }

    /**
     * Writes zeros over the whole file, so its blocks exist before it is mapped: a full store then fails here
     * ({@code ENOSPC}) instead of faulting on a write through the mapping. (Java has no {@code fallocate}.)
     */
    private static void reserve(FileChannel ch, long bytes) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(RESERVE_CHUNK, Math.max(bytes, 1)));
        long at = 0;
        while (at < bytes) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), bytes - at));
            while (zeros.hasRemaining()) at += ch.write(zeros, at);
        }
    }
}
