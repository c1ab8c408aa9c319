package io.ruvector.sparse.cli;

import io.ruvector.sparse.memory.ColdRowCache;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.sparse.SparseModel;
import io.ruvector.sparse.sparse.SparseOptions;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The options that run a model sparsely: {@code --sparse SIDECAR} and its tuning flags. Without
 * {@code --sparse} nothing changes.
 */
final class SparseArgs {

    @Option(names = "--sparse", paramLabel = "SIDECAR",
            description = "compute single-token steps sparsely with the predictors of this sidecar (from calibrate)")
    Path sidecar;

    @Option(names = "--sparse-density", paramLabel = "F",
            description = "with --sparse: compute the F best-scored neurons of every layer instead of those above the calibrated threshold")
    double density;

    @Option(names = "--swiglu-sparsity", paramLabel = "S",
            description = "with --sparse: training-free selection (CATS): compute the gate densely and skip the up and down rows "
                    + "of neurons with |act(gate)| below the sidecar's threshold for sparsity S (calibrate --swiglu-sparsity S)")
    Double swigluSparsity;

    @Option(names = "--sparse-hot-mb", paramLabel = "MB",
            description = "with --sparse: pack the rows of the most frequently firing neurons into MB of memory; "
                    + "auto (default): the rows of a fifth of the neurons; 0: none")
    String hotMb = "auto";

    @Option(names = "--sparse-lock-hot", description = "with --sparse-hot-mb: lock the hot rows in RAM (mlock)")
    boolean lockHot;

    @Option(names = "--sparse-cold-cache-mb", paramLabel = "MB",
            description = "with --sparse: per-session cache of cold rows, for models on slow storage (default 0)")
    long coldCacheMb;

    @Option(names = "--sparse-cache-policy", paramLabel = "P", description = "lru or lfu (default lru)")
    String cachePolicy = "lru";

    @Option(names = "--sparse-retier", paramLabel = "N",
            description = "with --sparse-hot-mb: rebuild the hot set from live firing counts every N tokens (default 0: never)")
    int retierEvery;

    boolean enabled() { return sidecar != null; }

    /** The sparse model over {@code model}, or null without {@code --sparse}. */
    SparseModel attach(LanguageModel model) throws IOException {
        if (sidecar == null) return null;
        if (!Files.isRegularFile(sidecar)) throw new IllegalArgumentException("sidecar file not found: " + sidecar);
        long hot;
        if (hotMb.equalsIgnoreCase("auto")) {
            hot = SparseOptions.HOT_AUTO;
        } else {
            try {
                hot = Long.parseLong(hotMb.trim()) << 20;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--sparse-hot-mb must be a number of MB or auto, not '" + hotMb + "'");
            }
        }
        if (hot < SparseOptions.HOT_AUTO || coldCacheMb < 0) throw new IllegalArgumentException("--sparse-hot-mb and --sparse-cold-cache-mb must be >= 0");
        ColdRowCache.Policy policy = switch (cachePolicy.toLowerCase(Locale.ROOT)) {
            case "lru" -> ColdRowCache.Policy.LRU;
            case "lfu" -> ColdRowCache.Policy.LFU;
            default -> throw new IllegalArgumentException("--sparse-cache-policy must be lru or lfu, not '" + cachePolicy + "'");
        };
        SparseOptions o = SparseOptions.defaults().withHotBytes(hot).withColdCache(coldCacheMb << 20, policy)
                .withDensity(density).withRetierEvery(retierEvery).withLockHot(lockHot);
        if (swigluSparsity != null) {
            if (!(swigluSparsity >= 0 && swigluSparsity < 1)) throw new IllegalArgumentException("--swiglu-sparsity must be in [0, 1), not " + swigluSparsity);
            o = o.withGateSparsity(swigluSparsity);
        }
        return SparseModel.attach(model, sidecar, o);
    }

    /**
     * With {@code --sparse-lock-hot}: one line on {@code err} saying whether the hot rows are locked, and if not
     * why; after re-tiering, which tier it speaks of.
     */
    void reportLock(SparseModel sparse, java.io.PrintWriter err) {
        if (sparse == null || !lockHot || sparse.tiers() == null) return;
        int generation = sparse.tiers().generation();
        err.println("hot rows" + (generation > 0 ? " after " + generation + " re-tiering(s)" : "") + ": " + sparse.tiers().lockMessage());
    }

    /** A session of {@code sparse} when there is one, else of {@code model}. */
    static Session newSession(LanguageModel model, SparseModel sparse) {
        return sparse != null ? sparse.newSession() : model.newSession();
    }
}
