package io.ruvector.sparse.sparse;

import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.memory.Advice;
import io.ruvector.sparse.memory.ColdRowCache;
import io.ruvector.sparse.memory.ColdRowMapping;
import io.ruvector.sparse.memory.HotColdTiers;
import io.ruvector.sparse.memory.LayerRows;
import io.ruvector.sparse.memory.MemoryHints;
import io.ruvector.sparse.model.FeedForward;
import io.ruvector.sparse.model.FfnContext;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.LayerWeights;
import io.ruvector.sparse.model.ModelConfig;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.tensor.Tensor;

import java.io.IOException;
import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * A language model run with activation sparsity: the model plus a sidecar of predictors and transposed down
 * projections. Sessions from {@link #newSession()} compute each single-token step's feed-forward blocks
 * sparsely ({@link SparseLayer}); prompt batches use the model's dense blocks.
 *
 * <pre>{@code
 * try (LanguageModel model = LanguageModel.open(gguf);
 *      SparseModel sparse = SparseModel.attach(model, sidecar, SparseOptions.defaults());
 *      Session s = sparse.newSession()) {
 *     int next = s.evaluate(prompt).argmax();
 * }
 * }</pre>
 *
 * <p>Thread-safe like the model: any number of sessions may run at once. Each session's sparse state (its
 * cold-row cache) is freed when the session closes. Closing the sparse model releases the hot tier, the mapping
 * cold rows are read through and the sidecar (if it opened it); close its sessions first.
 *
 * <p>Cold rows are read through a second mapping of the model file advised random-access
 * ({@link ColdRowMapping}), so the model's own mapping keeps the kernel's default readahead for the dense prompt
 * passes of every session. Re-tiering from live counts ({@link SparseOptions#retierEvery()}) runs on a
 * background thread: a decoding token never waits for the new hot tier to be copied.
 */
public final class SparseModel implements AutoCloseable {

    private final LanguageModel model;
    private final SparseSidecar sidecar;
    private final boolean ownsSidecar;
    private final SparseOptions options;
    private final SparseLayer[] layers;
    private final LayerRows[] coldRows;
    private final int[] topK;
    private final HotColdTiers tiers;
    private final ColdRowMapping coldMapping;   // null where cold rows are read in place
    private final List<FeedForward> feedForward;
    /** Every session's state, weakly: a session dropped by its user takes its state with it. */
    private final Queue<WeakReference<SessionState>> sessions = new ConcurrentLinkedQueue<>();
    /** The counts of sessions closed so far; guarded by itself. */
    private final SparseStats closedStats;
    private final Function<FfnContext, SessionState> stateFactory = this::newState;
    private final long[][] liveCounts;
    private final float[][] calibratedFrequency;
    private long liveTokens;
    private long tokensAtRetier;
    private volatile boolean measureRecall;
    /** The background re-tiering in flight or last done; guarded by liveCounts. */
    private CompletableFuture<Boolean> retiering = CompletableFuture.completedFuture(false);
    /** Where background re-tiering runs: a new daemon thread each time (it is rare); tests substitute their own. */
    private volatile java.util.concurrent.Executor retierExecutor = task -> Thread.ofPlatform().daemon().name("sparse-infer-retier").start(task);

    private SparseModel(LanguageModel model, SparseSidecar sidecar, boolean ownsSidecar, SparseOptions o, ColdRowMapping coldMapping) {
        this.model = model;
        this.sidecar = sidecar;
        this.ownsSidecar = ownsSidecar;
        this.options = o;
        ModelConfig c = model.config();
        if (!c.gatedFfn()) {
            throw new UnsupportedOperationException("sparse inference needs a gated feed-forward block (ffn_gate); this model has none");
        }
        List<LayerWeights> lw = model.weights().layers();
        sidecar.checkFits(c.layers(), c.dim(), c.ffnDim(), sidecar.modelFingerprint().isPresent() ? fingerprint(model) : null);
        ActivationType act = activationOf(model);
        if (act != sidecar.activation()) {
            throw new IllegalArgumentException("the sidecar was calibrated for activation " + sidecar.activation().key()
                    + " but the model uses " + act.key());
        }
        int n = c.layers();
        this.layers = new SparseLayer[n];
        this.coldRows = new LayerRows[n];
        this.topK = new int[n];
        this.liveCounts = new long[n][c.ffnDim()];
        this.calibratedFrequency = new float[n][];
        this.closedStats = new SparseStats(n);
        int[] storedTopK = sidecar.topK().orElse(null);
        this.coldMapping = coldMapping;
        List<HotColdTiers.Layer> tierLayers = new ArrayList<>(n);
        for (int l = 0; l < n; l++) {
            LayerWeights w = lw.get(l);
            Tensor downT = sidecar.downT(l);
            // The sidecar's transposed down rows are read by sparse steps only: advise them where they are.
            MemoryHints.advise(downT.data(), Advice.RANDOM);
            Tensor gate = coldMapping != null ? coldMapping.coldView(w.gate()) : w.gate();
            Tensor up = coldMapping != null ? coldMapping.coldView(w.up()) : w.up();
            NeuronPredictor predictor;
            if (o.gateSelection()) {
                float threshold = o.gateSparsity() == 0 ? 0f : sidecar.gateThresholds().threshold(l, o.gateSparsity(), sidecarName(sidecar));
                predictor = new GateMagnitudePredictor(w.gate(), act, threshold);
            } else if (o.oracle()) {
                predictor = new OraclePredictor(w.gate(), act, act.hasExactZeros() ? Math.ulp(0f) : sidecar.tau(l));
            } else {
                predictor = sidecar.predictor(l);
            }
            layers[l] = new SparseLayer(l, predictor, act, w.down(), o.denseAbove(), sidecar.tau(l));
            coldRows[l] = LayerRows.inPlace(gate, up, downT);
            tierLayers.add(new HotColdTiers.Layer(gate, up, downT));
            if (o.density() > 0) topK[l] = (int) Math.max(1, Math.round(o.density() * c.ffnDim()));
            else if (o.topK() > 0) topK[l] = Math.min(o.topK(), c.ffnDim());
            else if (o.topK() == -1) {
                if (storedTopK == null) throw new IllegalArgumentException("the sidecar stores no per-layer top-K");
                topK[l] = storedTopK[l];
            }
            calibratedFrequency[l] = sidecar.frequency(l).orElse(null);
        }
        long hotBytes = o.hotBytes();
        if (hotBytes == SparseOptions.HOT_AUTO) {
            double all = 0;
            for (HotColdTiers.Layer tl : tierLayers) all += (double) LayerRows.slotBytes(tl.gate(), tl.up(), tl.downT()) * tl.gate().rows();
            hotBytes = (long) (SparseOptions.AUTO_HOT_FRACTION * all);
        }
        if (hotBytes > 0) {
            float[][] freq = new float[n][];
            for (int l = 0; l < n; l++) {
                freq[l] = calibratedFrequency[l] != null ? calibratedFrequency[l] : new float[c.ffnDim()];
            }
            this.tiers = HotColdTiers.build(tierLayers, freq, hotBytes, o.lockHot());
        } else {
            this.tiers = null;
        }
        List<FeedForward> ffn = new ArrayList<>(n);
        for (int l = 0; l < n; l++) ffn.add(new SparseFeedForward(this, l, model.denseFeedForward().get(l)));
        this.feedForward = List.copyOf(ffn);
    }

    /**
     * Attaches the sidecar at {@code sidecarPath} to {@code model}.
     *
     * @throws IllegalArgumentException when the sidecar does not fit the model (named)
     */
    public static SparseModel attach(LanguageModel model, Path sidecarPath, SparseOptions options) throws IOException {
        SparseSidecar s = SparseSidecar.open(sidecarPath);
        try {
            return create(model, s, true, options);
        } catch (RuntimeException | Error e) {
            s.close();
            throw e;
        }
    }

    /** Attaches an open sidecar; the caller keeps ownership of it. */
    public static SparseModel attach(LanguageModel model, SparseSidecar sidecar, SparseOptions options) {
        return create(model, sidecar, false, options);
    }

    private static SparseModel create(LanguageModel model, SparseSidecar sidecar, boolean ownsSidecar, SparseOptions options) {
        ColdRowMapping cold = ColdRowMapping.of(model.gguf());
        try {
            return new SparseModel(model, sidecar, ownsSidecar, options, cold);
        } catch (RuntimeException | Error e) {
            if (cold != null) cold.close();
            throw e;
        }
    }

    private static String sidecarName(SparseSidecar s) { return s.file().path().getFileName().toString(); }

    /** The model's activation as an {@link ActivationType}. */
    static ActivationType activationOf(LanguageModel model) {
        return model.config().activation();
    }

    /** The fingerprint of a model's FFN weights, as stored in sidecars. */
    public static String fingerprint(LanguageModel model) {
        List<Tensor> ts = new ArrayList<>();
        for (LayerWeights w : model.weights().layers()) {
            ts.add(w.gate());
            ts.add(w.up());
            ts.add(w.down() != null ? w.down() : w.downT());
        }
        return ModelFingerprint.of(ts);
    }

    public LanguageModel model() { return model; }

    public SparseSidecar sidecar() { return sidecar; }

    public SparseOptions options() { return options; }

    /** The sparse layer {@code l} (predictor, activation). */
    public SparseLayer layer(int l) { return layers[l]; }

    /** The hot tier, or null when none was asked for. */
    public HotColdTiers tiers() { return tiers; }

    /** One sparse feed-forward strategy per layer, for {@link LanguageModel#newSession(List)}. */
    public List<FeedForward> feedForward() { return feedForward; }

    /** A new session of the model computing single-token steps sparsely. */
    public Session newSession() { return model.newSession(feedForward); }

    /** Bytes of predictor weights read per token over all layers. */
    public long predictorBytes() {
        long b = 0;
        for (SparseLayer l : layers) b += l.predictor().bytes();
        return b;
    }

    /**
     * Turns recall measurement on or off for every session: each sparse step then also computes the full gate
     * and up products to count the firing neurons the predictor missed. Slow; for measurement runs.
     */
    public void setMeasureRecall(boolean on) { this.measureRecall = on; }

    /** The counts of every session so far, merged (approximate while sessions are running). */
    public SparseStats stats() {
        SparseStats all = new SparseStats(layers.length);
        synchronized (closedStats) {
            all.add(closedStats);
        }
        for (SessionState s : liveSessions()) all.add(s.scratch.stats());
        return all;
    }

    /** Forgets the counts of every session. */
    public void resetStats() {
        synchronized (closedStats) {
            closedStats.reset();
        }
        for (SessionState s : liveSessions()) s.scratch.stats().reset();
    }

    /**
     * Rebuilds the hot tier from the firing counts seen so far (blended with the calibration frequencies), on the
     * calling thread; decoding sessions go on reading the current tier meanwhile.
     *
     * @return true when the hot set changed
     */
    public boolean retier() {
        if (tiers == null) return false;
        float[][] freq;
        synchronized (liveCounts) {
            freq = new float[layers.length][];
            for (int l = 0; l < layers.length; l++) {
                int n = liveCounts[l].length;
                freq[l] = new float[n];
                for (int i = 0; i < n; i++) {
                    float live = liveTokens == 0 ? 0 : (float) liveCounts[l][i] / liveTokens;
                    float cal = calibratedFrequency[l] == null ? 0 : calibratedFrequency[l][i];
                    // Live counts dominate once there are enough of them; calibration breaks ties early on.
                    freq[l][i] = live + cal / (1 + liveTokens);
                }
            }
            tokensAtRetier = liveTokens;
        }
        return tiers.retier(freq);
    }

    /**
     * Waits for the background re-tiering started by live counts, if one is in flight (for measurements and
     * tests that want the new tier in place).
     *
     * @return true when it swapped in a new hot set
     */
    public boolean awaitRetiering() {
        CompletableFuture<Boolean> r;
        synchronized (liveCounts) {
            r = retiering;
        }
        try {
            return r.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            return false;   // already reported by the thread that ran it
        }
    }

    /** Starts {@link #retier()} on a background thread unless one is in flight. Called holding liveCounts. */
    private void retierInBackground() {
        if (!retiering.isDone()) return;
        CompletableFuture<Boolean> r = new CompletableFuture<>();
        retiering = r;
        retierExecutor.execute(() -> {
            try {
                r.complete(retier());
            } catch (IllegalStateException closed) {   // closed meanwhile: nothing to swap into
                r.complete(false);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "re-tiering the hot rows failed; the current tier stays", t);
                r.completeExceptionally(t);
            }
        });
    }

    private static final System.Logger LOG = System.getLogger(SparseModel.class.getName());

    /**
     * Releases the hot tier (after any re-tiering in flight), the cold-row mapping, and the sidecar when this
     * object opened it. Idempotent.
     */
    @Override
    public void close() {
        awaitRetiering();
        if (tiers != null) tiers.close();
        if (coldMapping != null) coldMapping.close();
        if (ownsSidecar) sidecar.close();
    }

    /** Runs background re-tiering on {@code executor} instead of a thread of its own (tests). */
    void setRetierExecutor(java.util.concurrent.Executor executor) { this.retierExecutor = executor; }

    /** The rows cold neurons of layer {@code l} are read from (tests check which mapping). */
    LayerRows coldRows(int l) { return coldRows[l]; }

    /** The cold-row caches of sessions not yet closed. */
    List<ColdRowCache> openColdCaches() {
        List<ColdRowCache> caches = new ArrayList<>();
        for (SessionState s : liveSessions()) if (s.cache != null && s.cache.isOpen()) caches.add(s.cache);
        return caches;
    }

    // ---- per-session state ----

    private SessionState newState(FfnContext ctx) {
        ModelConfig c = model.config();
        int hidden = 0;
        for (SparseLayer l : layers) hidden = Math.max(hidden, l.predictor().hiddenDim());
        ColdRowCache cache = null;
        if (options.coldCacheBytes() > 0) {
            long slot = 0;
            int[] neurons = new int[layers.length];
            for (int l = 0; l < layers.length; l++) {
                slot = Math.max(slot, coldRows[l].stride());
                neurons[l] = c.ffnDim();
            }
            cache = new ColdRowCache(neurons, slot, ColdRowCache.slotsForBudget(options.coldCacheBytes(), slot), options.cachePolicy());
        }
        try {
            SessionState s = new SessionState(this, new SparseScratch(layers.length, c.ffnDim(), hidden,
                    ctx.matmul().rounding().withSamePolicy()), cache,
                    tiers == null ? null : tiers.newSnapshot(), layers.length, c.ffnDim());
            sessions.add(s.self);
            return s;
        } catch (RuntimeException | Error e) {
            if (cache != null) cache.close();
            throw e;
        }
    }

    /** The states of sessions still reachable; forgets the others. */
    private List<SessionState> liveSessions() {
        List<SessionState> live = new ArrayList<>();
        for (var it = sessions.iterator(); it.hasNext(); ) {
            SessionState s = it.next().get();
            if (s == null) it.remove();
            else live.add(s);
        }
        return live;
    }

    SessionState state(FfnContext ctx) { return ctx.local(this, stateFactory); }

    /** One sparse step of layer {@code l} for one token. */
    void forward(int l, float[] x, float[] out, FfnContext ctx) {
        SessionState st = state(ctx);
        SparseScratch scratch = st.scratch;
        scratch.setMeasureRecall(measureRecall);
        HotColdTiers.Snapshot snap = st.snapshot;
        if (snap != null) snap.open();
        try {
            LayerRows base = snap != null ? snap.layer(l) : coldRows[l];
            LayerRows rows = st.cache != null ? st.cache.view(l, base) : base;
            layers[l].forward(x, out, rows, topK[l], scratch, ctx.pool(), ctx.matmul());
            if (st.cache != null) st.cache.admit(l, base, scratch.index, scratch.count);
            int[] counts = st.counts[l];
            for (int k = 0, n = scratch.count; k < n; k++) counts[scratch.index[k]]++;
        } finally {
            if (snap != null) snap.close();
        }
        if (l == layers.length - 1 && ++st.pendingTokens >= 64) flush(st);
    }

    private void flush(SessionState st) {
        synchronized (liveCounts) {
            for (int l = 0; l < layers.length; l++) {
                int[] c = st.counts[l];
                long[] live = liveCounts[l];
                for (int i = 0; i < c.length; i++) {
                    live[i] += c[i];
                    c[i] = 0;
                }
            }
            liveTokens += st.pendingTokens;
            st.pendingTokens = 0;
            boolean due = options.retierEvery() > 0 && liveTokens - tokensAtRetier >= options.retierEvery();
            // Off this thread: copying (and locking) a new hot tier takes far longer than a token.
            if (due) retierInBackground();
        }
    }

    /**
     * What one session keeps between sparse steps, closed with the session (through
     * {@link FfnContext#local}): its cold-row cache is off-heap memory that must not wait for the collector.
     */
    static final class SessionState implements AutoCloseable {
        final SparseScratch scratch;
        final ColdRowCache cache;
        final HotColdTiers.Snapshot snapshot;
        final int[][] counts;
        final WeakReference<SessionState> self = new WeakReference<>(this);
        private final SparseModel owner;
        int pendingTokens;

        SessionState(SparseModel owner, SparseScratch scratch, ColdRowCache cache, HotColdTiers.Snapshot snapshot, int layers, int ffn) {
            this.owner = owner;
            this.scratch = scratch;
            this.cache = cache;
            this.snapshot = snapshot;
            this.counts = new int[layers][ffn];
        }

        @Override
        public void close() {
            if (!owner.sessions.remove(self)) return;   // closed already
            synchronized (owner.closedStats) {
                owner.closedStats.add(scratch.stats());
            }
            if (snapshot != null) snapshot.close();
            if (cache != null) cache.close();
        }
    }

    /** The feed-forward strategy of one layer: sparse for single tokens, the model's dense block for batches. */
    private static final class SparseFeedForward implements FeedForward {
        private final SparseModel owner;
        private final int layer;
        private final FeedForward dense;

        SparseFeedForward(SparseModel owner, int layer, FeedForward dense) {
            this.owner = owner;
            this.layer = layer;
            this.dense = dense;
        }

        @Override
        public void forward(int l, float[] x, float[] out, int n, FfnContext ctx) {
            if (n != 1) {
                dense.forward(l, x, out, n, ctx);
                return;
            }
            owner.forward(layer, x, out, ctx);
        }
    }
}
