package io.ruvector.sparse.spark;

import io.ruvector.sparse.model.ActivationPrecision;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.sparse.SparseOptions;

import java.io.Serializable;
import java.util.Objects;

/**
 * Which model an executor opens and how: the file, an optional sparse sidecar, and the engine options the CLI
 * offers under the same names. Serializable, so it travels with the job; the model itself never does.
 *
 * @param model         the GGUF model
 * @param sidecar       the sparse sidecar (from {@code sparse-infer calibrate}), or null to run dense
 * @param threads       engine threads per executor; 0 = the executor's cores ({@code spark.executor.cores},
 *                      or N of a {@code local[N]} master)
 * @param contextLength positions per sequence; 0 = the model's trained context, at most 4096 (as the CLI)
 * @param activations   {@code auto}, {@code f32} or {@code int8} (the CLI's {@code --activations})
 * @param repack        the CLI's default; false is {@code --no-repack}
 * @param sparseDensity with a sidecar: the CLI's {@code --sparse-density} (0 = the calibrated thresholds)
 * @param batchSlots    rows an executor decodes together through the engine's continuous batcher, from all its
 *                      running tasks (each slot holds a KV cache of the context); 0 = no batcher: each task
 *                      generates its rows one after another on its own session, as the CLI does
 */
public record ModelSpec(ModelFile model, ModelFile sidecar, int threads, int contextLength, String activations,
                        boolean repack, double sparseDensity, int batchSlots) implements Serializable {

    /** Batch slots by default: enough rows per step to share each pass over the weights, few KV caches. */
    public static final int DEFAULT_BATCH_SLOTS = 8;

    public ModelSpec {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(activations, "activations");
        if (threads < 0) throw new IllegalArgumentException("threads must be >= 0 (0 = the executor's cores), not " + threads);
        if (contextLength < 0) throw new IllegalArgumentException("context length must be >= 0, not " + contextLength);
        ActivationPrecision.parse(activations);
        if (sparseDensity < 0 || sparseDensity > 1) throw new IllegalArgumentException("sparse density must be in [0, 1], not " + sparseDensity);
        if (batchSlots < 0) throw new IllegalArgumentException("batch slots must be >= 0 (0 = no batcher), not " + batchSlots);
    }

    /** The model with the CLI's defaults: dense, the executor's cores, the model's context. */
    public static ModelSpec of(ModelFile model) {
        return new ModelSpec(model, null, 0, 0, "auto", true, 0, DEFAULT_BATCH_SLOTS);
    }

    public ModelSpec withSidecar(ModelFile s) { return new ModelSpec(model, s, threads, contextLength, activations, repack, sparseDensity, batchSlots); }

    public ModelSpec withThreads(int t) { return new ModelSpec(model, sidecar, t, contextLength, activations, repack, sparseDensity, batchSlots); }

    public ModelSpec withContextLength(int n) { return new ModelSpec(model, sidecar, threads, n, activations, repack, sparseDensity, batchSlots); }

    public ModelSpec withActivations(String a) { return new ModelSpec(model, sidecar, threads, contextLength, a, repack, sparseDensity, batchSlots); }

    public ModelSpec withRepack(boolean r) { return new ModelSpec(model, sidecar, threads, contextLength, activations, r, sparseDensity, batchSlots); }

    public ModelSpec withSparseDensity(double d) { return new ModelSpec(model, sidecar, threads, contextLength, activations, repack, d, batchSlots); }

    public ModelSpec withBatchSlots(int n) { return new ModelSpec(model, sidecar, threads, contextLength, activations, repack, sparseDensity, n); }

    /** The engine's options for this spec with {@code threads} resolved. */
    ModelOptions options(int resolvedThreads) {
        return ModelOptions.defaults().withThreads(resolvedThreads).withContextLength(contextLength)
                .withActivations(ActivationPrecision.parse(activations)).withRepack(repack);
    }

    /** The CLI's sparse defaults ({@code --sparse-hot-mb auto}) with this density. */
    SparseOptions sparseOptions() {
        return SparseOptions.defaults().withHotBytes(SparseOptions.HOT_AUTO).withDensity(sparseDensity);
    }
}
