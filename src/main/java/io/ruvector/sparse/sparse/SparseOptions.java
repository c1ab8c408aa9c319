package io.ruvector.sparse.sparse;

import io.ruvector.sparse.memory.ColdRowCache;

/**
 * How a sparse model runs. Immutable; start from {@link #defaults()}.
 *
 * @param hotBytes       byte budget of the hot tier (packed rows of the most frequent neurons); 0 = none,
 *                       {@link #HOT_AUTO} = the rows of {@link #AUTO_HOT_FRACTION} of all neurons
 * @param coldCacheBytes per-session cache of cold rows for slow storage; 0 = none
 * @param cachePolicy    eviction policy of that cache
 * @param topK           0: select neurons whose score reaches the calibrated threshold; {@code > 0}: the K best
 *                       of every layer; {@code -1}: the per-layer K stored in the sidecar
 * @param density        when {@code > 0}, select the best {@code density * neurons} of every layer (overrides
 *                       {@code topK}); used to sweep quality against sparsity
 * @param denseAbove     take the model's dense down projection when more than this fraction is selected
 *                       ({@code 1}: only when every neuron is, which makes that case bit-identical to dense)
 * @param retierEvery    re-tier the hot set from live firing counts every this many tokens; 0 = never
 * @param oracle         replace the predictors by the exact gate ({@link OraclePredictor}): a measurement of what
 *                       sparsity alone costs in quality, no faster than dense
 * @param lockHot        lock the hot tier in RAM ({@code mlock}, where the memlock limit allows)
 * @param gateSparsity   {@link #GATE_OFF}: the sidecar's predictors pick neurons; otherwise training-free
 *                       selection on the exact gate (CATS): the gate product is computed densely and a neuron is
 *                       skipped when |act(gate)| is below the sidecar's threshold for this fraction skipped (0:
 *                       threshold 0, every neuron kept)
 */
public record SparseOptions(long hotBytes, long coldCacheBytes, ColdRowCache.Policy cachePolicy, int topK,
                            double density, double denseAbove, int retierEvery, boolean oracle, boolean lockHot,
                            double gateSparsity) {

    /** {@code hotBytes} meaning "the rows of {@link #AUTO_HOT_FRACTION} of the neurons". */
    public static final long HOT_AUTO = -1;
    /**
     * Share of neurons the automatic hot tier holds: with power-law firing frequencies the most frequent fifth
     * fires most of the time (about 80% of firings on the synthetic ReLU models).
     */
    public static final double AUTO_HOT_FRACTION = 0.2;

    /** {@code gateSparsity} meaning "select by the sidecar's predictors". */
    public static final double GATE_OFF = -1;

    public SparseOptions {
        if (hotBytes < HOT_AUTO || coldCacheBytes < 0) throw new IllegalArgumentException("byte budgets must be >= 0");
        if (topK < -1) throw new IllegalArgumentException("topK must be -1, 0 or positive, not " + topK);
        if (density < 0 || density > 1) throw new IllegalArgumentException("density must be in [0, 1], not " + density);
        if (!(denseAbove > 0 && denseAbove <= 1)) throw new IllegalArgumentException("denseAbove must be in (0, 1], not " + denseAbove);
        if (retierEvery < 0) throw new IllegalArgumentException("retierEvery must be >= 0");
        if (gateSparsity != GATE_OFF && !(gateSparsity >= 0 && gateSparsity < 1)) {
            throw new IllegalArgumentException("SwiGLU sparsity must be in [0, 1), not " + gateSparsity);
        }
        if (cachePolicy == null) throw new IllegalArgumentException("cache policy is null");
    }

    /** Threshold selection, no hot tier, no cache, dense down projection only when all neurons are selected. */
    public static SparseOptions defaults() {
        return new SparseOptions(0, 0, ColdRowCache.Policy.LRU, 0, 0, 1.0, 0, false, false, GATE_OFF);
    }

    public SparseOptions withHotBytes(long b) { return new SparseOptions(b, coldCacheBytes, cachePolicy, topK, density, denseAbove, retierEvery, oracle, lockHot, gateSparsity); }

    public SparseOptions withColdCache(long b, ColdRowCache.Policy p) { return new SparseOptions(hotBytes, b, p, topK, density, denseAbove, retierEvery, oracle, lockHot, gateSparsity); }

    public SparseOptions withTopK(int k) { return new SparseOptions(hotBytes, coldCacheBytes, cachePolicy, k, density, denseAbove, retierEvery, oracle, lockHot, gateSparsity); }

    public SparseOptions withDensity(double d) { return new SparseOptions(hotBytes, coldCacheBytes, cachePolicy, topK, d, denseAbove, retierEvery, oracle, lockHot, gateSparsity); }

    public SparseOptions withDenseAbove(double f) { return new SparseOptions(hotBytes, coldCacheBytes, cachePolicy, topK, density, f, retierEvery, oracle, lockHot, gateSparsity); }

    public SparseOptions withRetierEvery(int tokens) { return new SparseOptions(hotBytes, coldCacheBytes, cachePolicy, topK, density, denseAbove, tokens, oracle, lockHot, gateSparsity); }

    public SparseOptions withOracle(boolean o) { return new SparseOptions(hotBytes, coldCacheBytes, cachePolicy, topK, density, denseAbove, retierEvery, o, lockHot, gateSparsity); }

    public SparseOptions withLockHot(boolean l) { return new SparseOptions(hotBytes, coldCacheBytes, cachePolicy, topK, density, denseAbove, retierEvery, oracle, l, gateSparsity); }

    /** Selection on the exact gate with the sidecar's thresholds for {@code sparsity} ({@link #GATE_OFF}: predictors). */
    public SparseOptions withGateSparsity(double sparsity) { return new SparseOptions(hotBytes, coldCacheBytes, cachePolicy, topK, density, denseAbove, retierEvery, oracle, lockHot, sparsity); }

    /** True when neurons are selected on the exact gate rather than by predictors. */
    public boolean gateSelection() { return gateSparsity != GATE_OFF; }
}
