package io.ruvector.sparse.model;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One llama.cpp reference file of the shared fixtures ({@code reference/<model>.ref.gguf}), read whole. */
record Reference(String name, Path model, int[] prompt, int[] greedy, int[] greedyExact, int vocab,
                 float[] logits, float[] logitsExact) {

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
                    f.getArray("reference.greedy_exact").toIntArray(),
                    logits.cols(),
                    logits.toFloatArray(),
                    Tensor.of(f, "logits_exact").toFloatArray());
        }
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " != " + b.length);
        float max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
        return max;
    }
}
