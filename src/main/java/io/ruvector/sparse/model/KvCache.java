package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.quant.F32;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A session's keys and values for every layer and position, off the Java heap.
 *
 * <p>Layout: per layer, keys then values, each {@code [kvHead][position][headDim]} so one head's keys for
 * consecutive positions are contiguous (the attention loop streams them). Values are stored in the cache
 * type with its own encoder and read back with its dot/axpy kernels. The memory belongs to an arena the
 * cache owns; {@link #close()} frees it.
 */
final class KvCache implements AutoCloseable {

    private final Arena arena = Arena.ofShared();
    private final TensorType type;
    private final MemorySegment memory;
    private final int kvHeads;
    private final int headDim;
    private final int capacity;
    private final long rowBytes;
    private final long headBytes;
    private final long layerBytes;

    KvCache(ModelConfig c, int capacity, KvCacheType cacheType) {
        if (!TensorTypes.isSupported(cacheType.ggmlType())) {
            arena.close();
            throw new UnsupportedOperationException("KV cache type " + cacheType + " needs tensor type "
                    + cacheType.ggmlType() + ", which is not supported yet");
        }
        this.type = TensorTypes.of(cacheType.ggmlType());
        this.kvHeads = c.kvHeads();
        this.headDim = c.headDim();
        this.capacity = capacity;
        this.rowBytes = type.rowBytes(headDim);
        this.headBytes = rowBytes * capacity;
        this.layerBytes = 2 * headBytes * kvHeads;
        long total = layerBytes * c.layers();
        try {
            this.memory = arena.allocate(total, 64);
        } catch (OutOfMemoryError | IllegalArgumentException e) {
            arena.close();
            throw new IllegalArgumentException("cannot allocate a KV cache of " + total + " bytes for " + capacity
                    + " positions; lower the context length", e);
        }
    }

    int capacity() { return capacity; }

    long byteSize() { return memory.byteSize(); }

    private long keyOffset(int layer, int kvHead, int pos) {
        return layer * layerBytes + kvHead * headBytes + pos * rowBytes;
    }

    private long valueOffset(int layer, int kvHead, int pos) {
        return keyOffset(layer, kvHead, pos) + kvHeads * headBytes;
    }

    /** Stores {@code n} tokens' keys and values (each {@code kvHeads*headDim} floats per token) at {@code pos..}. */
    void store(int layer, int pos, int n, float[] k, float[] v) {
        int kvDim = kvHeads * headDim;
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < kvHeads; h++) {
                int src = t * kvDim + h * headDim;
                type.quantize(k, src, memory, keyOffset(layer, h, pos + t), headDim);
                type.quantize(v, src, memory, valueOffset(layer, h, pos + t), headDim);
            }
        }
    }

    /** The key at {@code pos} of {@code kvHead} dotted with {@code q[qOffset .. +headDim)}. */
    float dotKey(int layer, int kvHead, int pos, float[] q, int qOffset) {
        return type.dot(memory, keyOffset(layer, kvHead, pos), q, qOffset, headDim);
    }

    /** {@code out[outOffset + i] += weight * value_i} for the value at {@code pos} of {@code kvHead}. */
    void addValue(int layer, int kvHead, int pos, float weight, float[] out, int outOffset) {
        type.axpy(weight, memory, valueOffset(layer, kvHead, pos), out, outOffset, headDim);
    }

    /**
     * Keys {@code 0 .. count-1} of {@code kvHead} transposed, as {@link VectorMath#transposedDots} reads them:
     * {@code kt[d * stride + s]} = element d of the key at position s; positions {@code count .. stride-1} zero.
     *
     * @param row scratch of at least {@code headDim} floats
     */
    void transposedKeys(int layer, int kvHead, int count, float[] kt, int stride, float[] row) {
        for (int s = 0; s < count; s++) {
            type.dequantize(memory, keyOffset(layer, kvHead, s), row, 0, headDim);
            for (int d = 0; d < headDim; d++) kt[d * stride + s] = row[d];
        }
        for (int d = 0; d < headDim; d++) Arrays.fill(kt, d * stride + count, (d + 1) * stride, 0f);
    }

    /**
     * {@code out[outOffset ..+headDim)} = the values at positions {@code from .. from+count-1} of {@code kvHead}
     * weighted by {@code weights[wOffset ..]}: the same result as {@link #addValue} for each position in order into
     * a zeroed {@code out} (for float32 values in one pass that keeps the sums in registers).
     */
    void weightedValues(int layer, int kvHead, int from, float[] weights, int wOffset, int count, float[] out, int outOffset) {
        if (type == F32.INSTANCE) {
            VectorMath.weightedRows(memory, valueOffset(layer, kvHead, from), rowBytes, weights, wOffset, count, out, outOffset, headDim);
        } else {
            Arrays.fill(out, outOffset, outOffset + headDim, 0f);
            for (int s = 0; s < count; s++) addValue(layer, kvHead, from + s, weights[wOffset + s], out, outOffset);
        }
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
