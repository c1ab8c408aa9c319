package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.gguf.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The i-quant, ternary and MXFP4 kernels on random raw blocks: every code and scale field filled with random
 * bits (a quantizer only writes some of them: IQ4_XS's most negative sub-scales, MXFP4's far exponents), so
 * the decoders see every bit pattern. Vector decoding must equal the scalar decoding bit for bit; dot and axpy
 * must agree with their scalar twins within the rounding of a different summation order. Runs at the default
 * width and at 128/256/512 bits.
 */
class IQuantKernelTest {

    /** A row of {@code blocks} random blocks at byte {@code offset}, with its scale fields kept finite. */
    private static MemorySegment randomRow(Arena arena, TensorType t, Random rnd, int blocks, long offset) {
        MemorySegment seg = arena.allocate(offset + t.rowBytes(blocks * t.blockSize()) + 16);
        for (long i = 0; i < seg.byteSize(); i++) seg.set(Layouts.BYTE, i, (byte) rnd.nextInt(256));
        for (int b = 0; b < blocks; b++) {
            long blk = offset + (long) b * t.blockBytes();
            // An fp16 scale of either sign over 2^-14 .. 2^1, or (for MXFP4) an exponent 2^-20 .. 2^20.
            float scale = (float) ((rnd.nextBoolean() ? 1 : -1) * Math.pow(2, -14 + 15 * rnd.nextDouble()));
            switch (t.ggmlType()) {
                case IQ4_XS -> Fp16.write(seg, blk, scale);
                case TQ1_0 -> Fp16.write(seg, blk + 52, scale);
                case TQ2_0 -> Fp16.write(seg, blk + 64, scale);
                case MXFP4 -> seg.set(Layouts.BYTE, blk, (byte) (108 + rnd.nextInt(41)));
                default -> throw new IllegalArgumentException(t.ggmlType().name());
            }
        }
        return seg;
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4"})
    void vectorKernelsMatchTheirScalarTwinsOnRandomBlocks(GgmlType type) {
        TensorType t = TensorTypes.of(type);
        for (int seed = 0; seed < 40; seed++) {
            Random rnd = new Random(seed * 1009L + type.id());
            int blocks = (1 + rnd.nextInt(seed % 4 == 0 ? 16 : 4)) * (256 / t.blockSize());
            int n = blocks * t.blockSize();
            long off = rnd.nextInt(7);
            int xOff = rnd.nextInt(5);
            String where = type + " n=" + n + " seed=" + seed + " bits=" + Simd.bits();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = randomRow(arena, t, rnd, blocks, off);

                float[] scalar = new float[xOff + n + 2];
                float[] vector = new float[xOff + n + 2];
                t.dequantize(seg, off, scalar, xOff, n);
                t.dequantizeVector(seg, off, vector, xOff, n);
                for (int i = 0; i < scalar.length; i++) {
                    assertEquals(Float.floatToRawIntBits(scalar[i]), Float.floatToRawIntBits(vector[i]), where + " value " + i);
                }

                float[] x = new float[xOff + n];
                for (int i = 0; i < n; i++) x[xOff + i] = (float) rnd.nextGaussian();
                double ref = 0;
                double mag = 0;
                for (int i = 0; i < n; i++) {
                    ref += (double) scalar[xOff + i] * x[xOff + i];
                    mag += Math.abs((double) scalar[xOff + i] * x[xOff + i]);
                }
                double tol = 1e-6 * (8 + Math.sqrt(n)) * mag;
                float sd = t.dotScalar(seg, off, x, xOff, n);
                float vd = t.dot(seg, off, x, xOff, n);
                assertTrue(Math.abs(sd - ref) <= tol, where + ": scalar dot " + sd + " vs " + ref);
                assertTrue(Math.abs(vd - ref) <= tol, where + ": vector dot " + vd + " vs " + ref);

                float a = (float) rnd.nextGaussian();
                float[] y0 = new float[xOff + n];
                for (int i = 0; i < y0.length; i++) y0[i] = (float) rnd.nextGaussian();
                float[] ys = y0.clone();
                float[] yv = y0.clone();
                t.axpyScalar(a, seg, off, ys, xOff, n);
                t.axpy(a, seg, off, yv, xOff, n);
                for (int i = 0; i < xOff; i++) assertEquals(y0[i], yv[i], 0f, where + ": prefix touched");
                for (int i = 0; i < n; i++) {
                    double e = y0[xOff + i] + (double) a * scalar[xOff + i];
                    double ti = 1e-6 * (Math.abs(y0[xOff + i]) + Math.abs(a * scalar[xOff + i])) + 1e-30;
                    assertTrue(Math.abs(ys[xOff + i] - e) <= ti, where + " i=" + i + ": scalar axpy " + ys[xOff + i] + " vs " + e);
                    assertTrue(Math.abs(yv[xOff + i] - e) <= ti, where + " i=" + i + ": vector axpy " + yv[xOff + i] + " vs " + e);
                }
            }
        }
    }
}
