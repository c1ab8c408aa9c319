package io.ruvector.sparse.model;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One llama.cpp reference file of the shared fixtures ({@code reference/<model>.ref.gguf}), read whole. */
record Reference(String name, Path model, int[] prompt, int[] greedy, float[] greedyMargin, int[] greedyExact,
                 float[] greedyExactMargin, int vocab, float[] logits, float[] logitsExact) {

    /** Reads {@code reference/<stem>.ref.gguf}; the model is beside it or in {@code models/}. */
    static Reference load(String stem) throws IOException {
        Path ref = Fixtures.require("reference/" + stem + ".ref.gguf");
        try (GgufFile f = GgufFile.open(ref)) {
            String modelName = f.getString("reference.model");
            Path model = ref.resolveSibling(modelName);
            if (!Files.exists(model)) model = Fixtures.require("models/" + modelName);
            Tensor logits = Tensor.of(f, "logits");
            return new Reference(stem, model,
                    f.getArray("reference.prompt").toIntArray(),
                    f.getArray("reference.greedy").toIntArray(),
                    f.getArray("reference.greedy_margin").toFloatArray(),
                    f.getArray("reference.greedy_exact").toIntArray(),
                    f.getArray("reference.greedy_exact_margin").toFloatArray(),
                    logits.cols(),
                    logits.toFloatArray(),
                    Tensor.of(f, "logits_exact").toFloatArray());
        }
    }

    /**
     * The spread of the exact logits: the mean over prompt positions of their standard deviation across the
     * vocabulary (the reference README's "logit std"; ~3 for the synthetic models, 0.056 for llama-2-tiny-random).
     */
    float logitSpread() {
        double sum = 0;
        int positions = prompt.length;
        for (int t = 0; t < positions; t++) {
            double mean = 0, squares = 0;
            for (int v = t * vocab; v < (t + 1) * vocab; v++) mean += logitsExact[v];
            mean /= vocab;
            for (int v = t * vocab; v < (t + 1) * vocab; v++) squares += (logitsExact[v] - mean) * (logitsExact[v] - mean);
            sum += Math.sqrt(squares / vocab);
        }
        return (float) (sum / positions);
    }

    /**
     * How far llama.cpp's activation rounding moves its logits from the exact forward: max |logits - logits_exact|
     * (the README's "max |llama.cpp - exact|" column; ~7e-6 for F32 models, 0.2-0.6 for quantized ones).
     */
    float roundingGap() { return maxAbsDiff(logits, logitsExact); }

    /** max over the vocabulary of |a - b| at prompt position {@code t} (arrays laid out as {@code logits}). */
    float maxAbsDiffAt(float[] a, float[] b, int t) {
        float max = 0;
        for (int v = t * vocab; v < (t + 1) * vocab; v++) max = Math.max(max, Math.abs(a[v] - b[v]));
        return max;
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " != " + b.length);
        float max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
        return max;
    }
}
