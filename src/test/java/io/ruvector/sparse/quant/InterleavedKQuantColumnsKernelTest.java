package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link InterleavedKQuantColumns}: every column of the multi-column kernel and of its scalar twin equals the
 * single-vector kernel ({@link InterleavedKQuant#dotQ8K}) on that column alone, bit for bit, for random shapes
 * (partial groups, group sub-ranges), 1..11 columns, extreme codes and activations (the suite runs it at 128, 256
 * and 512 bits).
 */
class InterleavedKQuantColumnsKernelTest {

    private static final int G = InterleavedKQuant.GROUP;
    private static final TensorType[] TYPES = {Q4_K.INSTANCE, Q6_K.INSTANCE};

    @Test
    void everyColumnEqualsTheSingleVectorKernelBitForBit() {
        for (TensorType type : TYPES) {
            for (int seed = 0; seed < 22; seed++) {
                Random rnd = new Random(seed * 104729L + type.blockBytes());
                int rows = seed % 3 == 0 ? 1 + rnd.nextInt(3 * G) : G * (1 + rnd.nextInt(3));
                int cols = 256 * (1 + rnd.nextInt(seed % 5 == 0 ? 12 : 4));
                int n = 1 + seed % 11;
                try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1)) {
                    Tensor w = new Tensor("w", type, rows, cols, InterleavedKQuantKernelTest.rawRows(arena, rnd, type, rows, cols));
                    InterleavedKQuant m = InterleavedKQuant.repack(w.matrix(), arena, pool);
                    Q8KActivation[] xs = new Q8KActivation[n + 1];   // one more than used: n is what counts
                    int[][] pairs = new int[n + 1][];
                    for (int t = 0; t <= n; t++) {
                        xs[t] = InterleavedKQuantKernelTest.activation(InterleavedKQuantKernelTest.values(rnd, cols, (seed + t) % 5));
                        pairs[t] = new int[cols / 2];
                        InterleavedKQuantColumns.pairCodes(xs[t], cols, pairs[t]);
                    }
                    int groupFrom = seed % 4 == 3 ? rnd.nextInt(m.groups()) : 0;
                    int groupTo = seed % 4 == 3 ? groupFrom + 1 + rnd.nextInt(m.groups() - groupFrom) : m.groups();
                    int outOffset = seed % 2 == 0 ? 0 : 7;
                    int stride = rows + seed % 3;
                    int size = outOffset + n * stride + 3;
                    float[] alone = new float[size];
                    float[] vec = new float[size];
                    float[] sc = new float[size];
                    Arrays.fill(alone, Float.NaN);
                    Arrays.fill(vec, Float.NaN);
                    Arrays.fill(sc, Float.NaN);
                    for (int t = 0; t < n; t++) m.dotQ8K(xs[t], alone, outOffset + t * stride, groupFrom, groupTo);
                    InterleavedKQuantColumns.dotQ8KColumns(m, xs, pairs, n, vec, outOffset, stride, groupFrom, groupTo);
                    InterleavedKQuantColumns.dotQ8KColumnsScalar(m, xs, pairs, n, sc, outOffset, stride, groupFrom, groupTo);
                    String where = type.ggmlType() + " " + rows + "x" + cols + " n " + n + " groups [" + groupFrom + ", "
                            + groupTo + ") seed " + seed + " bits " + Simd.bits();
                    for (int i = 0; i < size; i++) {
                        assertEquals(Float.floatToRawIntBits(alone[i]), Float.floatToRawIntBits(vec[i]), where + " vector at " + i);
                        assertEquals(Float.floatToRawIntBits(alone[i]), Float.floatToRawIntBits(sc[i]), where + " scalar at " + i);
                    }
                    int written = 0;
                    for (float v : vec) if (!Float.isNaN(v)) written++;
                    assertEquals(n * (Math.min(rows, groupTo * G) - groupFrom * G), written, where + ": exactly the groups' rows");
                }
            }
        }
    }

    @Test
    void badArgumentsAreRejected() {
        Random rnd = new Random(3);
        try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1)) {
            Tensor w = new Tensor("w", Q4_K.INSTANCE, G, 512, InterleavedKQuantKernelTest.rawRows(arena, rnd, Q4_K.INSTANCE, G, 512));
            InterleavedKQuant m = InterleavedKQuant.repack(w.matrix(), arena, pool);
            Q8KActivation x = InterleavedKQuantKernelTest.activation(InterleavedKQuantKernelTest.values(rnd, 512, 2));
            int[] pairs = new int[256];
            InterleavedKQuantColumns.pairCodes(x, 512, pairs);
            assertThrows(IllegalArgumentException.class, () -> InterleavedKQuantColumns.pairCodes(x, 512, new int[255]));
            assertThrows(IllegalArgumentException.class, () -> InterleavedKQuantColumns.dotQ8KColumns(m,
                    new Q8KActivation[] {x, x}, new int[][] {pairs, new int[10]}, 2, new float[2 * G], 0, G, 0, 1));
            assertThrows(IllegalArgumentException.class, () -> InterleavedKQuantColumns.dotQ8KColumns(m,
                    new Q8KActivation[] {x, x}, new int[][] {pairs, pairs}, 2, new float[2 * G - 1], 0, G, 0, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> InterleavedKQuantColumns.dotQ8KColumns(m,
                    new Q8KActivation[] {x}, new int[][] {pairs}, 1, new float[2 * G], 0, G, 0, 2));
            Tensor w2 = new Tensor("w2", Q2_K.INSTANCE, G, 512, InterleavedKQuantKernelTest.rawRows(arena, rnd, Q2_K.INSTANCE, G, 512));
            InterleavedKQuant m2 = InterleavedKQuant.repack(w2.matrix(), arena, pool);
            assertTrue(!InterleavedKQuantColumns.supports(m2.ggmlType()));
            assertThrows(IllegalArgumentException.class, () -> InterleavedKQuantColumns.dotQ8KColumns(m2,
                    new Q8KActivation[] {x}, new int[][] {pairs}, 1, new float[G], 0, G, 0, 1));
        }
    }
}
