package io.ruvector.sparse.cli;

import io.ruvector.sparse.model.ActivationPrecision;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** The options that choose and open a model: {@code --model}, {@code --threads}, {@code --ctx-size},
 * {@code --batch-size}, {@code --activations}, {@code --no-repack}, {@code --no-repack-cache}, {@code --warm-up}. */
final class ModelArgs {

    @Option(names = {"-m", "--model"}, paramLabel = "FILE",
            description = "GGUF model file; default: the demo model stories260K (cached, or downloaded once)")
    Path model;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "threads (default: all processors)")
    Integer threads;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N",
            description = "context length (default: the model's trained context, at most "
                    + ModelOptions.DEFAULT_MAX_CONTEXT + ")")
    int contextLength;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N",
            description = "prompt tokens evaluated together in one pass over the weights (default: "
                    + ModelOptions.DEFAULT_BATCH_SIZE + ")")
    Integer batchSize;

    @Option(names = "--activations", paramLabel = "P",
            description = "activation operand of weight products: auto (int8 blocks where that is faster: decoding "
                    + "with Q8_0 weights and with repacked Q4_0 and Q2_K..Q6_K, prompt batches with Q4_0, Q2_K, Q3_K and Q4_K; float elsewhere), f32 (exact) "
                    + "or int8 (rounded as ggml-cpu does, everywhere) (default: auto)")
    String activations;

    @Option(names = "--no-repack",
            description = "decode Q4_0 and K-quant (Q2_K..Q6_K) matrices from the mapped file's layout instead of an off-heap copy "
                    + "with rows interleaved by 32 (the copy is two to three times as fast; the copied matrices' mapped "
                    + "pages are released, so it costs about their size only while prompts also read the file)")
    boolean noRepack;

    @Option(names = "--no-repack-cache",
            description = "do not keep the repacked copies in a cache file (default: the first start of a model writes them to "
                    + "$SPARSE_INFER_CACHE/repacked/, default ~/.cache/sparse-infer/repacked/, and later starts map that file "
                    + "instead of repacking); with this flag they are made in memory on first use")
    boolean noRepackCache;

    @Option(names = "--warm-up", paramLabel = "MS",
            description = "run the model's kernels on small matrices on a background thread while the model opens, until "
                    + "the JIT has compiled them or for at most MS ms, before the first real products; 0 = off "
                    + "(default: " + ONE_SHOT_WARM_UP_MILLIS + " for generate and chat, 0 for the others)")
    Integer warmUpMillis;

    /**
     * The warm-up of a one-shot command (generate, chat) unless {@code --warm-up} says otherwise: at most 3 s. It
     * ends as soon as the kernels run compiled, well before that with the launcher's JIT flags (docs/cold-start.md).
     */
    static final int ONE_SHOT_WARM_UP_MILLIS = 3000;

    /** The model path: {@code --model}, else the demo model (found or downloaded). */
    Path resolve(PrintWriter err) throws IOException {
        if (model == null) return DemoModel.locate(DemoModel.Locations.fromEnvironment(), Downloader.standard(), err);
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("model file not found: " + model);
        return model;
    }

    ModelOptions options() { return options(0); }

    /** The options, with a warm-up of {@code defaultWarmUpMillis} unless {@code --warm-up} was given. */
    ModelOptions options(int defaultWarmUpMillis) {
        ModelOptions o = ModelOptions.defaults();
        int warmUp = warmUpMillis != null ? warmUpMillis : defaultWarmUpMillis;
        if (warmUp < 0) throw new IllegalArgumentException("--warm-up must be >= 0 ms, not " + warmUp);
        o = o.withWarmUp(warmUp);
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

    LanguageModel open(PrintWriter err) throws IOException {
        return LanguageModel.open(resolve(err), options());
    }
}
