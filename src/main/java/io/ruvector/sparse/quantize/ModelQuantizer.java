package io.ruvector.sparse.quantize;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.memory.Advice;
import io.ruvector.sparse.memory.MemoryHints;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Requantizes a GGUF model into another type or one of llama-quantize's mixes ({@link QuantizePlan} decides
 * each tensor's type), as {@code llama-quantize} does and with the same output layout: the input's metadata
 * with {@code general.quantization_version} and {@code general.file_type} set (moved to the end, where
 * llama.cpp puts keys it sets), tensors in llama.cpp's order (by layer, then name), data aligned as in the
 * input (32 by default).
 *
 * <p>Streaming: the input is memory-mapped; the output's header is written first (all sizes follow from the
 * plan) and each tensor is then decoded and re-encoded straight into its mapped region of the output, rows
 * spread over the pool's threads. Nothing larger than a row is held on the heap, and the pages of a finished
 * tensor are released on both sides, so memory stays bounded by about one tensor.
 *
 * <p>Every row is converted whole by one thread with the same scalar-exact encoder, so the bytes do not
 * depend on the thread count. The file is written atomically: a temporary file beside the output, renamed
 * over it when complete, deleted on failure or when the JVM is stopped (Ctrl-C) midway.
 */
public final class ModelQuantizer {

    /** {@code general.quantization_version}: ggml's current block layouts (GGML_QNT_VERSION). */
    public static final int QUANTIZATION_VERSION = 2;

    /** Keys of a split model's shards, which a single output file must not carry. */
    private static final List<String> SPLIT_KEYS = List.of("split.no", "split.count", "split.tensors.count");

    private ModelQuantizer() {}

    /**
     * Quantizes the model at {@code input} into {@code output} (replacing it).
     *
     * @return the plan that was written
     * @throws IllegalArgumentException naming the problem when the input cannot be made into the mix
     */
    public static QuantizePlan quantize(Path input, Path output, QuantizeOptions options, Parallel pool,
                                        GgufWriter.Progress progress) throws IOException {
        if (!Files.isRegularFile(input)) throw new IllegalArgumentException("no such file: " + input);
        Path dir = output.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("output directory " + dir + " does not exist");
        }
        try (GgufFile in = GgufFile.open(input)) {
            QuantizePlan plan = QuantizePlan.of(in, options);
            writer(in, plan, pool).progress(progress).writeAtomically(output);
            return plan;
        }
    }

    /**
     * A writer with the output's metadata and tensors declared; the tensors are converted from {@code in}
     * (which must stay open) while it writes.
     */
    public static GgufWriter writer(GgufFile in, QuantizePlan plan, Parallel pool) {
        GgufWriter w = new GgufWriter();
        w.putAll(in.metadata());
        SPLIT_KEYS.forEach(w::remove);
        w.remove("general.quantization_version").putU32("general.quantization_version", QUANTIZATION_VERSION);
        w.remove("general.file_type").putU32("general.file_type", plan.mix().fileType());
        for (QuantizePlan.Entry e : plan.tensors()) {
            MemorySegment src = in.tensorData(e.source());
            w.addTensor(e.name(), e.target(), e.source().dims(), dst -> {
                if (e.converts()) convert(e, src, dst, pool);
                else MemorySegment.copy(src, 0, dst, 0, src.byteSize());
                release(src);
            });
        }
        return w;
    }

    /** Decodes each row to floats and encodes it in the target type, rows shared among the pool's threads. */
    private static void convert(QuantizePlan.Entry e, MemorySegment src, MemorySegment dst, Parallel pool) {
        TensorType from = TensorTypes.of(e.source().type());
        TensorType to = TensorTypes.of(e.target());
        long rowLength = e.source().rowLength();
        long rowCount = e.source().rows();
        if (rowLength > Integer.MAX_VALUE || rowCount > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor '" + e.name() + "' has more rows or columns than 2^31");
        }
        int n = (int) rowLength;
        int rows = (int) rowCount;
        long srcRowBytes = e.source().type().bytesFor(n);
        long dstRowBytes = e.target().bytesFor(n);
        pool.forRange(rows, (long) rows * n, (first, end) -> {
            float[] row = new float[n];
            for (int r = first; r < end; r++) {
                from.dequantizeVector(src, r * srcRowBytes, row, 0, n);
                checkFinite(e, row, r);
                to.quantize(row, 0, dst, r * dstRowBytes, n);
            }
        });
    }

    /** A NaN or infinity would poison a whole block's scale; llama-quantize refuses such data too. */
    private static void checkFinite(QuantizePlan.Entry e, float[] row, int r) {
        for (int i = 0; i < row.length; i++) {
            if (!Float.isFinite(row[i])) {
                throw new IllegalArgumentException("tensor '" + e.name() + "' has a non-finite value (" + row[i]
                        + ") in row " + r + " at column " + i);
            }
        }
    }

    /** Lets the kernel drop the input pages of a tensor already converted: RSS stays about one tensor. */
    private static void release(MemorySegment src) {
        if (src.isMapped() && src.byteSize() > 0) MemoryHints.advise(src, Advice.DONTNEED);
    }
}
