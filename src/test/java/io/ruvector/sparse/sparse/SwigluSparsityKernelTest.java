package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufArray;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.memory.LayerRows;
import io.ruvector.sparse.model.ActivationPrecision;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training-free gate selection (CATS) for SiLU/GeLU models, at every vector width: sparsity 0 is dense bit for
 * bit, a partial selection is the sum over exactly the neurons whose |act(gate)| reaches the threshold, the
 * calibrated thresholds are the quantiles asked for, and the sidecar keeps them (and refuses bad ones in one line).
 */
class SwigluSparsityKernelTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path sidecar;
    static Calibrator.Result result;
    static final float[] LEVELS = {0.25f, 0.5f};
    static final Parallel ONE = new Parallel(1), TWO = new Parallel(2), THREE = new Parallel(3);

    @BeforeAll
    static void calibrate() throws Exception {
        model = TinyModels.write(dir.resolve("tiny-silu.gguf"), TinyModels.SMALL, GgmlType.Q8_0, "silu", 5);
        sidecar = dir.resolve("tiny-silu.sparse.gguf");
        var fit = PredictorTrainer.Options.defaults().withRanks(8, 16);
        var o = Calibrator.Options.defaults().withFit(fit).withSequenceLength(100).withMaxSamples(400).withGateSparsity(LEVELS);
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2))) {
            result = Calibrator.calibrate(m, TinyModels.randomTokens(500, 256, 11), -1, sidecar, o, Calibrator.Progress.NONE);
        }
    }

    @AfterAll
    static void close() {
        ONE.close();
        TWO.close();
        THREE.close();
    }

    @ParameterizedTest
    @EnumSource(value = ActivationPrecision.class, names = {"F32", "AUTO", "INT8"})
    void sparsityZeroGivesLogitsBitIdenticalToDense(ActivationPrecision activations) throws Exception {
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2).withActivations(activations));
             SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults().withGateSparsity(0).withHotBytes(100_000))) {
            float[][] dense = SparseModelTest.decode(m.newSession(), 6);
            float[][] sparse = SparseModelTest.decode(sm.newSession(), 6);
            for (int i = 0; i < dense.length; i++) assertArrayEquals(dense[i], sparse[i], "step " + i);
            for (int l = 0; l < TinyModels.SMALL.layers(); l++) assertEquals(1.0, sm.stats().density(l, TinyModels.SMALL.ffn()));
        }
    }

    @Test
    void calibratedSelectionSkipsAboutTheTargetShareOnOtherTokensAndFollowsDense() throws Exception {
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2))) {
            float[][] dense = SparseModelTest.decode(m.newSession(), 8);
            for (float level : LEVELS) {
                try (SparseModel sm = SparseModel.attach(m, sidecar, SparseOptions.defaults().withGateSparsity(level))) {
                    float[][] sparse = SparseModelTest.decode(sm.newSession(), 8);
                    for (int l = 0; l < TinyModels.SMALL.layers(); l++) {
                        double density = sm.stats().density(l, TinyModels.SMALL.ffn());
                        // Tokens the thresholds never saw: the share kept is a sample estimate, not exact.
                        assertEquals(1 - level, density, 0.12, "layer " + l + " at sparsity " + level);
                    }
                    assertEquals(argmax(dense[0]), argmax(sparse[0]), "first greedy token at sparsity " + level);
                    // The gate matrix is read whole (counted as the predictor's bytes), the gate rows not again.
                    long gateBytes = m.weights().layers().get(0).gate().rowBytes() * TinyModels.SMALL.ffn();
                    assertEquals(gateBytes, sm.layer(0).predictor().bytes());
                }
            }
        }
    }

    @Test
    void partialSelectionIsTheSumOverNeuronsAtOrAboveTheThresholdWhateverTheThreads() {
        for (GgmlType type : List.of(GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_K)) {
            for (ActivationType act : List.of(ActivationType.SILU, ActivationType.GELU)) {
                int d = 256, n = 512;
                SparseLayerTest.Ffn f = SparseLayerTest.ffn(d, n, type, 17);
                float[] g = new float[n];
                for (int i = 0; i < n; i++) g[i] = f.gate().dotRow(i, f.x());
                float threshold = GateThresholds.layerThresholds(g, n, act, new float[]{0.4f})[0];
                GateMagnitudePredictor p = new GateMagnitudePredictor(f.gate(), act, threshold);
                LayerRows rows = LayerRows.inPlace(f.gate(), f.up(), f.downT());
                SparseScratch s = new SparseScratch(1, n, n);
                float[] one = SparseLayerTest.sparse(f, p, act, ONE, rows, 0, s);
                int selected = s.lastSelected();
                assertEquals(n - Math.round(0.4 * n), selected, type + " " + act);
                assertArrayEquals(one, SparseLayerTest.sparse(f, p, act, TWO, rows, 0, s), type + " " + act);
                assertArrayEquals(one, SparseLayerTest.sparse(f, p, act, THREE, rows, 0, s), type + " " + act);

                float[] downT = f.downT().toFloatArray();
                double[] ref = new double[d];
                double scale = 0;
                for (int i = 0; i < n; i++) {
                    boolean keep = Math.abs(act.apply(g[i])) >= threshold;
                    assertEquals(keep, s.wasSelected(i), type + " " + act + " neuron " + i);
                    if (!keep) continue;
                    float h = act.gated(g[i], f.up().dotRow(i, f.x()));
                    for (int j = 0; j < d; j++) ref[j] += (double) h * downT[i * d + j];
                }
                for (double v : ref) scale = Math.max(scale, Math.abs(v));
                for (int j = 0; j < d; j++) assertEquals(ref[j], one[j], 1e-4 * scale, type + " " + act + " output " + j);
            }
        }
    }

    @Test
    void thresholdsAreTheRequestedQuantilesOfTheActivationMagnitude() {
        Random r = new Random(3);
        int count = 20_011;
        float[] g = new float[count];
        for (int i = 0; i < count; i++) g[i] = (float) (3 * r.nextGaussian());
        float[] levels = {0.1f, 0.25f, 0.4f, 0.5f, 0.9f};
        for (ActivationType act : List.of(ActivationType.SILU, ActivationType.GELU)) {
            float[] before = g.clone();
            float[] t = GateThresholds.layerThresholds(g, count, act, levels);
            assertArrayEquals(before, g, "the samples are left as they were");
            for (int k = 0; k < levels.length; k++) {
                int below = 0;
                for (float v : g) if (Math.abs(act.apply(v)) < t[k]) below++;
                // Distinct magnitudes: exactly round(level * count) lie below; one more or less is the rounding
                // of the position, ties of |act| (SiLU takes each magnitude below 0.28 twice) can only lower it.
                int want = Math.round(levels[k] * count);
                assertTrue(below <= want && below >= want - 2, act + " level " + levels[k] + ": " + below + " below, want " + want);
                if (k > 0) assertTrue(t[k] >= t[k - 1]);
            }
        }
    }

    @Test
    void sidecarKeepsTheGateThresholdsAndAFileWithoutThemStaysVersionOne() throws Exception {
        assertEquals(TinyModels.SMALL.layers(), result.gate().layers());
        try (SparseSidecar s = SparseSidecar.open(sidecar)) {
            assertEquals(2, s.file().getInt(SparseSidecar.KEY_FORMAT));
            assertTrue(s.hasGateThresholds());
            assertEquals(result.gate(), s.gateThresholds());
            assertArrayEquals(LEVELS, s.gateThresholds().sparsity());
            for (float[] layer : s.gateThresholds().threshold()) assertTrue(layer[0] > 0 && layer[1] > layer[0]);
        }
        Path plain = dir.resolve("plain.sparse.gguf");
        rewrite(plain, w -> w.remove(SparseSidecar.KEY_GATE_SPARSITY).remove(SparseSidecar.KEY_GATE_THRESHOLD).putU32(SparseSidecar.KEY_FORMAT, 1));
        try (SparseSidecar s = SparseSidecar.open(plain);
             LanguageModel m = LanguageModel.open(model)) {
            assertFalse(s.hasGateThresholds());
            var e = assertThrows(IllegalArgumentException.class, () -> SparseModel.attach(m, s, SparseOptions.defaults().withGateSparsity(0.5)));
            assertEquals("plain.sparse.gguf has no SwiGLU gate thresholds (calibrate with --swiglu-sparsity S)", e.getMessage());
            // Sparsity 0 needs no stored threshold.
            SparseModel.attach(m, s, SparseOptions.defaults().withGateSparsity(0)).close();
        }
        try (LanguageModel m = LanguageModel.open(model)) {
            var e = assertThrows(IllegalArgumentException.class, () -> SparseModel.attach(m, sidecar, SparseOptions.defaults().withGateSparsity(0.4)));
            assertEquals("tiny-silu.sparse.gguf has SwiGLU thresholds for sparsity 0.25, 0.5, not 0.4 (calibrate with --swiglu-sparsity 0.4)", e.getMessage());
        }
    }

    @Test
    void badGateThresholdsAreRefusedInOneLineNamingTheProblem() throws Exception {
        int layers = TinyModels.SMALL.layers();
        bad("version.gguf", w -> w.putU32(SparseSidecar.KEY_FORMAT, 3),
                "version.gguf: sparse sidecar format 3 is not supported (expected 1 to 2)");
        bad("half.gguf", w -> w.remove(SparseSidecar.KEY_GATE_THRESHOLD),
                "half.gguf: has sparse.gate.sparsity without sparse.gate.threshold");
        bad("length.gguf", w -> w.putArray(SparseSidecar.KEY_GATE_THRESHOLD, GgufArray.ofFloats(new float[3])),
                "length.gguf: sparse.gate.threshold has 3 entries, expected " + layers + " layers x 2 levels");
        float[] negative = new float[2 * layers];
        negative[1] = -0.5f;
        bad("negative.gguf", w -> w.putArray(SparseSidecar.KEY_GATE_THRESHOLD, GgufArray.ofFloats(negative)),
                "negative.gguf: layer 0 has gate threshold -0.5 (must be finite and >= 0)");
        float[] nan = new float[2 * layers];
        nan[2] = Float.NaN;
        bad("nan.gguf", w -> w.putArray(SparseSidecar.KEY_GATE_THRESHOLD, GgufArray.ofFloats(nan)),
                "nan.gguf: layer 1 has gate threshold NaN (must be finite and >= 0)");
        bad("order.gguf", w -> w.putArray(SparseSidecar.KEY_GATE_SPARSITY, GgufArray.ofFloats(new float[]{0.5f, 0.25f})),
                "order.gguf: SwiGLU sparsity levels are not strictly ascending");
        bad("range.gguf", w -> w.putArray(SparseSidecar.KEY_GATE_SPARSITY, GgufArray.ofFloats(new float[]{0.25f, 1f})),
                "range.gguf: SwiGLU sparsity level 1.0 is not in (0, 1)");
        bad("type.gguf", w -> w.putString(SparseSidecar.KEY_GATE_SPARSITY, "half"),
                null);
    }

    /** Writes {@code name}, the good sidecar with {@code edit} applied, and checks that opening it fails with {@code message} (one line). */
    private static void bad(String name, Consumer<GgufWriter> edit, String message) throws Exception {
        Path p = dir.resolve(name);
        rewrite(p, edit);
        var e = assertThrows(IllegalArgumentException.class, () -> SparseSidecar.open(p).close());
        if (message != null) assertEquals(message, e.getMessage());
        assertTrue(e.getMessage().startsWith(name + ":") && !e.getMessage().contains("\n"), e.getMessage());
    }

    /** The good sidecar's metadata and tensors, with {@code edit} applied to the metadata, written to {@code out}. */
    private static void rewrite(Path out, Consumer<GgufWriter> edit) throws Exception {
        try (GgufFile f = GgufFile.open(sidecar)) {
            GgufWriter w = new GgufWriter().putAll(f.metadata());
            edit.accept(w);
            for (TensorInfo t : f.tensors()) w.addTensor(t.name(), t.type(), t.dims(), f.tensorData(t));
            w.write(out);
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
