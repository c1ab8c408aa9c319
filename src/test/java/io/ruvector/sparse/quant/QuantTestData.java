package io.ruvector.sparse.quant;

import io.ruvector.sparse.gguf.GgmlType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Seeded test inputs for the tensor-type kernels. */
public final class QuantTestData {

    private QuantTestData() {}

    /**
     * n floats whose 32-value blocks vary the way weights and activations do: normal values at a per-block scale
     * 10^U(-3, 2), some all-zero blocks, occasional outliers, some positive-only blocks.
     */
    public static float[] values(Random rnd, int n) {
        float[] v = new float[n];
        for (int b = 0; b < n; b += 32) {
            int kind = rnd.nextInt(10);
            double scale = Math.pow(10, -3 + 5 * rnd.nextDouble());
            for (int j = b; j < Math.min(n, b + 32); j++) {
                double g = rnd.nextGaussian();
                v[j] = switch (kind) {
                    case 0 -> 0f;
                    case 1 -> (float) (Math.abs(g) * scale);
                    case 2 -> (float) ((rnd.nextInt(16) == 0 ? 30 : 1) * g * scale);
                    default -> (float) (g * scale);
                };
            }
        }
        return v;
    }

    /** A row of {@code n} values of {@code type} at byte {@code offset} of a fresh segment, quantized from {@code v}. */
    public static MemorySegment quantized(Arena arena, TensorType type, float[] v, int n, long offset) {
        MemorySegment seg = arena.allocate(offset + type.rowBytes(n) + 64);
        type.quantize(v, 0, seg, offset, n);
        return seg;
    }

    /** Decoded values of a row, in double. */
    public static double[] decoded(TensorType type, MemorySegment seg, long offset, int n) {
        float[] f = new float[n];
        type.dequantize(seg, offset, f, 0, n);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = f[i];
        return d;
    }

    /** True for the types {@link #exactRow} can build. */
    public static boolean hasExactRows(GgmlType t) {
        return switch (t) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL -> true;
            default -> false;
        };
    }

    /**
     * A row whose decoded values are small multiples of 1/4 (random codes, power-of-two scales, quarter-integer
     * mins), so that with small-integer activations every product and partial sum is exact in float: then any
     * summation order gives the same bits, and vector and scalar kernels must agree exactly.
     */
    public static MemorySegment exactRow(Arena arena, TensorType type, Random rnd, int n, long offset) {
        MemorySegment seg = arena.allocate(offset + type.rowBytes(n) + 64);
        for (long i = 0; i < type.rowBytes(n); i++) seg.set(Layouts.BYTE, offset + i, (byte) rnd.nextInt(256));
        GgmlType t = type.ggmlType();
        switch (t) {
            case F32 -> {
                for (int i = 0; i < n; i++) seg.set(Layouts.FLOAT_LE, offset + 4L * i, (rnd.nextInt(65) - 32) * 0.25f);
            }
            case F16 -> {
                for (int i = 0; i < n; i++) Fp16.write(seg, offset + 2L * i, (rnd.nextInt(65) - 32) * 0.25f);
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    seg.set(Layouts.SHORT_LE, offset + 2L * i, Fp16.floatToBf16((rnd.nextInt(65) - 32) * 0.25f));
                }
            }
            default -> {
                if (!hasExactRows(t)) throw new IllegalArgumentException("no exact rows for " + t);
                boolean hasMin = t == GgmlType.Q4_1 || t == GgmlType.Q5_1;
                for (int b = 0; b < n / 32; b++) {
                    long bo = offset + (long) b * type.blockBytes();
                    Fp16.write(seg, bo, rnd.nextBoolean() ? 0.25f : 0.5f);
                    if (hasMin) Fp16.write(seg, bo + 2, (rnd.nextInt(17) - 8) * 0.25f);
                }
            }
        }
        return seg;
    }

    /** Activations that are small integers, for {@link #exactRow}. */
    public static float[] smallIntegers(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rnd.nextInt(9) - 4;
        return x;
    }

    /**
     * Activations that quantize to int8 exactly: per block codes in [-15, 15] times a power-of-two step, with one
     * value at +-127 steps so that the block scale is exactly the step.
     */
    public static float[] exactInt8Activations(Random rnd, int n) {
        float[] x = new float[n];
        for (int b = 0; b < n; b += 32) {
            float step = rnd.nextBoolean() ? 0.25f : 0.5f;
            for (int j = b; j < b + 32; j++) x[j] = (rnd.nextInt(31) - 15) * step;
            x[b + rnd.nextInt(32)] = (rnd.nextBoolean() ? 127 : -127) * step;
        }
        return x;
    }
}
