package io.ruvector.sparse.gguf;

import io.ruvector.sparse.quant.GgmlType;

import java.util.Arrays;

/**
 * One entry of a GGUF tensor table.
 *
 * @param name   tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param dims   ggml order: {@code dims[0]} is the row length (contiguous), {@code dims[1]} the row count ...
 * @param type   element type
 * @param offset byte offset of the data relative to the start of the tensor-data region
 */
public record TensorInfo(String name, long[] dims, GgmlType type, long offset) {

    public TensorInfo {
        dims = dims.clone();
    }

    @Override
    public long[] dims() { return dims.clone(); }

    public int nDims() { return dims.length; }

    public long dim(int i) { return i < dims.length ? dims[i] : 1; }

    /** Values per row ({@code ne[0]}). */
    public long rowLength() { return dims.length == 0 ? 1 : dims[0]; }

    /** Number of rows: the product of every dim but the first. */
    public long rows() {
        long r = 1;
        for (int i = 1; i < dims.length; i++) r *= dims[i];
        return r;
    }

    public long elementCount() {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    /** Bytes of the tensor's data. */
    public long byteSize() { return type.bytesFor(elementCount()); }

    /** Bytes of one row. */
    public long rowBytes() { return type.bytesFor(rowLength()); }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && Arrays.equals(dims, t.dims)
                && type == t.type && offset == t.offset;
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(dims); }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims) + " @" + offset;
    }
}
