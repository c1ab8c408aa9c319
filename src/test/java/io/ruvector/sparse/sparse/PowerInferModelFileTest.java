package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.LayerWeights;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model file in PowerInfer's own layout: the down projection stored only transposed ({@code ffn_down_t}), MLP
 * predictors ({@code fc1}/{@code fc2}) beside the weights, {@code PWRI} magic. It runs dense (every neuron's
 * transposed row, scaled and summed) and is its own sparse sidecar.
 */
class PowerInferModelFileTest {

    @TempDir
    Path dir;

    /**
     * The model at {@code source} rewritten in PowerInfer's layout: every tensor as it is except each
     * {@code ffn_down}, which becomes {@code ffn_down_t} (in the same type; exact for F32), plus rank-{@code rank}
     * MLP predictors built as {@link PowerInferLayoutTest#writePowerInfer} builds them.
     */
    static Path writePowerInferModel(Path path, Path source, int rank, float threshold) throws Exception {
        try (GgufFile f = GgufFile.open(source);
             LanguageModel m = LanguageModel.open(source, ModelOptions.defaults().withThreads(1));
             Parallel pool = new Parallel(1)) {
            GgufWriter w = new GgufWriter().powerInfer(true);
            w.putAll(f.metadata());
            w.putF32(SparseSidecar.KEY_POWERINFER_THRESHOLD, threshold);
            for (TensorInfo t : f.tensors()) {
                if (t.name().endsWith(".ffn_down.weight")) continue;
                w.addTensor(t.name(), t.type(), t.dims(), Tensor.of(f, t).data());
            }
            int d = m.config().dim(), n = m.config().ffnDim();
            for (int l = 0; l < m.config().layers(); l++) {
                LayerWeights lw = m.weights().layers().get(l);
                PowerInferLayoutTest.addPredictors(w, l, lw.gate(), d, n, rank);
                Tensor down = lw.down();
                w.addTensor(SparseSidecar.downTName(l), down.ggmlType(), new long[]{d, n},
                        dst -> SidecarWriter.transposeInto(down, down.ggmlType(), dst, pool));
            }
            w.write(path);
        }
        return path;
    }

    /**
     * Bound on |dense over ffn_down_t - dense over ffn_down| per logit. The two files hold the same F32 numbers;
     * only the order of the down projection's float sums differs (row dot products against neuron-ordered
     * accumulation). Reordering a sum of n = 512 float terms moves it by at most n * 2^-24 (3e-5) of the sum of the
     * terms' magnitudes, which here are O(1); through two blocks and the output projection 1e-4 + 1e-4 |logit|
     * leaves room for that and nothing else.
     */
    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            float tol = 1e-4f + 1e-4f * Math.abs(expected[i]);
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                throw new AssertionError(what + ": logit " + i + " is " + actual[i] + ", expected " + expected[i] + " within " + tol);
            }
        }
    }

    @Test
    void runsDenseFromTheTransposedDownProjection() throws Exception {
        Path plain = TinyModels.write(dir.resolve("m.gguf"), TinyModels.SMALL, GgmlType.F32, "relu", 11);
        Path pwri = writePowerInferModel(dir.resolve("m.pwri.gguf"), plain, 8, 0f);
        try (LanguageModel a = LanguageModel.open(plain, ModelOptions.defaults().withThreads(2));
             LanguageModel b = LanguageModel.open(pwri, ModelOptions.defaults().withThreads(2))) {
            LayerWeights lw = b.weights().layers().get(0);
            assertNull(lw.down());
            assertEquals(TinyModels.SMALL.ffn(), lw.downT().rows());
            // The same tokens fed to both (the plain model's greedy continuation): logits within the reordering
            // bound at every step.
            try (var sa = a.newSession(); var sb = b.newSession()) {
                float[] ea = sa.evaluate(SparseModelTest.PROMPT).toArray();
                assertClose(ea, sb.evaluate(SparseModelTest.PROMPT).toArray(), "prompt");
                for (int i = 0; i < 6; i++) {
                    int tok = io.ruvector.sparse.cpu.VectorMath.argmax(ea, 0, ea.length);
                    ea = sa.evaluate(tok).toArray();
                    assertClose(ea, sb.evaluate(tok).toArray(), "step " + i + " after token " + tok);
                }
            }
            // A prompt batch through the transposed product agrees with token-by-token decoding of the same file.
            try (var batch = b.newSession(); var single = b.newSession()) {
                float[] all = batch.evaluateAll(SparseModelTest.PROMPT);
                int v = b.config().vocabSize();
                for (int t = 0; t < SparseModelTest.PROMPT.length; t++) {
                    float[] one = single.evaluate(SparseModelTest.PROMPT[t]).toArray();
                    assertClose(one, java.util.Arrays.copyOfRange(all, t * v, (t + 1) * v), "batched position " + t);
                }
            }
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() throws Exception {
        Path plain = TinyModels.write(dir.resolve("m.gguf"), TinyModels.SMALL, GgmlType.Q8_0, "relu", 12);
        Path pwri = writePowerInferModel(dir.resolve("m.pwri.gguf"), plain, 8, 0f);
        try (LanguageModel one = LanguageModel.open(pwri, ModelOptions.defaults().withThreads(1));
             LanguageModel three = LanguageModel.open(pwri, ModelOptions.defaults().withThreads(3))) {
            float[][] a = SparseModelTest.decode(one.newSession(), 4);
            float[][] b = SparseModelTest.decode(three.newSession(), 4);
            for (int i = 0; i < a.length; i++) assertArrayEquals(a[i], b[i], "step " + i);
        }
    }

    @Test
    void isItsOwnSparseSidecar() throws Exception {
        Path plain = TinyModels.write(dir.resolve("m.gguf"), TinyModels.SMALL, GgmlType.F32, "relu", 13);
        Path pwri = writePowerInferModel(dir.resolve("m.pwri.gguf"), plain, 16, 0.25f);
        try (LanguageModel m = LanguageModel.open(pwri, ModelOptions.defaults().withThreads(2));
             SparseSidecar s = SparseSidecar.open(pwri)) {
            assertTrue(s.isPowerInferLayout());
            // Every neuron selected: the same sums as the dense transposed product, up to their order.
            try (SparseModel sm = SparseModel.attach(m, s, SparseOptions.defaults().withDensity(1.0))) {
                float[][] dense = SparseModelTest.decode(m.newSession(), 4);
                float[][] sparse = SparseModelTest.decode(sm.newSession(), 4);
                for (int i = 0; i < dense.length; i++) assertClose(dense[i], sparse[i], "full-density step " + i);
            }
            PowerInferLayoutTest.assertThresholdSelectsSome(m, s);
        }
    }

    @Test
    void calibratingSuchAFileIsRefusedByName() throws Exception {
        Path plain = TinyModels.write(dir.resolve("m.gguf"), TinyModels.SMALL, GgmlType.F32, "relu", 14);
        Path pwri = writePowerInferModel(dir.resolve("m.pwri.gguf"), plain, 8, 0f);
        try (LanguageModel m = LanguageModel.open(pwri, ModelOptions.defaults().withThreads(1))) {
            var e = assertThrows(UnsupportedOperationException.class, () -> Calibrator.requireDown(m));
            assertTrue(e.getMessage().contains("ffn_down_t") && e.getMessage().contains("layer 0"), e.getMessage());
        }
    }
}
