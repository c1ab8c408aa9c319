package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Q8_0#dotQ8Columns} (one row, several activations, each weight block decoded once) against its scalar twin
 * and against {@link Q8_0#dotQ8} column by column: the same bits, since batched decoding promises each sequence the
 * result it gets alone. Random rows of raw bytes (-128 included, the largest 16-bit products) with random fp16
 * scales, random lengths, offsets and every column count from 1 to 11 (every mix of the 4-, 2- and 1-column paths).
 */
class Q8_0ColumnsKernelTest {

    private static final Q8_0 Q = Q8_0.INSTANCE;

    private static MemorySegment rawRow(Arena arena, Random rnd, int blocks, long offset) {
        MemorySegment seg = arena.allocate(offset + 34L * blocks, 1);
        int kind = rnd.nextInt(4);
        for (int b = 0; b < blocks; b++) {
            long o = offset + 34L * b;
            for (int k = 0; k < 32; k++) {
                int v = kind == 0 ? 0x80 : kind == 1 ? 0x7F : rnd.nextInt(256);
                seg.set(ValueLayout.JAVA_BYTE, o + 2 + k, (byte) v);
            }
            float d = rnd.nextInt(8) == 0 ? 0f : (float) rnd.nextGaussian() * 0.01f;
            seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, o, Float.floatToFloat16(d));
        }
        return seg;
    }

    private static Q8Activation activation(Random rnd, int n) {
        float[] x = new float[n];
        int kind = rnd.nextInt(4);
        for (int i = 0; i < n; i++) x[i] = kind == 0 ? -3f : (float) rnd.nextGaussian();   // kind 0: every code -127
        Q8Activation q = new Q8Activation(n);
        q.quantize(x, 0, n);
        return q;
    }

    @Test
    void everyColumnIsTheSingleVectorKernelsBitsAndTheScalarTwins() {
        for (int seed = 0; seed < 60; seed++) {
            Random rnd = new Random(seed * 7919L);
            int blocks = seed % 5 == 0 ? 60 + rnd.nextInt(120) : 1 + rnd.nextInt(9);
            int n = 32 * blocks;
            long offset = rnd.nextInt(40);
            int count = 1 + seed % 11;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment row = rawRow(arena, rnd, blocks, offset);
                Q8Activation[] xs = new Q8Activation[count + 2];   // longer than count: only count are read
                float[][] codes = new float[xs.length][n];
                for (int t = 0; t < xs.length; t++) {
                    xs[t] = activation(rnd, n);
                    xs[t].codesTo(codes[t], 0);
                }
                int stride = 1 + rnd.nextInt(5);
                int start = rnd.nextInt(3);
                float[] vec = new float[start + count * stride];
                float[] sc = new float[vec.length];
                java.util.Arrays.fill(vec, Float.NaN);
                java.util.Arrays.fill(sc, Float.NaN);
                Q.dotQ8Columns(row, offset, xs, codes, count, n, vec, start, stride);
                Q.dotQ8ColumnsScalar(row, offset, xs, count, n, sc, start, stride);
                String where = "n=" + n + " columns=" + count + " seed=" + seed + " bits=" + Simd.bits();
                for (int t = 0; t < count; t++) {
                    float alone = Q.dotQ8(row, offset, xs[t], 0, n);
                    int at = start + t * stride;
                    assertEquals(Float.floatToRawIntBits(alone), Float.floatToRawIntBits(vec[at]), where + ": column " + t + " vs dotQ8");
                    assertEquals(Float.floatToRawIntBits(alone), Float.floatToRawIntBits(sc[at]), where + ": column " + t + " scalar twin");
                }
                for (int i = 0; i < vec.length; i++) {
                    if ((i - start) % stride != 0 || i < start) assertEquals(Float.NaN, vec[i], where + ": wrote outside its columns at " + i);
                }
            }
        }
    }

    @Test
    void anActivationShorterThanTheRowIsRefused() {
        Random rnd = new Random(3);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment row = rawRow(arena, rnd, 4, 0);
            Q8Activation[] xs = {activation(rnd, 128), activation(rnd, 64)};
            float[][] codes = {new float[128], new float[128]};
            assertThrows(IllegalArgumentException.class, () -> Q.dotQ8Columns(row, 0, xs, codes, 2, 128, new float[2], 0, 1));
            float[][] shortCodes = {new float[128], new float[64]};
            Q8Activation[] both = {xs[0], activation(rnd, 128)};
            assertThrows(IllegalArgumentException.class, () -> Q.dotQ8Columns(row, 0, both, shortCodes, 2, 128, new float[2], 0, 1));
        }
    }
}
