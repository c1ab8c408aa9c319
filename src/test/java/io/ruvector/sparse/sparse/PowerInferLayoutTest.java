package io.ruvector.sparse.sparse;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.LayerWeights;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PowerInfer's layout, on files we write in it: {@code PWRI} magic, MLP predictors {@code blk.N.fc1/fc2},
 * {@code ffn_down_t} and {@code powerinfer.sparse_threshold}.
 */
class PowerInferLayoutTest {

    @TempDir
    Path dir;

    /**
     * A PowerInfer predictor file for a model: fc1 = [P; -P] and fc2 = [Q, -Q], so fc2 . relu(fc1 x) = Q P x
     * exactly, with P the model's top gate directions: a linear gate predictor an MLP of PowerInfer's form
     * represents exactly, so its predictions can be checked.
     */
    static Path writePowerInfer(Path path, LanguageModel m, int rank, float threshold, boolean pwriMagic) throws Exception {
        GgufWriter w = new GgufWriter().powerInfer(pwriMagic);
        w.putString("general.architecture", "llama");
        w.putF32(SparseSidecar.KEY_POWERINFER_THRESHOLD, threshold);
        int d = m.config().dim(), n = m.config().ffnDim();
        for (int l = 0; l < m.config().layers(); l++) {
            LayerWeights lw = m.weights().layers().get(l);
            addPredictors(w, l, lw.gate(), d, n, rank);
            Tensor down = lw.down();
            GgmlType type = down.ggmlType();
            w.addTensor(SparseSidecar.downTName(l), type, new long[]{d, n},
                    dst -> SidecarWriter.transposeInto(down, type, dst, new io.ruvector.sparse.cpu.Parallel(1)));
        }
        w.write(path);
        return path;
    }

    /**
     * Layer {@code l}'s PowerInfer predictor: fc1 = [P; -P] and fc2 = [Q, -Q], with P the first {@code rank} gate
     * rows and Q picking them back, so neuron i scores gate row (i mod rank) . x.
     */
    static void addPredictors(GgufWriter w, int l, Tensor gateTensor, int d, int n, int rank) {
        float[] gate = gateTensor.toFloatArray(); // n x d
        float[] fc1 = new float[2 * rank * d], fc2 = new float[n * 2 * rank];
        for (int j = 0; j < rank; j++) {
            for (int c = 0; c < d; c++) {
                fc1[j * d + c] = gate[j * d + c];
                fc1[(rank + j) * d + c] = -gate[j * d + c];
            }
        }
        for (int i = 0; i < n; i++) {
            int j = i % rank;
            fc2[i * 2 * rank + j] = 1f;
            fc2[i * 2 * rank + rank + j] = -1f;
        }
        w.addTensor(SparseSidecar.fc1Name(l), GgmlType.F32, new long[]{d, 2L * rank}, TensorTypes.encoded(GgmlType.F32, new long[]{d, 2L * rank}, fc1));
        w.addTensor(SparseSidecar.fc2Name(l), GgmlType.F32, new long[]{2L * rank, n}, TensorTypes.encoded(GgmlType.F32, new long[]{2L * rank, n}, fc2));
    }

    /** Decodes a few steps with the sidecar's own threshold and checks it selected some neurons but not all. */
    static void assertThresholdSelectsSome(LanguageModel m, SparseSidecar s) {
        try (SparseModel sm = SparseModel.attach(m, s, SparseOptions.defaults()); Session ss = sm.newSession()) {
            ss.evaluate(SparseModelTest.PROMPT);
            for (int i = 0; i < 4; i++) ss.evaluate(3 + i);
            double density = sm.stats().density(0, 512);
            assertTrue(density > 0 && density < 1, "the threshold selects some neurons: " + density);
        }
    }

    @Test
    void readsPowerInferPredictorsTransposedDownAndThreshold() throws Exception {
        Path model = TinyModels.write(dir.resolve("m.gguf"), TinyModels.SMALL, GgmlType.Q8_0, "relu", 5);
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2))) {
            Path pi = writePowerInfer(dir.resolve("m.powerinfer.gguf"), m, 16, 0.25f, true);
            try (GgufFile f = GgufFile.open(pi)) {
                assertTrue(f.isPowerInfer(), "PWRI magic");
            }
            try (SparseSidecar s = SparseSidecar.open(pi)) {
                assertTrue(s.isPowerInferLayout());
                assertEquals(2, s.layers());
                assertEquals(io.ruvector.sparse.kernels.ActivationType.RELU, s.activation());
                assertFalse(s.report().isPresent());
                assertFalse(s.neuronOrder(0).isPresent());
                MlpPredictor p = assertInstanceOf(MlpPredictor.class, s.predictor(1));
                assertEquals(0.25f, p.threshold());
                assertEquals(32, p.hiddenDim());
                // Score of neuron i is gate row (i mod 16) . x, through relu(a) - relu(-a) = a.
                float[] x = TinyModels.gaussian(new Random(1), 128, 1);
                float[] hidden = new float[32], scores = new float[512];
                p.project(x, hidden);
                p.scores(hidden, 0, 512, scores);
                Tensor gate = m.weights().layers().get(1).gate();
                for (int i = 0; i < 512; i += 31) assertEquals(gate.dotRow(i % 16, x), scores[i], 1e-4);
                // ffn_down_t is down transposed.
                Tensor down = m.weights().layers().get(0).down(), dt = s.downT(0);
                float[] a = down.toFloatArray(), b = dt.toFloatArray();
                assertEquals(GgmlType.Q8_0, dt.ggmlType());
                for (int i = 0; i < 512; i += 17) {
                    for (int j = 0; j < 128; j += 7) assertEquals(a[j * 512 + i], b[i * 128 + j], 0.02 * Math.abs(a[j * 512 + i]) + 2e-3);
                }
                // A PowerInfer sidecar drives sparse decoding; with every neuron selected it equals dense.
                try (SparseModel sm = SparseModel.attach(m, s, SparseOptions.defaults().withDensity(1.0))) {
                    float[][] dense = SparseModelTest.decode(m.newSession(), 4);
                    float[][] sparse = SparseModelTest.decode(sm.newSession(), 4);
                    for (int i = 0; i < dense.length; i++) assertArrayEquals(dense[i], sparse[i]);
                }
                assertThresholdSelectsSome(m, s);
            }
        }
    }

    @Test
    void plainGgufMagicWithPowerInferTensorsIsReadToo() throws Exception {
        Path model = TinyModels.write(dir.resolve("m.gguf"), TinyModels.SMALL, GgmlType.F32, "relu", 6);
        try (LanguageModel m = LanguageModel.open(model)) {
            Path pi = writePowerInfer(dir.resolve("m.pi.gguf"), m, 8, 0f, false);
            try (SparseSidecar s = SparseSidecar.open(pi)) {
                assertTrue(s.isPowerInferLayout());
                assertEquals(0f, s.predictor(0).threshold());
            }
        }
    }

    @Test
    void aFileWithoutPredictorsIsNamed() throws Exception {
        Path model = TinyModels.write(dir.resolve("m.gguf"), TinyModels.SMALL, GgmlType.F32, "relu", 7);
        var e = assertThrows(IllegalArgumentException.class, () -> SparseSidecar.open(model));
        assertTrue(e.getMessage().contains("not a sparse sidecar"), e.getMessage());
    }
}
