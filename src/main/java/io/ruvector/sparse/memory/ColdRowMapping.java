package io.ruvector.sparse.memory;

import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;

/**
 * A second read-only mapping of a model file, through which a sparse model reads its cold FFN rows, advised
 * {@code MADV_RANDOM}.
 *
 * <p>Why a second mapping: cold rows are read a few at a time in no order, so on slow storage a page fault
 * should read that page, not a readahead window of rows nobody predicted. But advice belongs to a mapping, and
 * the model's own mapping also serves the dense prompt passes of every session, which stream whole matrices and
 * want readahead. Both mappings share the page cache, so the second costs address space and page-table entries,
 * not memory. Close it to unmap (with the sparse model).
 */
public final class ColdRowMapping implements AutoCloseable {

    private final Arena arena;
    private final MemorySegment data;     // the tensor-data region, in this mapping
    private final long fileDataAddress;   // the same region in the file's own mapping
    private final long dataSize;

    private ColdRowMapping(Arena arena, MemorySegment data, long fileDataAddress) {
        this.arena = arena;
        this.data = data;
        this.fileDataAddress = fileDataAddress;
        this.dataSize = data.byteSize();
    }

    /**
     * Maps {@code file}'s path again; null where advice would not reach the kernel (not Linux), the file was read
     * from memory (no path), or it cannot be mapped again: callers then read the rows in place, unadvised.
     */
    public static ColdRowMapping of(GgufFile file) {
        if (!MemoryHints.supported() || file.path() == null) return null;
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file.path(), StandardOpenOption.READ)) {
            long size = file.fileSize();
            if (ch.size() != size) {   // replaced since it was opened: the offsets would not match
                arena.close();
                return null;
            }
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            MemorySegment fileData = file.data();
            return new ColdRowMapping(arena, all.asSlice(file.dataOffset(), fileData.byteSize()), fileData.address());
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            arena.close();
            return null;
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * {@code t} (a tensor of the file) read through this mapping, its pages advised random-access.
     *
     * @throws IllegalArgumentException when {@code t} is not a tensor of the mapped file
     */
    public Tensor coldView(Tensor t) {
        long offset = t.data().address() - fileDataAddress;
        if (!t.data().isNative() || offset < 0 || offset + t.data().byteSize() > dataSize) {
            throw new IllegalArgumentException("tensor " + t.name() + " is not in the mapped model file");
        }
        MemorySegment seg = data.asSlice(offset, t.data().byteSize());
        MemoryHints.advise(seg, Advice.RANDOM);
        return new Tensor(t.name(), t.type(), t.rows(), t.cols(), seg);
    }

    /** True until {@link #close()}. */
    public boolean isOpen() { return arena.scope().isAlive(); }

    /** Unmaps. Idempotent; rows read through the mapping afterwards throw {@link IllegalStateException}. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
