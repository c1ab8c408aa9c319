package io.ruvector.sparse.server;

import io.ruvector.sparse.memory.ColdRowCache;
import io.ruvector.sparse.model.ActivationPrecision;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.sparse.SparseModel;
import io.ruvector.sparse.sparse.SparseOptions;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The model, thread, context and sparse options of {@code serve}, with the same names, meanings and checks as the
 * engine CLI's other commands (whose option classes are internal to the CLI package, so they are mirrored here).
 */
final class EngineArgs {

    @Option(names = {"-m", "--model"}, paramLabel = "FILE", required = true, description = "GGUF model file")
    Path model;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "threads (default: all processors)")
    Integer threads;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N",
            description = "context length of each slot (default: the model's trained context, at most "
                    + ModelOptions.DEFAULT_MAX_CONTEXT + ")")
    int contextLength;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N",
            description = "prompt tokens evaluated together in one pass over the weights (default: "
                    + ModelOptions.DEFAULT_BATCH_SIZE + ")")
    Integer batchSize;

    @Option(names = "--activations", paramLabel = "P",
            description = "activation operand of weight products: auto, f32 or int8 (default: auto)")
    String activations;

    @Option(names = "--no-repack",
            description = "decode Q4_0 and K-quant matrices from the mapped file's layout instead of an interleaved off-heap copy")
    boolean noRepack;

    @Option(names = "--no-repack-cache",
            description = "make the interleaved copies in memory at first use instead of mapping them from a cache file "
                    + "($SPARSE_INFER_CACHE/repacked/, written by the first start of each model)")
    boolean noRepackCache;

    @Option(names = "--sparse", paramLabel = "SIDECAR",
            description = "compute single-token steps sparsely with the predictors of this sidecar (from calibrate)")
    Path sidecar;

    @Option(names = "--sparse-density", paramLabel = "F",
            description = "with --sparse: compute the F best-scored neurons of every layer instead of those above the calibrated threshold")
    double density;

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

    /** Checks what can be checked before the model is read, so a bad option fails before the server starts. */
    void validate() {
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("model file not found: " + model);
        if (sidecar != null && !Files.isRegularFile(sidecar)) throw new IllegalArgumentException("sidecar file not found: " + sidecar);
        options();
        hotBytes();
        policy();
        if (coldCacheMb < 0) throw new IllegalArgumentException("--sparse-cold-cache-mb must be >= 0, not " + coldCacheMb);
    }

    ModelOptions options() {
        ModelOptions o = ModelOptions.defaults();
        if (threads != null) {
            if (threads < 1) throw new IllegalArgumentException("--threads must be >= 1, not " + threads);
            o = o.withThreads(threads);
        }
        if (contextLength < 0) throw new IllegalArgumentException("--ctx-size must be >= 0, not " + contextLength);
        if (activations != null) o = o.withActivations(ActivationPrecision.parse(activations));
        if (batchSize != null) {
            if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be >= 1, not " + batchSize);
            o = o.withBatchSize(batchSize);
        }
        if (noRepackCache) o = o.withRepackCache(null);
        return o.withContextLength(contextLength).withRepack(!noRepack);
    }

    LanguageModel open() throws IOException {
        return LanguageModel.open(model, options());
    }

    /** The sparse model over {@code model}, or null without {@code --sparse}. */
    SparseModel attachSparse(LanguageModel model) throws IOException {
        if (sidecar == null) return null;
        SparseOptions o = SparseOptions.defaults().withHotBytes(hotBytes()).withColdCache(coldCacheMb << 20, policy())
                .withDensity(density).withRetierEvery(retierEvery).withLockHot(lockHot);
        return SparseModel.attach(model, sidecar, o);
    }

    private long hotBytes() {
        if (hotMb.equalsIgnoreCase("auto")) return SparseOptions.HOT_AUTO;
        long mb;
        try {
            mb = Long.parseLong(hotMb.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--sparse-hot-mb must be a number of MB or auto, not '" + hotMb + "'");
        }
        if (mb < 0) throw new IllegalArgumentException("--sparse-hot-mb must be >= 0, not " + mb);
        return mb << 20;
    }

    private ColdRowCache.Policy policy() {
        return switch (cachePolicy.toLowerCase(Locale.ROOT)) {
            case "lru" -> ColdRowCache.Policy.LRU;
            case "lfu" -> ColdRowCache.Policy.LFU;
            default -> throw new IllegalArgumentException("--sparse-cache-policy must be lru or lfu, not '" + cachePolicy + "'");
        };
    }
}
