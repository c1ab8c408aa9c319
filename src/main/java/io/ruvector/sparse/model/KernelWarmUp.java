package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.kernels.MatMul;
import io.ruvector.sparse.kernels.RepackedWeights;
import io.ruvector.sparse.memory.MappedRam;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.SegmentAllocator;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The warm-up of {@link ModelOptions#warmUpMillis}: on one background thread, started as the model is opened, the
 * products a prompt and decoding steps make, on small matrices of each weight type of the real model (zeros, in
 * the same kind of memory as the real weights and their repacked copies), through a {@link MatMul} with the real
 * model's activation rounding and repacking. A fresh JVM would otherwise run the first real prompt in the
 * interpreter and C1 code, where every Vector API operation allocates, until C2 has compiled the kernels; these
 * products are cheap enough to give the JIT the invocations it waits for in a fraction of a second (the launcher
 * also lowers the thresholds for the engine's methods).
 *
 * <p>It ends once its rounds run at compiled speed ({@link #settled}), or when its time is up, and a session's
 * first evaluation waits for that ({@link LanguageModel#awaitWarmUp}): on a machine with few cores the real
 * products would otherwise run in slow code beside it and the compiler threads.
 *
 * <p>Nothing here can change a result (the products share no state with the model's) or fail the real model: an
 * exception ends the warm-up, quietly.
 */
final class KernelWarmUp implements AutoCloseable {

    /** Prompt tokens per round: a batch, as a real prompt is. */
    private static final int PROMPT = 14;
    /** Decoding steps per round: single-vector products, the repacked kernels. */
    private static final int STEPS = 4;
    /** Rows and columns of the warm-up's matrices: two groups of interleaved rows, one super-block. */
    private static final int ROWS = 64, COLS = 256;

    /** Rounds before the warm-up may end. */
    private static final int MIN_ROUNDS = 10;
    /** The warm-up ends when this many fast rounds in a row took times within {@link #SETTLED} of each other. */
    private static final int SETTLED_ROUNDS = 3;
    private static final double SETTLED = 0.15;

    private final Thread thread;
    private volatile boolean stop;

    private KernelWarmUp(List<GgmlType> types, ModelOptions options) {
        long deadline = System.nanoTime() + options.warmUpMillis() * 1_000_000L;
        this.thread = Thread.ofPlatform().daemon().name("sparse-infer-warm-up").unstarted(() -> run(types, options, deadline));
    }

    /**
     * Starts the warm-up for {@code file}'s weight types, or returns null when {@code options} ask for none or no
     * type can be warmed up.
     */
    static KernelWarmUp start(GgufFile file, ModelOptions options) {
        if (options.warmUpMillis() == 0) return null;
        List<GgmlType> types = matrixTypes(file);
        if (types.isEmpty()) return null;
        KernelWarmUp w = new KernelWarmUp(types, options);
        w.thread.start();
        return w;
    }

    /** The distinct types of the file's matrices that the engine multiplies, most frequent first. */
    static List<GgmlType> matrixTypes(GgufFile file) {
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        for (TensorInfo t : file.tensors()) {
            if (t.nDims() == 2) counts.merge(t.type(), 1, Integer::sum);
        }
        List<GgmlType> types = new ArrayList<>(counts.keySet());
        types.sort((a, b) -> counts.get(b) - counts.get(a));
        Set<GgmlType> writable = new LinkedHashSet<>();
        for (GgmlType t : types) {
            if (TensorTypes.isSupported(t)) writable.add(t);
        }
        return List.copyOf(writable);
    }

    private void run(List<GgmlType> types, ModelOptions options, long deadline) {
        try (Arena arena = Arena.ofShared(); Parallel one = new Parallel(1);
             RepackedWeights repacked = options.repack() ? new RepackedWeights(w -> { }, MappedRam::allocator) : null) {
            SegmentAllocator ram = MappedRam.allocator(arena);
            List<Tensor> matrices = new ArrayList<>();
            for (GgmlType t : types) {
                TensorType type = TensorTypes.of(t);
                matrices.add(new Tensor("warm-up-" + t, type, ROWS, COLS, ram.allocate(type.rowBytes(COLS) * ROWS, 64)));
            }
            MatMul mm = new MatMul(one, options.newActivationRounding(), repacked);
            float[] x = new float[PROMPT * COLS];
            for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(0.37 * i + 0.1);
            float[] a = new float[PROMPT * ROWS], b = new float[PROMPT * ROWS], c = new float[PROMPT * ROWS];
            long[] last = new long[SETTLED_ROUNDS];
            // A round multiplies this many weights; C2 code does it at several per ns, interpreted and C1 code
            // (every vector operation allocated) at a tenth of one: one per ns tells them apart on any machine.
            long fastRound = (long) matrices.size() * ROWS * COLS * (4L * PROMPT + 4L * STEPS);
            for (int round = 0; !stop && System.nanoTime() < deadline; round++) {
                long start = System.nanoTime();
                for (Tensor w : matrices) {
                    // A prompt's products (three projections of one input together, then one), then decoding's.
                    mm.multiply(w, a, w, b, w, c, x, PROMPT);
                    mm.multiply(w, x, 0, PROMPT, a, 0);
                    for (int i = 0; i < STEPS; i++) {
                        mm.multiply(w, a, w, b, w, c, x, 1);
                        mm.multiply(w, x, 0, 1, a, 0);
                    }
                }
                last[round % SETTLED_ROUNDS] = System.nanoTime() - start;
                if (round + 1 >= MIN_ROUNDS && settled(last, fastRound)) break;
            }
        } catch (RuntimeException | Error e) {
            // A warm-up is an optimization: whatever went wrong, the real model goes on without it.
        }
    }

    /**
     * Whether the rounds are over: the last round times ({@code last}, ns) within {@link #SETTLED} of each other
     * and each under {@code fastNanos}, as only compiled kernels run them (a steady time alone does not say that:
     * the rounds also run steadily in C1 code while C2 compiles).
     */
    static boolean settled(long[] last, long fastNanos) {
        long min = Long.MAX_VALUE, max = 0;
        for (long t : last) {
            min = Math.min(min, t);
            max = Math.max(max, t);
        }
        return min > 0 && max <= (1 + SETTLED) * min && max < fastNanos;
    }

    /** Waits until the warm-up has ended (settled, out of time, or closed). */
    void await() {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Whether the warm-up thread is still running. */
    boolean running() { return thread.isAlive(); }

    /** Stops the warm-up and waits for it (its matrices are freed when this returns). */
    @Override
    public void close() {
        stop = true;
        await();
    }
}
