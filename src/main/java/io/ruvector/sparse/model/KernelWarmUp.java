package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
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
 * <p>The products' rounds end once they run at compiled speed ({@link #settled}), or when its time is up; a session's
 * first evaluation waits for that ({@link LanguageModel#awaitWarmUp}): on a machine with few cores the real
 * products would otherwise run in slow code beside it and the compiler threads.
 *
 * <p>Once the products run compiled, a second series of rounds runs, at the real model's widths (its
 * configuration: dimension, heads, head size, RoPE, activation, KV cache type) but for a few heads, the vector
 * routines a prompt and decoding steps call between the products: row norms and the residual add, RoPE, the KV
 * cache's stores, attention (the prompt's transposed keys, and single queries over 15 to 48 positions, past a
 * vector's length of positions), the gated activation and the token embedding's row decoding. In a fresh JVM these
 * ran interpreted and in C1 code during the real prompt and the first decoding steps, and some of their C2 code was
 * thrown away there (softmax and the single-query attention on the first query over more positions than a vector
 * holds). That series ends when its rounds stop getting faster, without waiting for C2 to finish all of them.
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
    /** Attention heads the warm-up attends with (of the model's): the routines are per head. */
    private static final int HEADS = 4;
    /** Positions of single-query attention: counts up to past a 512-bit vector of floats, several times over. */
    private static final int[] DECODE_POSITIONS = {PROMPT, PROMPT + 7, PROMPT + 18, PROMPT + 33};
    private static final int KV_CAPACITY = 64;

    /** Rounds before the warm-up may end. */
    private static final int MIN_ROUNDS = 10;
    /** The warm-up ends when this many fast rounds in a row took times within {@link #SETTLED} of each other. */
    private static final int SETTLED_ROUNDS = 3;
    private static final double SETTLED = 0.15;
    /**
     * The routines' rounds end when this many in a row took times within {@link #SETTLED} of the best. Not when
     * they run at C2 speed: waiting for that (10 such rounds) also waited for C2 to compile the warm-up's own
     * loop with every routine inlined, 0.7 s of compiling that the real run has no use for; ended earlier, the
     * routines' own C2 compiles are queued and land during the prompt's first layers.
     */
    private static final int PLATEAU_ROUNDS = 3;

    private final Thread thread;
    private volatile boolean stop;
    private volatile boolean productsSettled;
    private volatile int routineRounds;
    private volatile Throwable failure;

    private KernelWarmUp(List<GgmlType> types, ModelConfig config, ModelOptions options) {
        long deadline = System.nanoTime() + options.warmUpMillis() * 1_000_000L;
        this.thread = Thread.ofPlatform().daemon().name("sparse-infer-warm-up")
                .unstarted(() -> run(types, config, options, deadline));
    }

    /**
     * Starts the warm-up for {@code file}'s weight types and {@code config}'s shapes, or returns null when
     * {@code options} ask for none or no type can be warmed up.
     */
    static KernelWarmUp start(GgufFile file, ModelConfig config, ModelOptions options) {
        if (options.warmUpMillis() == 0) return null;
        List<GgmlType> types = matrixTypes(file);
        if (types.isEmpty()) return null;
        KernelWarmUp w = new KernelWarmUp(types, config, options);
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

    private void run(List<GgmlType> types, ModelConfig config, ModelOptions options, long deadline) {
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
            // First the products alone, so that C2's queue holds the kernels before anything else: they are the
            // longest compiles, and the routines' compiles queued beside them delayed their end by 0.5 s.
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
                if (round + 1 >= MIN_ROUNDS && settled(last, fastRound)) {
                    productsSettled = true;
                    break;
                }
            }
            // Then the routines, until their rounds stop getting faster (their remaining C2 compiles land during
            // the prompt's first layers). Made only now: whatever they cannot do, the products are warm.
            try (Routines routines = new Routines(config, options, one)) {
                last = new long[PLATEAU_ROUNDS];
                long best = Long.MAX_VALUE;
                for (int round = 0; !stop && System.nanoTime() < deadline; round++) {
                    long start = System.nanoTime();
                    for (Tensor w : matrices) {
                        for (int t = 0; t < PROMPT; t++) w.dequantizeRow(t, x, t * COLS);   // token embeddings
                    }
                    routines.round();
                    long time = System.nanoTime() - start;
                    last[round % PLATEAU_ROUNDS] = time;
                    best = Math.min(best, time);
                    routineRounds = round + 1;
                    if (round + 1 >= MIN_ROUNDS && plateau(last, best)) break;
                }
            }
        } catch (RuntimeException | Error e) {
            // A warm-up is an optimization: whatever went wrong, the real model goes on without it.
            failure = e;
        }
    }

    /** Whether the last round times ({@code last}, ns) are within {@link #SETTLED} of each other and of the best. */
    static boolean plateau(long[] last, long best) {
        long max = 0;
        for (long t : last) max = Math.max(max, t);
        return settled(last, Long.MAX_VALUE) && max <= (1 + SETTLED) * best;
    }

    /**
     * The vector routines of a prompt and of decoding steps besides the products, on buffers of the real model's
     * widths; the calls {@link Forward} makes (its attention loops, for {@link #HEADS} heads). Values are
     * arbitrary: only the code paths and their profiles matter.
     */
    private static final class Routines implements AutoCloseable {
        private final ModelConfig c;
        private final RowNorms norms;
        private final Rope rope;
        private final KvCache kv;
        private final int heads;
        private final float[] x, xn, norm, q, k, v, attended, angles, gate, up, hidden, scores, keys, row;
        private final int stride;

        Routines(ModelConfig c, ModelOptions options, Parallel pool) {
            this.c = c;
            this.norms = new RowNorms(pool, c);
            this.rope = new Rope(c, null);
            this.heads = Math.min(c.heads(), HEADS);
            int positions = DECODE_POSITIONS[DECODE_POSITIONS.length - 1] + 1;
            this.x = wave(PROMPT * c.dim());
            this.xn = new float[PROMPT * c.dim()];
            this.norm = wave(c.dim());
            this.q = wave(positions * c.qDim());
            this.k = wave(positions * c.kvDim());
            this.v = wave(positions * c.kvDim());
            this.attended = new float[PROMPT * c.qDim()];
            this.angles = new float[positions * rope.tableWidth()];
            this.gate = wave(PROMPT * COLS);
            this.up = wave(PROMPT * COLS);
            this.hidden = new float[PROMPT * COLS];
            this.stride = (PROMPT + Simd.F.length() - 1) / Simd.F.length() * Simd.F.length();
            this.scores = new float[KV_CAPACITY];
            this.keys = new float[c.headDim() * stride];
            this.row = new float[c.headDim()];
            this.kv = new KvCache(c, KV_CAPACITY, options.kvCacheType());
            rope.angles(0, positions, angles);
        }

        private static float[] wave(int n) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) Math.sin(0.61 * i + 0.3) * 0.5f;
            return a;
        }

        void round() {
            // A layer of a prompt: norm, RoPE, keys and values cached, attention over transposed keys, residual
            // add, the feed-forward's norm and gated activation.
            norms.normalize(x, norm, xn, PROMPT);
            rope.rotate(q, c.heads(), PROMPT, angles);
            rope.rotate(k, c.kvHeads(), PROMPT, angles);
            kv.store(0, 0, DECODE_POSITIONS[DECODE_POSITIONS.length - 1] + 1, k, v);
            int group = c.groupSize();
            float scale = c.attention().queryScale();
            for (int h = 0; h < heads; h++) {
                if (h % group == 0) kv.transposedKeys(0, h / group, PROMPT, keys, stride, row);
                for (int t = 0; t < PROMPT; t++) {
                    int offset = t * c.qDim() + h * c.headDim();
                    VectorMath.transposedDots(q, offset, c.headDim(), keys, stride, t + 1, scale, scores);
                    Forward.softCap(scores, 0, t + 1, c.attention().softCap());
                    VectorMath.softmax(scores, 0, t + 1);
                    kv.weightedValues(0, h / group, 0, scores, 0, t + 1, attended, offset);
                }
            }
            norms.addToResidual(xn, null, null, x, PROMPT);
            norms.normalize(x, norm, xn, PROMPT);
            if (c.gatedFfn()) c.activation().gated(gate, up, hidden, 0, PROMPT * COLS);
            // Decoding steps: one query over more and more positions.
            for (int last : DECODE_POSITIONS) {
                rope.rotate(q, c.heads(), 1, angles);
                for (int h = 0; h < heads; h++) {
                    for (int s = 0; s <= last; s++) scores[s] = kv.dotKey(0, h / group, s, q, h * c.headDim()) * scale;
                    Forward.softCap(scores, 0, last + 1, c.attention().softCap());
                    VectorMath.softmax(scores, 0, last + 1);
                    kv.weightedValues(0, h / group, 0, scores, 0, last + 1, attended, h * c.headDim());
                }
                norms.normalize(x, norm, xn, 1);
                norms.addToResidual(xn, null, null, x, 1);
            }
        }

        @Override
        public void close() { kv.close(); }
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

    /** Whether the products' rounds ended by running compiled (not by the budget or a close). */
    boolean productsSettled() { return productsSettled; }

    /** Rounds of the routines' series run so far (0 while the products' rounds run). */
    int routineRounds() { return routineRounds; }

    /** What ended the warm-up early, or null: kept for tests, as a failed warm-up only costs time. */
    Throwable failure() { return failure; }

    /** Whether the warm-up thread is still running. */
    boolean running() { return thread.isAlive(); }

    /** Stops the warm-up and waits for it (its matrices are freed when this returns). */
    @Override
    public void close() {
        stop = true;
        await();
    }
}
