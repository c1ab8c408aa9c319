package io.ruvector.sparse.bench;

import io.ruvector.sparse.cpu.Parallel;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * The Java streaming-read ceiling the matvec kernels are compared with: a read-only vector sum over a large
 * off-heap segment, split in static contiguous slices over the same pool the matvec uses, one pool dispatch
 * per chunk (as one matvec is one dispatch). Secondary result {@code bytes}: bytes per second.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class BandwidthProbe {

    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;

    @Param({"1", "2"})
    public int threads;

    /** Segment size in MB (decimal). */
    @Param({"1100"})
    public int sizeMB;

    /** Bytes read per dispatch, in MB: about one weight matrix. */
    @Param({"24"})
    public int chunkMB;

    private Arena arena;
    private MemorySegment data;
    private Parallel pool;
    private long chunk;
    private int chunks;
    private int next;
    private final long[] sums = new long[64];

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        chunk = (long) chunkMB * 1_000_000L / 4096 * 4096;
        chunks = (int) Math.max(2, (long) sizeMB * 1_000_000L / chunk);
        data = arena.allocate(chunk * chunks, 4096);
        for (long i = 0; i < data.byteSize(); i += 8) data.set(java.lang.foreign.ValueLayout.JAVA_LONG, i, i);
        pool = new Parallel(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public long read(Traffic traffic) {
        long base = next * chunk;
        next = next + 1 == chunks ? 0 : next + 1;
        int lines = (int) (chunk / 256);
        pool.forRange(lines, (from, to) -> sums[Math.min(63, from * 64 / lines)] += sum(data, base + 256L * from, base + 256L * to));
        traffic.bytes += chunk;
        return sums[0];
    }

    /** Sum of the ints in [from, to), four vector accumulators; to - from is a multiple of 256 bytes. */
    static long sum(MemorySegment seg, long from, long to) {
        IntVector a0 = IntVector.zero(I);
        IntVector a1 = IntVector.zero(I);
        IntVector a2 = IntVector.zero(I);
        IntVector a3 = IntVector.zero(I);
        long step = I.vectorByteSize();
        for (long o = from; o < to; o += 4 * step) {
            a0 = a0.add(IntVector.fromMemorySegment(I, seg, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(IntVector.fromMemorySegment(I, seg, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(IntVector.fromMemorySegment(I, seg, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(IntVector.fromMemorySegment(I, seg, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanesToLong(VectorOperators.ADD);
    }
}
