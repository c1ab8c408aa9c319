package io.ruvector.sparse.kernels;

import io.ruvector.sparse.SteadyState;
import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.quant.QuantTestData;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Decode calls matvec ~150 times a token: once warm, a call must not allocate. */
class MatVecAllocationTest {

    @Test
    void warmMatvecAllocatesNothingOnTheCallingThread() {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        TensorType t = TensorTypes.of(GgmlType.Q4_0);
        int rows = 64;
        int cols = 256;
        try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(2)) {
            MemorySegment data = arena.allocate(t.rowBytes(cols) * rows);
            Random rnd = new Random(1);
            for (int r = 0; r < rows; r++) t.quantize(QuantTestData.values(rnd, cols), 0, data, r * t.rowBytes(cols), cols);
            Tensor w = new Tensor("w", t, rows, cols, data);
            float[] x = QuantTestData.values(rnd, cols);
            float[] out = new float[rows];
            Q8Activation quantized = new Q8Activation(cols);
            for (Q8Activation xq : new Q8Activation[] {null, quantized}) {
                String p = xq == null ? "f32" : "int8";
                // Steady state, not warm-up: JIT recompilations (after class loading elsewhere in this JVM)
                // box vectors for a while.
                long perCall = SteadyState.bestOf(() -> {
                    long before = mx.getCurrentThreadAllocatedBytes();
                    for (int i = 0; i < 2_000; i++) {
                        if (xq != null) xq.quantize(x, 0, cols);
                        MatVec.matvec(w, x, xq, out, pool);
                    }
                    return (mx.getCurrentThreadAllocatedBytes() - before) / 2_000;
                }, 8);
                assertTrue(perCall < 8, p + ": " + perCall + " bytes allocated per call");
            }
        }
    }

    @Test
    void warmBatchedMultiplyAllocatesNothingOnTheCallingThread() {
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        TensorType t = TensorTypes.of(GgmlType.Q8_0);
        int rows = 48;
        int cols = 256;
        try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(2)) {
            MemorySegment data = arena.allocate(t.rowBytes(cols) * rows);
            Random rnd = new Random(2);
            for (int r = 0; r < rows; r++) t.quantize(QuantTestData.values(rnd, cols), 0, data, r * t.rowBytes(cols), cols);
            Tensor w = new Tensor("w", t, rows, cols, data);
            for (int n : new int[] {3, 64}) {   // both GEMM layouts at 512 bits
                float[] x = QuantTestData.values(rnd, n * cols);
                float[] out = new float[n * rows];
                MatMul mm = new MatMul(pool);
                long perCall = SteadyState.bestOf(() -> {
                    long before = mx.getCurrentThreadAllocatedBytes();
                    for (int i = 0; i < 200; i++) mm.multiply(w, x, 0, n, out, 0);
                    return (mx.getCurrentThreadAllocatedBytes() - before) / 200;
                }, 8);
                assertTrue(perCall < 8, "n=" + n + ": " + perCall + " bytes allocated per call");
            }
        }
    }
}
