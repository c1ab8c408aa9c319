package io.ruvector.sparse.sparse;

import io.ruvector.sparse.quant.GgmlType;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** Choosing a stored type for new tensors (predictors, transposed down projections) and encoding them. */
public final class Storage {

    private Storage() {}

    /**
     * The first type of {@code preferred} that we can encode and whose blocks fit a row of {@code rowLength};
     * F32 when none does.
     */
    public static GgmlType choose(List<GgmlType> preferred, int rowLength) {
        for (GgmlType t : preferred) {
            if (t != null && canEncode(t, rowLength)) return t;
        }
        return GgmlType.F32;
    }

    /** True when rows of {@code rowLength} values can be stored as {@code type} by our quantizers. */
    public static boolean canEncode(GgmlType type, int rowLength) {
        if (!TensorTypes.isSupported(type) || rowLength % type.blockSize() != 0) return false;
        try {
            TensorType tt = TensorTypes.of(type);
            float[] probe = new float[type.blockSize()];
            tt.quantize(probe, 0, MemorySegment.ofArray(new byte[type.blockBytes()]), 0, type.blockSize());
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    /** Encodes a row-major {@code rows x cols} float matrix as a heap-backed tensor of {@code type}. */
    public static Tensor encode(String name, GgmlType type, int rows, int cols, float[] values) {
        if (values.length < (long) rows * cols) {
            throw new IllegalArgumentException(name + ": " + rows + "x" + cols + " needs " + (long) rows * cols
                    + " values, got " + values.length);
        }
        TensorType tt = TensorTypes.of(type);
        long rowBytes = tt.rowBytes(cols);
        if (rowBytes < 0) throw new IllegalArgumentException(name + ": rows of " + cols + " do not fit " + type + " blocks");
        long total = rowBytes * rows;
        if (total > Integer.MAX_VALUE - 64) throw new IllegalArgumentException(name + " is too large for the heap: " + total);
        MemorySegment seg = MemorySegment.ofArray(new byte[(int) total]);
        for (int r = 0; r < rows; r++) tt.quantize(values, r * cols, seg, r * rowBytes, cols);
        return new Tensor(name, tt, rows, cols, seg);
    }
}
