package io.ruvector.sparse.sparse;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.model.ActivationPrecision;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Sparse decoding of K-quant models, whose dense decode multiplies Q8_K codes with interleaved copies: the sparse
 * block's gate and up rows multiply the same codes one row at a time ({@code Q8KDotProduct}), so with every
 * neuron selected the logits are dense's bit for bit, and predicted sparse decoding does not depend on the
 * thread count or the hot tier.
 */
class KQuantSparseTest {

    /** Every row a multiple of 256 values, as K-quants need. */
    static final TinyModels.Shape SHAPE = new TinyModels.Shape(256, 2, 512, 4, 2, 256, 12);

    @TempDir
    static Path dir;
    static final Map<GgmlType, Path> models = new EnumMap<>(GgmlType.class);
    static final Map<GgmlType, Path> sidecars = new EnumMap<>(GgmlType.class);

    @BeforeAll
    static void calibrate() throws Exception {
        for (GgmlType type : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            Path model = TinyModels.write(dir.resolve(type + ".gguf"), SHAPE, type, "relu", 5);
            Path sidecar = dir.resolve(type + ".sparse.gguf");
            var fit = PredictorTrainer.Options.defaults().withRanks(8, 16, 32);
            var o = Calibrator.Options.defaults().withFit(fit).withSequenceLength(100).withMaxSamples(400);
            try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2))) {
                Calibrator.calibrate(m, TinyModels.randomTokens(400, SHAPE.vocab(), 9), -1, sidecar, o, Calibrator.Progress.NONE);
            }
            models.put(type, model);
            sidecars.put(type, sidecar);
        }
    }

    /** AUTO (the default) and INT8 both decode K-quants from their interleaved copies with Q8_K codes. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void everyNeuronSelectedGivesLogitsBitIdenticalToDense(GgmlType type) throws Exception {
        for (ActivationPrecision p : new ActivationPrecision[] {ActivationPrecision.AUTO, ActivationPrecision.INT8}) {
            try (LanguageModel m = LanguageModel.open(models.get(type), ModelOptions.defaults().withThreads(2).withActivations(p));
                 SparseModel sm = SparseModel.attach(m, sidecars.get(type), SparseOptions.defaults().withDensity(1.0))) {
                float[][] dense = SparseModelTest.decode(m.newSession(), 6);
                float[][] sparse = SparseModelTest.decode(sm.newSession(), 6);
                for (int i = 0; i < dense.length; i++) assertArrayEquals(dense[i], sparse[i], type + " " + p + " step " + i);
            }
        }
        // The Q8_K rounding is really in effect: float32 activations give other logits.
        try (LanguageModel auto = LanguageModel.open(models.get(type), ModelOptions.defaults().withThreads(2));
             LanguageModel exact = LanguageModel.open(models.get(type), ModelOptions.defaults().withThreads(2).withActivations(ActivationPrecision.F32))) {
            assertFalse(Arrays.equals(SparseModelTest.decode(auto.newSession(), 1)[0], SparseModelTest.decode(exact.newSession(), 1)[0]));
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
    void predictedSparseDecodingDoesNotDependOnThreadsOrTheHotTier(GgmlType type) throws Exception {
        float[][] one = decode(type, 1, SparseOptions.defaults().withHotBytes(0));
        float[][] two = decode(type, 2, SparseOptions.defaults().withHotBytes(100_000));
        float[][] three = decode(type, 3, SparseOptions.defaults());
        for (int i = 0; i < one.length; i++) {
            assertArrayEquals(one[i], two[i], type + " step " + i);
            assertArrayEquals(one[i], three[i], type + " step " + i);
        }
    }

    private static float[][] decode(GgmlType type, int threads, SparseOptions o) throws Exception {
        try (LanguageModel m = LanguageModel.open(models.get(type), ModelOptions.defaults().withThreads(threads));
             SparseModel sm = SparseModel.attach(m, sidecars.get(type), o)) {
            return SparseModelTest.decode(sm.newSession(), 8);
        }
    }
}
