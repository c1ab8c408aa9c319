package io.ruvector.sparse.bench;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.kernels.MatMul;
import io.ruvector.sparse.kernels.MatVec;
import io.ruvector.sparse.kernels.RepackedWeights;
import io.ruvector.sparse.quant.Int8DotProduct;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

/**
 * Matrix-vector product per tensor type at the two baseline shapes, cycling over > 1 GB of weights so they
 * stream from DRAM. Primary score: products per second; secondary {@code bytes}: weight bytes per second.
 *
 * <p>{@code type} lists every ggml type we may support; one that is not registered in {@code TensorTypes}
 * (yet) fails its setup with a message and JMH goes on with the rest. INT8 runs only for types with an
 * int8 kernel; it includes quantizing the activation on every call (as a decode step does).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MatVecBenchmark {

    @Param({"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "F16", "BF16", "F32", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    /**
     * rows x cols: the FFN down projections of a 7B (4096x11008) and of TinyLlama (2048x5632), whose long rows
     * need a 44 / 22 KB float activation, and the gate/up shapes (11008x4096, 5632x2048).
     */
    @Param({"4096x11008", "2048x5632", "11008x4096", "5632x2048"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    /**
     * F32: float activations. INT8: activations quantized to int8 blocks, the type's per-row int8 kernel.
     * REPACKED (Q4_0 only): int8 activations, rows read from interleaved copies ({@code InterleavedQ4_0}, made
     * in the setup), as decoding does by default.
     */
    @Param({"F32", "INT8", "REPACKED"})
    public String precision;

    /** Weight bytes cycled through, in MB (decimal). */
    @Param({"1100"})
    public int poolMB;

    /** Back the weights with a mapped temp file instead of anonymous off-heap memory. */
    @Param({"false"})
    public boolean mapped;

    private Arena arena;
    private Parallel pool;
    private Tensor[] matrices;
    private int next;
    private float[] x;
    private float[] out;
    private Q8Activation xq;
    private RepackedWeights repacked;
    private MatMul matmul;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        GgmlType ggml = GgmlType.valueOf(type);
        if (!TensorTypes.isSupported(ggml)) throw new IllegalStateException(type + " is not registered in TensorTypes (yet)");
        TensorType t = TensorTypes.of(ggml);
        boolean int8 = switch (precision) {
            case "F32" -> false;
            case "INT8", "REPACKED" -> true;
            default -> throw new IllegalArgumentException("precision must be F32, INT8 or REPACKED, not " + precision);
        };
        if (precision.equals("REPACKED") && ggml != GgmlType.Q4_0) {
            throw new IllegalStateException("REPACKED is for Q4_0 only");
        }
        if (int8 && !(t instanceof Int8DotProduct)) {
            throw new IllegalStateException(type + " has no int8 kernel: INT8 would measure the F32 path again");
        }
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]);
        int cols = Integer.parseInt(rc[1]);
        arena = Arena.ofShared();
        matrices = Weights.matrices(arena, t, rows, cols, poolMB * 1_000_000L, mapped);
        x = Weights.activations(cols);
        out = new float[rows];
        if (int8) xq = new Q8Activation(cols);
        pool = new Parallel(threads);
        if (precision.equals("REPACKED")) {
            repacked = new RepackedWeights();
            matmul = new MatMul(pool, false, true, repacked);
            for (Tensor m : matrices) repacked.interleavedQ4_0(m, pool);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (repacked != null) repacked.close();
        pool.close();
        arena.close();
    }

    @Benchmark
    public float matvec(Traffic traffic) {
        Tensor w = matrices[next];
        next = next + 1 == matrices.length ? 0 : next + 1;
        if (matmul != null) {
            matmul.multiply(w, x, out);   // quantizes x, then the interleaved kernel
        } else {
            if (xq != null) xq.quantize(x, 0, x.length);
            MatVec.matvec(w, x, xq, out, pool);
        }
        traffic.bytes += w.data().byteSize();
        return out[0];
    }
}
