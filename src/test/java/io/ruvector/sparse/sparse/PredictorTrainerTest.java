package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PredictorTrainerTest {

    static final Parallel POOL = new Parallel(2);

    @AfterAll
    static void close() { POOL.close(); }

    /**
     * A layer whose inputs live near a low-dimensional subspace plus a constant direction the gate rows read
     * negatively (so each neuron fires for a minority of inputs), as in real ReLU models.
     */
    record Planted(Tensor gate, Tensor up, float[] samples, int count) {}

    static Planted planted(int d, int n, int count, int latent, long seed) {
        Random r = new Random(seed);
        float[] basis = new float[latent * d];
        for (int i = 0; i < basis.length; i++) basis[i] = (float) r.nextGaussian();
        float[] constant = new float[d];
        for (int c = 0; c < d; c++) constant[c] = (float) r.nextGaussian();
        float[] gate = new float[n * d], up = new float[n * d];
        for (int i = 0; i < n; i++) {
            double bias = 1.0 + 1.5 * r.nextDouble(); // neuron-specific: some fire often, some rarely
            for (int c = 0; c < d; c++) {
                gate[i * d + c] = (float) (r.nextGaussian() / Math.sqrt(d) - bias * constant[c] / d);
                up[i * d + c] = (float) (r.nextGaussian() / Math.sqrt(d));
            }
        }
        float[] xs = new float[count * d];
        for (int s = 0; s < count; s++) {
            for (int j = 0; j < latent; j++) {
                float coef = (float) (r.nextGaussian() * 3);
                LinAlg.axpy(coef, basis, j * d, xs, s * d, d);
            }
            for (int c = 0; c < d; c++) xs[s * d + c] += constant[c] + (float) (0.05 * r.nextGaussian());
        }
        return new Planted(Storage.encode("gate", GgmlType.F32, n, d, gate),
                Storage.encode("up", GgmlType.F32, n, d, up), xs, count);
    }

    @Test
    void reluPredictorReachesTargetRecallOnTestSamplesAtLowDensity() {
        Planted p = planted(64, 256, 1200, 6, 11);
        var w = new PredictorTrainer.FfnWeights(p.gate(), p.up(), ActivationType.RELU, 3L * 64 * 4);
        var o = PredictorTrainer.Options.defaults().withRanks(4, 8, 16, 32).withPredictorTypes(List.of(GgmlType.F32));
        PredictorTrainer.LayerFit fit = PredictorTrainer.fit(0, p.samples(), p.count(), w, o, POOL);
        LayerReport rep = fit.report();
        System.out.println(LayerReport.header() + "\n" + rep.toRow());
        assertTrue(rep.oracleDensity() > 0.02 && rep.oracleDensity() < 0.4, "oracle density " + rep.oracleDensity());
        assertTrue(rep.recallValidation() >= 0.99, "validation recall " + rep.recallValidation());
        assertTrue(rep.recallTest() >= 0.97, "test recall " + rep.recallTest());
        assertTrue(rep.predictedDensity() < 2.5 * rep.oracleDensity() + 0.02,
                "predicted " + rep.predictedDensity() + " vs oracle " + rep.oracleDensity());
        assertTrue(rep.rank() <= 16, "rank " + rep.rank());
        // Frequencies are fractions and their mean is the oracle density (over all samples, so close to test).
        double mean = 0;
        for (float f : fit.frequency()) {
            assertTrue(f >= 0 && f <= 1);
            mean += f;
        }
        assertEquals(rep.oracleDensity(), mean / 256, 0.03);
    }

    @Test
    void siluLayerCountsTheTargetDensityAsFiring() {
        Planted p = planted(32, 64, 500, 4, 12);
        var w = new PredictorTrainer.FfnWeights(p.gate(), p.up(), ActivationType.SILU, 3L * 32 * 4);
        var o = PredictorTrainer.Options.defaults().withRanks(8, 16, 32).withTargetDensity(0.3)
                .withTargetRecall(0.95).withPredictorTypes(List.of(GgmlType.F32));
        LayerReport rep = PredictorTrainer.fit(2, p.samples(), p.count(), w, o, POOL).report();
        System.out.println(rep.toRow() + " tau " + rep.tau());
        assertEquals(2, rep.layer());
        assertTrue(rep.tau() > 0);
        assertEquals(0.3, rep.oracleDensity(), 0.06);
        assertTrue(rep.recallValidation() >= 0.95);
        assertTrue(rep.predictedDensity() < 0.95, "predicted density " + rep.predictedDensity());
    }

    @Test
    void thresholdForRecallKeepsTheRequestedShareOfPositives() {
        float[] scores = {0.1f, 0.9f, 0.5f, 0.3f, 0.7f, 0.2f};
        boolean[] fires = {false, true, true, false, true, true};
        int[] rows = {0};
        float t = PredictorTrainer.thresholdForRecall(scores, fires, rows, 6, 0.75);
        assertTrue(PredictorTrainer.recall(scores, fires, rows, 6, t) >= 0.75);
        assertEquals(0.5f, t);
        assertEquals(Float.POSITIVE_INFINITY,
                PredictorTrainer.thresholdForRecall(scores, new boolean[6], rows, 6, 0.99));
    }

    @Test
    void calibrationFindsTheBoundary() {
        Random r = new Random(5);
        int n = 2000;
        float[] f = new float[n];
        boolean[] y = new boolean[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (r.nextGaussian() * 3 + 1);
            y[i] = f[i] + r.nextGaussian() * 0.5 > 2; // boundary at 2
        }
        float[] ac = new float[2];
        PredictorTrainer.calibrate(f, y, ac);
        assertTrue(ac[0] > 0);
        assertEquals(2.0, -ac[1] / ac[0], 0.15);
    }

    @Test
    void tooFewSamplesIsAClearError() {
        Planted p = planted(32, 64, 10, 3, 1);
        var w = new PredictorTrainer.FfnWeights(p.gate(), p.up(), ActivationType.RELU, 1);
        var e = assertThrows(IllegalArgumentException.class,
                () -> PredictorTrainer.fit(3, p.samples(), p.count(), w, PredictorTrainer.Options.defaults(), POOL));
        assertTrue(e.getMessage().contains("layer 3"));
    }
}
