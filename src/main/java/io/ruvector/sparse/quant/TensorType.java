package io.ruvector.sparse.quant;

import io.ruvector.sparse.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * How one ggml tensor type stores its values, and the kernels that consume it in place.
 *
 * <p>Each implementation is one small class per type ({@code F32}, {@code Q8_0}, {@code Q4_K}, ...).
 * All offsets are byte offsets into a {@link MemorySegment} (usually a slice of a memory-mapped GGUF file);
 * {@code n} counts values and must be a whole number of blocks. Nothing is copied: kernels load straight
 * from the segment with unaligned little-endian accesses.
 *
 * <p>Every Vector API kernel has a scalar twin ({@link #dequantize} of {@link #dequantizeVector}, {@link #dotScalar}, {@link #axpyScalar})
 * that is the specification it is tested against.
 */
public interface TensorType {

    GgmlType ggmlType();

    default int blockSize() { return ggmlType().blockSize(); }

    default int blockBytes() { return ggmlType().blockBytes(); }

    /** Bytes taken by a row of {@code n} values. */
    default long rowBytes(int n) { return ggmlType().bytesFor(n); }

    /** Scalar reference: decode {@code n} values starting at {@code offset} into {@code dst[dstOffset..]}. */
    void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n);

    /**
     * The same floats as {@link #dequantize}, bit for bit, decoded with Vector API kernels where the type has
     * them: batched products decode every weight once per batch, so decoding must not cost more than the
     * multiply-adds it feeds. Default: the scalar reference.
     */
    default void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        dequantize(src, offset, dst, dstOffset, n);
    }

    /** Scalar reference of {@link #dot}: sum over i of value(i) * x[xOffset + i]. */
    float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n);

    /** Vector API fused dot product of {@code n} stored values with float activations. */
    float dot(MemorySegment src, long offset, float[] x, int xOffset, int n);

    /** Scalar reference of {@link #axpy}: y[yOffset + i] += a * value(i). */
    void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n);

    /** Vector API fused y += a * row, the building block of the sparse down projection. */
    void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n);

    /**
     * Encodes {@code n} floats into this type at {@code dst[offset..]}. Round-to-nearest quantizers
     * (documented per type) are enough for tests and synthetic models.
     *
     * @throws UnsupportedOperationException for types we only read
     */
    void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n);
}
