package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * bfloat16 (the upper 16 bits of a float), stored little-endian. Quantizer: ggml's rounding, to nearest even
 * with NaN kept ({@link Fp16#floatToBf16}).
 */
public final class BF16 implements TensorType {

    public static final BF16 INSTANCE = new BF16();

    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Short> SH = Simd.S_HALF;
    private static final int L = F.length();

    private BF16() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.BF16; }

    private static float value(MemorySegment src, long offset, int i) {
        return Fp16.bf16ToFloat(src.get(Layouts.SHORT_LE, offset + 2L * i));
    }

    private static FloatVector load(MemorySegment src, long offset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(SH, src, offset, Simd.LE).convertShape(VectorOperators.S2I, I, 0);
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) dst[dstOffset + i] = value(src, offset, i);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) sum += value(src, offset, i) * x[xOffset + i];
        return sum;
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        int i = 0;
        for (int upper = n - 2 * L; i <= upper; i += 2 * L) {
            acc0 = load(src, offset + 2L * i).fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
            acc1 = load(src, offset + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xOffset + i + L), acc1);
        }
        for (int upper = n - L; i <= upper; i += L) {
            acc0 = load(src, offset + 2L * i).fma(FloatVector.fromArray(F, x, xOffset + i), acc0);
        }
        float sum = VectorMath.sum(acc0.add(acc1));
        for (; i < n; i++) sum += value(src, offset, i) * x[xOffset + i];
        return sum;
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        for (int i = 0; i < n; i++) y[yOffset + i] = Math.fma(value(src, offset, i), a, y[yOffset + i]);
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        FloatVector va = FloatVector.broadcast(F, a);
        int i = 0;
        for (int upper = n - L; i <= upper; i += L) {
            load(src, offset + 2L * i).fma(va, FloatVector.fromArray(F, y, yOffset + i)).intoArray(y, yOffset + i);
        }
        for (; i < n; i++) y[yOffset + i] = Math.fma(value(src, offset, i), a, y[yOffset + i]);
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        for (int i = 0; i < n; i++) dst.set(Layouts.SHORT_LE, offset + 2L * i, Fp16.floatToBf16(src[srcOffset + i]));
    }
}
