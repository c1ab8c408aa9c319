package io.ruvector.sparse.tensor;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.quant.QuantMatrix;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;

import java.lang.foreign.MemorySegment;

/**
 * A 2-D (or 1-D) tensor read in place: a zero-copy slice of the mapped file plus the type that decodes it.
 * Row {@code r} holds {@code cols} values in {@link #rowBytes()} bytes starting at {@link #rowOffset(int)}.
 *
 * @param name  tensor name
 * @param type  how the values are stored
 * @param rows  number of rows (the product of every ggml dim but the first)
 * @param cols  values per row (ggml {@code ne[0]})
 * @param data  the tensor's bytes
 */
public record Tensor(String name, TensorType type, int rows, int cols, MemorySegment data) {

    public Tensor {
        long need = type.rowBytes(cols) * (long) rows;
        if (type.rowBytes(cols) < 0 || data.byteSize() < need) {
            throw new IllegalArgumentException("tensor " + name + ": " + rows + "x" + cols + " " + type.ggmlType()
                    + " needs " + need + " bytes, has " + data.byteSize());
        }
    }

    /** The tensor named in {@code file}, as a zero-copy view. */
    public static Tensor of(GgufFile file, TensorInfo info) {
        long rows = info.rows();
        long cols = info.rowLength();
        if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor " + info.name() + " is too large: " + rows + " rows of " + cols);
        }
        return new Tensor(info.name(), TensorTypes.of(info.type()), (int) rows, (int) cols, file.tensorData(info));
    }

    public static Tensor of(GgufFile file, String name) { return of(file, file.requireTensor(name)); }

    public GgmlType ggmlType() { return type.ggmlType(); }

    /**
     * Rows {@code from .. from+count} as a zero-copy tensor called {@code sliceName}: one part of a fused matrix
     * (phi3's [q | k | v] or [gate | up]). The name must be unique, as caches of repacked copies key on it.
     */
    public Tensor rowSlice(String sliceName, int from, int count) {
        if (from < 0 || count <= 0 || from + count > rows) {
            throw new IllegalArgumentException("tensor " + name + ": rows " + from + ".." + (from + count)
                    + " outside its " + rows + " rows");
        }
        return new Tensor(sliceName, type, count, cols, data.asSlice(rowOffset(from), count * rowBytes()));
    }

    public long rowBytes() { return type.rowBytes(cols); }

    /** This tensor as the quant package's kernels and repackings see a matrix. */
    public QuantMatrix matrix() { return new QuantMatrix(name, type.ggmlType(), rows, cols, data); }

    public long rowOffset(int row) { return row * rowBytes(); }

    /** Dot product of row {@code row} with {@code x[0..cols)} (Vector API kernel). */
    public float dotRow(int row, float[] x) { return type.dot(data, rowOffset(row), x, 0, cols); }

    /** Decodes row {@code row} into {@code dst[dstOffset..dstOffset+cols)}. */
    public void dequantizeRow(int row, float[] dst, int dstOffset) {
        type.dequantize(data, rowOffset(row), dst, dstOffset, cols);
    }

    /** The whole tensor decoded (tests and small tensors only: this allocates rows*cols floats). */
    public float[] toFloatArray() {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) dequantizeRow(r, out, r * cols);
        return out;
    }
}
