package io.ruvector.sparse.quant;

import io.ruvector.sparse.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * What a repacking needs to know of a stored matrix: its name (for messages), type, shape and bytes. The
 * tensor package's {@code Tensor} gives one ({@code Tensor.matrix()}); this type keeps quant below tensor.
 *
 * @param name  tensor name
 * @param type  how the values are stored
 * @param rows  number of rows
 * @param cols  values per row
 * @param data  the rows, back to back
 */
public record QuantMatrix(String name, GgmlType type, int rows, int cols, MemorySegment data) {

    public QuantMatrix {
        if (rows < 0 || cols < 0 || data.byteSize() < type.bytesFor(cols) * rows) {
            throw new IllegalArgumentException("matrix " + name + ": " + rows + "x" + cols + " " + type + " needs "
                    + type.bytesFor(cols) * rows + " bytes, has " + data.byteSize());
        }
    }

    public GgmlType ggmlType() { return type; }

    public long rowBytes() { return type.bytesFor(cols); }
}
