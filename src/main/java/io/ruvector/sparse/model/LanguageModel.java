package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.kernels.RepackCache;
import io.ruvector.sparse.kernels.RepackedWeights;
import io.ruvector.sparse.memory.Advice;
import io.ruvector.sparse.memory.MappedRam;
import io.ruvector.sparse.memory.MemoryHints;
import io.ruvector.sparse.tensor.Tensor;
import io.ruvector.sparse.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A llama-family language model read in place from a GGUF file.
 *
 * <p>The weights stay in the memory-mapped file (nothing is copied but a few small norm and bias vectors).
 * The model is immutable and thread-safe; all mutable state lives in {@link Session}s, each with its own
 * key/value cache, any number of which may run concurrently. The sessions share the model's one pool of
 * {@link ModelOptions#threads()} threads, taking turns on each parallel loop, so N sessions on P cores run
 * P threads, not N x P:
 *
 * <pre>{@code
 * try (LanguageModel model = LanguageModel.open(path, ModelOptions.defaults().withThreads(2));
 *      Session session = model.newSession()) {
 *     Logits logits = session.evaluate(1, 403, 407);
 *     int next = logits.argmax();
 * }
 * }</pre>
 *
 * Closing the model closes its open sessions and unmaps the file.
 */
public final class LanguageModel implements AutoCloseable {

    private final GgufFile file;
    private final ModelOptions options;
    private final ModelConfig config;
    private final ModelWeights weights;
    private final List<LayerVectors> layerVectors;
    private final float[] outputNorm;
    private final Rope rope;
    private final Rope longRope;   // LongRoPE models: for sessions longer than the original context, else null
    private final Rope localRope;  // sliding-window layers with their own RoPE base or scaling, else null
    private final List<FeedForward> denseFfn;
    private final RepackedWeights repacked;
    private final KernelWarmUp warmUp;   // null without ModelOptions.warmUpMillis
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final AtomicLong sessionIds = new AtomicLong();
    private BatchForward idleBatch;   // the workspace of the last evaluateTogether, for the next; guarded by this
    private Parallel pool;   // started with the first session; guarded by this
    private volatile Tokenizer tokenizer;
    private volatile boolean closed;

    private LanguageModel(GgufFile file, ModelOptions options) {
        this.file = file;
        this.options = options;
        this.config = ModelConfig.fromGguf(file);
        // Started first: it runs while the weights are read, the tokenizer is built and the prompt is prepared.
        this.warmUp = KernelWarmUp.start(file, config, options);
        this.weights = ModelWeights.load(file, config);
        List<LayerVectors> lv = new ArrayList<>(config.layers());
        List<FeedForward> dense = new ArrayList<>(config.layers());
        for (LayerWeights w : weights.layers()) {
            lv.add(LayerVectors.of(w));
            dense.add(new DenseFeedForward(w, config.activation()));
        }
        this.layerVectors = List.copyOf(lv);
        this.denseFfn = List.copyOf(dense);
        this.outputNorm = weights.outputNorm().toFloatArray();
        boolean longRopeFactors = weights.ropeFactorsShort() != null;
        this.rope = new Rope(config, longRopeFactors ? weights.ropeFactorsShort() : weights.ropeFreqs());
        this.longRope = longRopeFactors ? new Rope(config, weights.ropeFactorsLong()) : null;
        AttentionSettings a = config.attention();
        this.localRope = a.localRopeDiffers(config.ropeBase(), config.ropeScale())
                ? new Rope(config, weights.ropeFreqs(), a.localRopeBase(), a.localRopeScale()) : null;
        // The mapped pages of a repacked matrix are dropped from this process's resident set: decoding reads the
        // copy, so keeping both would hold the weights twice. Prompt batches still read the file's layout; they
        // fault back what they read and release it again after each product (MatMul, RepackedWeights).
        this.repacked = options.repack() ? repackedWeights(file, options, weights) : null;
    }

    /**
     * The repacked copies: mapped from (or, the first time, written to) the model's cache file when the options
     * name a cache folder, the model was opened from a file and decoding takes int8 activations (f32 activations
     * never read a copy); else made in memory on first use.
     */
    private static RepackedWeights repackedWeights(GgufFile file, ModelOptions options, ModelWeights weights) {
        if (options.repackCache() == null || file.path() == null || options.activations() == ActivationPrecision.F32) {
            return new RepackedWeights(LanguageModel::releaseMappedPages, MappedRam::allocator);
        }
        List<Tensor> matrices = decodingMatrices(weights);
        if (matrices.isEmpty()) return new RepackedWeights(LanguageModel::releaseMappedPages, MappedRam::allocator);
        RepackCache.Fingerprint fingerprint;
        try {
            long[] starts = new long[matrices.size()];
            long base = file.data().address();
            for (int i = 0; i < starts.length; i++) starts[i] = file.dataOffset() + matrices.get(i).data().address() - base;
            fingerprint = RepackCache.Fingerprint.of(file.path(), file.dataOffset(), starts);
        } catch (IOException e) {
            return new RepackedWeights(LanguageModel::releaseMappedPages, MappedRam::allocator);
        }
        return RepackCache.open(RepackCache.fileFor(options.repackCache(), file.path()), fingerprint, matrices,
                options.threads(), LanguageModel::releaseMappedPages, MappedRam::allocator);
    }

    /**
     * The matrices single-token decoding multiplies that have an interleaved layout, each once, in a fixed order:
     * every layer's attention and feed-forward matrices, then the output matrix. All of them, also the dense
     * feed-forward ones a sparse session never multiplies: the cache is written once for every kind of session.
     */
    static List<Tensor> decodingMatrices(ModelWeights weights) {
        Map<String, Tensor> byName = new LinkedHashMap<>();
        for (LayerWeights l : weights.layers()) {
            for (Tensor w : new Tensor[] {l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.up(), l.down()}) {
                if (w != null && RepackCache.interleavable(w)) byName.putIfAbsent(w.name(), w);
            }
        }
        Tensor out = weights.output();
        if (out != null && RepackCache.interleavable(out)) byName.putIfAbsent(out.name(), out);
        return List.copyOf(byName.values());
    }

    private static void releaseMappedPages(Tensor w) {
        if (w.data().isMapped() && MemoryHints.supported()) MemoryHints.advise(w.data(), Advice.DONTNEED);
    }

    /**
     * Waits for the warm-up, if one is running: a session's first evaluation starts when the warm-up has ended,
     * so its products do not run in interpreted and C1 code beside the warm-up's on the same cores.
     */
    void awaitWarmUp() {
        KernelWarmUp w = warmUp;
        if (w != null) w.await();
    }

    /** The warm-up started by {@link ModelOptions#warmUpMillis}, or null (for tests). */
    KernelWarmUp warmUp() { return warmUp; }

    /** Where sessions find the repacked copies of matrices ({@link ModelOptions#repack}), or null. */
    RepackedWeights repacked() { return repacked; }

    /**
     * Maps {@code gguf} and reads its configuration and weights.
     *
     * @throws IOException                   when the file cannot be read
     * @throws IllegalArgumentException      when it is not a supported model (the message names the
     *                                       architecture, missing key or tensor)
     * @throws UnsupportedOperationException when a tensor type or option is not supported (named)
     */
    public static LanguageModel open(Path gguf, ModelOptions options) throws IOException {
        GgufFile file = GgufFile.open(gguf);
        try {
            return new LanguageModel(file, options);
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    /**
     * Reads the model from an already open GGUF file, e.g. one {@linkplain GgufFile#fromSegment read from
     * memory} a native host mapped. The model takes the file over: closing the model closes it, and so does
     * a failure here.
     *
     * @throws IllegalArgumentException      when it is not a supported model (named as for {@link #open(Path, ModelOptions)})
     * @throws UnsupportedOperationException when a tensor type or option is not supported (named)
     */
    public static LanguageModel open(GgufFile gguf, ModelOptions options) {
        try {
            return new LanguageModel(gguf, options);
        } catch (RuntimeException | Error e) {
            gguf.close();
            throw e;
        }
    }

    /** {@link #open(Path, ModelOptions)} with {@link ModelOptions#defaults()}. */
    public static LanguageModel open(Path gguf) throws IOException { return open(gguf, ModelOptions.defaults()); }

    /** The model's shape and numerics. */
    public ModelConfig config() { return config; }

    /** The options it was opened with. */
    public ModelOptions options() { return options; }

    /** The mapped file, e.g. for tokenizer or chat-template metadata. */
    public GgufFile gguf() {
        ensureOpen();
        return file;
    }

    /**
     * The model's tokenizer, built from the file's {@code tokenizer.ggml.*} metadata on first use.
     *
     * @throws IllegalArgumentException when the tokenizer metadata is missing or unsupported (named)
     */
    public Tokenizer tokenizer() {
        ensureOpen();
        Tokenizer t = tokenizer;
        if (t == null) {
            synchronized (this) {
                t = tokenizer;
                if (t == null) tokenizer = t = Tokenizer.fromGguf(file);
            }
        }
        return t;
    }

    /** The weights as zero-copy tensors (for alternative {@link FeedForward} strategies). */
    public ModelWeights weights() {
        ensureOpen();
        return weights;
    }

    /** The dense feed-forward strategy of every layer. */
    public List<FeedForward> denseFeedForward() { return denseFfn; }

    /**
     * Positions a new session holds: the option when set, else the model's trained context length capped at
     * {@link ModelOptions#DEFAULT_MAX_CONTEXT} (a 128k-context model would otherwise reserve tens of GB of
     * cache per session; ask for more explicitly).
     */
    public int sessionContextLength() {
        return options.contextLength() > 0 ? options.contextLength()
                : Math.min(config.contextLength(), ModelOptions.DEFAULT_MAX_CONTEXT);
    }

    /** A new session with dense feed-forward blocks. */
    public Session newSession() { return newSession(denseFfn); }

    /**
     * A new session computing layer {@code l}'s feed-forward block with {@code feedForward.get(l)}.
     *
     * @throws IllegalArgumentException unless there is exactly one strategy per layer
     */
    public Session newSession(List<? extends FeedForward> feedForward) {
        ensureOpen();
        if (feedForward.size() != config.layers()) {
            throw new IllegalArgumentException(feedForward.size() + " feed-forward strategies for " + config.layers() + " layers");
        }
        Session s = new Session(this, feedForward, sessionContextLength(), sessionIds.getAndIncrement());
        sessions.add(s);
        if (closed) {   // closed concurrently: do not leak the new session
            s.close();
            ensureOpen();
        }
        return s;
    }

    /**
     * Appends {@code tokens[i]} to {@code sessions.get(i)} for every i, in one pass over the weights: each product
     * multiplies one column per sequence, reading each weight once for all of them, while attention runs per
     * sequence against its own cache at its own position. Afterwards each session's {@link Session#logits()}
     * holds its next-token logits and its position is one further.
     *
     * <p>The result for each session is the one {@link Session#evaluate(int)} gives alone, to the bit: every column
     * is rounded and multiplied as a single vector is ({@link io.ruvector.sparse.kernels.MatMul#eachColumnAlone()}).
     * Sessions whose feed-forward strategies differ from the model's dense ones (sparse sessions), or that have an
     * {@link FfnObserver}, compute that block on their own, one token each. Steady-state calls allocate nothing.
     *
     * @param sessions distinct open sessions of this model, each with room for one more token
     * @param tokens   one token id per session
     * @throws IllegalArgumentException when the counts differ or are zero, a session is null, repeated or of another
     *                                  model, or a token is outside the vocabulary
     * @throws IllegalStateException    when a session is closed or its context is full, or this model is closed
     */
    public void evaluateTogether(List<Session> sessions, int[] tokens) {
        ensureOpen();
        if (sessions == null || tokens == null) throw new IllegalArgumentException("null sessions or tokens");
        int n = sessions.size();
        if (n == 0 || n != tokens.length) {
            throw new IllegalArgumentException(n + " sessions and " + tokens.length + " tokens: need one token per session, at least one");
        }
        awaitWarmUp();
        BatchForward batch = takeBatch(n);
        try {
            batch.run(sessions, tokens);
        } finally {
            giveBack(batch);
        }
    }

    private synchronized BatchForward takeBatch(int n) {
        BatchForward b = idleBatch;
        idleBatch = null;
        if (b == null || b.capacity() < n) b = new BatchForward(this, Math.max(n, b == null ? 1 : b.capacity()));
        return b;
    }

    private synchronized void giveBack(BatchForward b) {
        if (idleBatch == null || idleBatch.capacity() < b.capacity()) idleBatch = b;
    }

    /** Closes every open session, then stops the threads and unmaps the file. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (warmUp != null) warmUp.close();
        for (Session s : List.copyOf(sessions)) s.close();
        synchronized (this) {
            if (pool != null) pool.close();
        }
        if (repacked != null) repacked.close();
        file.close();
    }

    /**
     * The threads every session of this model computes with, started on first use: one pool per model, not per
     * session, so idle sessions cost no spinning threads and concurrent ones take turns on it (results never
     * depend on which threads computed them).
     *
     * @throws IllegalStateException after {@link #close()}
     */
    synchronized Parallel pool() {
        ensureOpen();
        if (pool == null) pool = new Parallel(options.threads());
        return pool;
    }

    void ensureOpen() {
        if (closed) throw new IllegalStateException("model " + file.name() + " is closed");
    }

    void sessionClosed(Session s) { sessions.remove(s); }

    List<LayerVectors> layerVectors() { return layerVectors; }

    float[] outputNormVector() { return outputNorm; }

    /**
     * RoPE for a session of {@code contextLength} positions: LongRoPE models take their long factors when that
     * exceeds the original context (as llama.cpp chooses by its context size), everything else the one RoPE.
     */
    Rope rope(int contextLength) {
        return longRope != null && contextLength > config.ropeOriginalContext() ? longRope : rope;
    }

    /** RoPE of the sliding-window layers when it differs from {@link #rope}'s (gemma3's own base), else null. */
    Rope localRope() { return localRope; }
}
