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
 * IEEE binary16, stored little-endian. Quantizer: round to nearest even ({@link Float#floatToFloat16}), as
 * ggml's F16C path.
 *
 * <p>The Vector API has no half-float conversion, so the kernels widen the bits with integer operations:
 * the 15 magnitude bits moved to a float's exponent/mantissa position and multiplied by 2^112 give the exact
 * value for normal and subnormal halves; the all-ones exponent (inf/NaN) is patched before the multiply.
 */
public final class F16 implements TensorType {

    public static final F16 INSTANCE = new F16();

    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final VectorSpecies<Short> SH = Simd.S_HALF;
    private static final int L = F.length();

    private F16() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.F16; }

    private static float value(MemorySegment src, long offset, int i) { return Fp16.read(src, offset + 2L * i); }

    /** L halves at {@code offset} as floats, exactly. */
    static FloatVector load(MemorySegment src, long offset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(SH, src, offset, Simd.LE).convertShape(VectorOperators.S2I, I, 0);
        IntVector mag = h.lanewise(VectorOperators.LSHL, 17).lanewise(VectorOperators.LSHR, 4);
        mag = mag.lanewise(VectorOperators.OR, 0x70000000, mag.compare(VectorOperators.GE, 0x0f800000));
        FloatVector abs = mag.reinterpretAsFloats().mul(0x1p112f);
        return abs.reinterpretAsInts().or(h.and(0x80000000)).reinterpretAsFloats();
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
        for (int i = 0; i < n; i++) Fp16.write(dst, offset + 2L * i, src[srcOffset + i]);
    }
}
