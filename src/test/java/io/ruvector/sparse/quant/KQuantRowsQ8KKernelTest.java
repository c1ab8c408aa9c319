package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The per-row Q8_K kernels on the file's layout ({@link Q8KDotProduct}: Q4_K, Q5_K, Q6_K) against their scalar
 * twins and against the interleaved product of the same rows ({@link InterleavedKQuant}, what dense decoding
 * computes), bit for bit, at every vector width the suite forces: the sparse block's gate and up products equal
 * the dense block's.
 */
class KQuantRowsQ8KKernelTest {

    private static final TensorType[] TYPES = {Q4_K.INSTANCE, Q5_K.INSTANCE, Q6_K.INSTANCE};

    @Test
    void vectorEqualsScalarTwinAndTheInterleavedProductBitForBit() {
        for (TensorType type : TYPES) {
            Q8KDotProduct rowDot = (Q8KDotProduct) type;
            for (int seed = 0; seed < 12; seed++) {
                Random rnd = new Random(seed * 31L + type.blockBytes());
                int rows = 1 + rnd.nextInt(70);
                int cols = 256 * (1 + rnd.nextInt(seed % 4 == 0 ? 22 : 4));
                try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(1)) {
                    Tensor w = new Tensor("w", type, rows, cols, InterleavedKQuantKernelTest.rawRows(arena, rnd, type, rows, cols));
                    InterleavedKQuant m = InterleavedKQuant.repack(w.matrix(), arena, pool);
                    Q8KActivation x = InterleavedKQuantKernelTest.activation(InterleavedKQuantKernelTest.values(rnd, cols, seed % 4));
                    float[] dense = new float[rows];
                    m.dotQ8KScalar(x, dense, 0, 0, m.groups());
                    for (int r = 0; r < rows; r++) {
                        float vec = rowDot.dotQ8K(w.data(), w.rowOffset(r), x, cols);
                        float sc = rowDot.dotQ8KScalar(w.data(), w.rowOffset(r), x, cols);
                        String where = type.ggmlType() + " row " + r + " of " + rows + "x" + cols + " seed " + seed + " bits " + Simd.bits();
                        assertEquals(Float.floatToRawIntBits(dense[r]), Float.floatToRawIntBits(sc), where + " scalar twin");
                        assertEquals(Float.floatToRawIntBits(sc), Float.floatToRawIntBits(vec), where + " vector");
                    }
                }
            }
        }
    }

    @Test
    void badArgumentsAreRefusedByName() {
        try (Arena arena = Arena.ofConfined()) {
            Q8KActivation x = new Q8KActivation(512);
            x.quantize(new float[512], 0, 512);
            var seg = arena.allocate(2L * Q4_K.BYTES);
            assertThrows(IllegalArgumentException.class, () -> Q4_K.INSTANCE.dotQ8K(seg, 0, x, 300));
            assertThrows(IllegalArgumentException.class, () -> Q4_K.INSTANCE.dotQ8K(seg, 0, x, 768));
            assertThrows(IndexOutOfBoundsException.class, () -> Q4_K.INSTANCE.dotQ8K(seg, 1, x, 512));
            assertEquals(0f, Q4_K.INSTANCE.dotQ8K(seg, 0, x, 512));
        }
    }
}
