package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.quant.Int8DotProduct;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.quant.QuantTestData;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Matrix-vector products: the type's own kernels, same bits for any thread count and either precision. */
class MatVecKernelTest {

    private static final int[] THREADS = {1, 2, 3, 4, 7};
    private static Parallel[] pools;

    @BeforeAll
    static void pools() {
        pools = new Parallel[THREADS.length];
        for (int i = 0; i < THREADS.length; i++) pools[i] = new Parallel(THREADS[i]);
    }

    @AfterAll
    static void close() {
        for (Parallel p : pools) p.close();
    }

    static Stream<TensorType> types() { return TensorTypes.all().stream(); }

    private static Tensor randomTensor(Arena arena, TensorType t, Random rnd, int rows, int cols) {
        long rowBytes = t.rowBytes(cols);
        MemorySegment data = arena.allocate(rowBytes * rows);
        for (int r = 0; r < rows; r++) t.quantize(QuantTestData.values(rnd, cols), 0, data, r * rowBytes, cols);
        return new Tensor("w", t, rows, cols, data);
    }

    @ParameterizedTest
    @MethodSource("types")
    void resultsDoNotDependOnThreadCount(TensorType t) {
        Random rnd = new Random(t.ggmlType().id());
        int block = Math.max(32, t.blockSize());
        for (int round = 0; round < 2; round++) {
            int rows = 1 + rnd.nextInt(150);
            int cols = block * (1 + rnd.nextInt(Math.max(1, 1024 / block)));
            try (Arena arena = Arena.ofShared()) {
                Tensor w = randomTensor(arena, t, rnd, rows, cols);
                float[] x = QuantTestData.values(rnd, cols);
                Q8Activation quantized = new Q8Activation(cols);
                quantized.quantize(x, 0, cols);
                for (Q8Activation xq : new Q8Activation[] {null, quantized}) {
                    String p = xq == null ? "f32" : "int8";
                    float[] expected = new float[rows];
                    for (int r = 0; r < rows; r++) expected[r] = w.dotRow(r, x);
                    if (xq != null && t instanceof Int8DotProduct k) {
                        for (int r = 0; r < rows; r++) expected[r] = k.dotQ8(w.data(), w.rowOffset(r), xq, 0, cols);
                    }
                    for (Parallel pool : pools) {
                        float[] out = new float[rows + 1];
                        out[rows] = 42f;
                        MatVec.matvec(w, x, xq, out, pool);
                        for (int r = 0; r < rows; r++) {
                            assertEquals(Float.floatToRawIntBits(expected[r]), Float.floatToRawIntBits(out[r]),
                                    t.ggmlType() + " " + p + " " + rows + "x" + cols + " threads " + pool.threads() + " row " + r);
                        }
                        assertEquals(42f, out[rows], "wrote past the rows");
                    }
                }
            }
        }
    }

    @Test
    void rejectsMismatchedShapes() {
        try (Arena arena = Arena.ofShared()) {
            Tensor w = randomTensor(arena, TensorTypes.all().get(0), new Random(1), 4, 64);
            assertThrows(IllegalArgumentException.class, () -> MatVec.matvec(w, new float[63], new float[4], pools[1]));
            assertThrows(IllegalArgumentException.class, () -> MatVec.matvec(w, new float[64], new float[3], pools[1]));
        }
    }
}
