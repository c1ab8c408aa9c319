package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** IEEE float32, stored little-endian: no blocks, no scale. */
public final class F32 implements TensorType {

    public static final F32 INSTANCE = new F32();
    static final ValueLayout.OfFloat LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(Simd.LE);
    private static final VectorSpecies<Float> S = Simd.F;

    private F32() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.F32; }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        MemorySegment.copy(src, LAYOUT, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) sum += src.get(LAYOUT, offset + 4L * i) * x[xOffset + i];
        return sum;
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        // Two accumulators: one FMA chain alone is bound by FMA latency, not by loads.
        FloatVector acc0 = FloatVector.zero(S);
        FloatVector acc1 = FloatVector.zero(S);
        int len = S.length();
        int i = 0;
        for (int upper = n - 2 * len; i <= upper; i += 2 * len) {
            FloatVector w0 = FloatVector.fromMemorySegment(S, src, offset + 4L * i, Simd.LE);
            FloatVector w1 = FloatVector.fromMemorySegment(S, src, offset + 4L * (i + len), Simd.LE);
            acc0 = w0.fma(FloatVector.fromArray(S, x, xOffset + i), acc0);
            acc1 = w1.fma(FloatVector.fromArray(S, x, xOffset + i + len), acc1);
        }
        for (int upper = n - len; i <= upper; i += len) {
            FloatVector w0 = FloatVector.fromMemorySegment(S, src, offset + 4L * i, Simd.LE);
            acc0 = w0.fma(FloatVector.fromArray(S, x, xOffset + i), acc0);
        }
        float sum = VectorMath.sum(acc0.add(acc1));   // fixed order: see VectorMath.sum
        for (; i < n; i++) sum += src.get(LAYOUT, offset + 4L * i) * x[xOffset + i];
        return sum;
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        // Fused like the vector kernel, so the two agree bit for bit.
        for (int i = 0; i < n; i++) y[yOffset + i] = Math.fma(src.get(LAYOUT, offset + 4L * i), a, y[yOffset + i]);
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int len = S.length();
        int i = 0;
        for (int upper = n - len; i <= upper; i += len) {
            FloatVector w = FloatVector.fromMemorySegment(S, src, offset + 4L * i, Simd.LE);
            w.fma(FloatVector.broadcast(S, a), FloatVector.fromArray(S, y, yOffset + i)).intoArray(y, yOffset + i);
        }
        for (; i < n; i++) y[yOffset + i] = Math.fma(src.get(LAYOUT, offset + 4L * i), a, y[yOffset + i]);
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        MemorySegment.copy(src, srcOffset, dst, LAYOUT, offset, n);
    }
}
