package io.ruvector.sparse.bench;

import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

/**
 * Enough copies of one weight matrix that cycling through them streams from DRAM, not from cache.
 *
 * <p>Speed does not depend on the values, so a few distinct random rows are quantized once and copied into
 * every row; the memory itself is all distinct. {@code mapped} puts the weights in a memory-mapped temp file
 * (4 KiB page-cache pages, as a model file is read) instead of anonymous off-heap memory.
 */
final class Weights {

    private Weights() {}

    static Tensor[] matrices(Arena arena, TensorType type, int rows, int cols, long minTotalBytes, boolean mapped)
            throws IOException {
        long matrixBytes = type.rowBytes(cols) * rows;
        int count = (int) Math.max(2, (minTotalBytes + matrixBytes - 1) / matrixBytes);
        long total = matrixBytes * count;
        MemorySegment all;
        if (mapped) {
            Path file = Files.createTempFile("sparse-infer-bench", ".bin");
            file.toFile().deleteOnExit();
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                all = ch.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
            }
            Files.delete(file);
        } else {
            all = arena.allocate(total, 4096);
        }
        int distinct = 16;
        long rowBytes = type.rowBytes(cols);
        MemorySegment sample = arena.allocate(rowBytes * distinct);
        Random rnd = new Random(42);
        float[] v = new float[cols];
        for (int r = 0; r < distinct; r++) {
            for (int i = 0; i < cols; i++) v[i] = (float) (rnd.nextGaussian() * 0.02);
            type.quantize(v, 0, sample, r * rowBytes, cols);
        }
        Tensor[] out = new Tensor[count];
        for (int m = 0; m < count; m++) {
            MemorySegment data = all.asSlice(m * matrixBytes, matrixBytes);
            for (int r = 0; r < rows; r++) MemorySegment.copy(sample, (r % distinct) * rowBytes, data, r * rowBytes, rowBytes);
            out[m] = new Tensor("w" + m, type, rows, cols, data);
        }
        return out;
    }

    static float[] activations(int n) {
        Random rnd = new Random(7);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
