package io.ruvector.sparse.bench;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.kernels.MatMul;
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
 * Batched product (prompt processing, {@link MatMul}) per tensor type: {@code tokens} activation vectors
 * against one matrix, each weight row read once. Secondary {@code bytes}: weight bytes per second; multiply by {@code tokens} for the
 * "per-token" weight rate, i.e. tokens/s = score * tokens for this matrix.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MatMulBenchmark {

    @Param({"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "F16", "BF16", "F32", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    @Param({"2048x5632"})
    public String shape;

    @Param({"64"})
    public int tokens;

    @Param({"1", "2"})
    public int threads;

    /**
     * F32: float activations (the float GEMM for every type). AUTO: the default, int8 activations where the
     * int8 kernel is faster: for Q4_0 the 16-bit integer GEMM ({@code Q4_0TokenLanesGemm}, 64 tokens or more
     * at 512 bits); other types as F32.
     */
    @Param({"F32", "AUTO"})
    public String precision;

    private Arena arena;
    private Parallel pool;
    private Tensor[] matrices;
    private int next;
    private float[] xs;
    private MatMul matmul;
    private float[] out;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        GgmlType ggml = GgmlType.valueOf(type);
        if (!TensorTypes.isSupported(ggml)) throw new IllegalStateException(type + " is not registered in TensorTypes (yet)");
        TensorType t = TensorTypes.of(ggml);
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]);
        int cols = Integer.parseInt(rc[1]);
        arena = Arena.ofShared();
        // Compute-bound: a few matrices suffice, but more than the caches hold.
        matrices = Weights.matrices(arena, t, rows, cols, 200_000_000L, false);
        xs = Weights.activations(tokens * cols);
        out = new float[tokens * rows];
        pool = new Parallel(threads);
        matmul = switch (precision) {
            case "F32" -> new MatMul(pool);
            case "AUTO" -> new MatMul(pool, false, true);
            default -> throw new IllegalArgumentException("precision must be F32 or AUTO, not " + precision);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float matmul(Traffic traffic) {
        Tensor w = matrices[next];
        next = next + 1 == matrices.length ? 0 : next + 1;
        matmul.multiply(w, xs, 0, tokens, out, 0);
        traffic.bytes += w.data().byteSize();
        return out[0];
    }
}
