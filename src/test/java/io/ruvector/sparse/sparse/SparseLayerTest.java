package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.kernels.ActivationRounding;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.kernels.MatMul;
import io.ruvector.sparse.memory.HotColdTiers;
import io.ruvector.sparse.memory.LayerRows;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparseLayerTest {

    static final Parallel ONE = new Parallel(1), TWO = new Parallel(2), THREE = new Parallel(3);

    @AfterAll
    static void close() {
        ONE.close();
        TWO.close();
        THREE.close();
    }

    /** A random FFN layer with its transposed down projection and a random rank-8 predictor. */
    record Ffn(Tensor gate, Tensor up, Tensor down, Tensor downT, LowRankPredictor predictor, float[] x) {}

    static Ffn ffn(int d, int n, GgmlType type, long seed) {
        Random r = new Random(seed);
        float[] gate = new float[n * d], up = new float[n * d], down = new float[d * n];
        for (int i = 0; i < gate.length; i++) {
            gate[i] = (float) r.nextGaussian();
            up[i] = (float) r.nextGaussian();
            down[i] = (float) r.nextGaussian();
        }
        float[] downT = LinAlg.transpose(down, d, n);
        int rank = 8;
        float[] p = new float[rank * d], qt = new float[rank * n];
        for (int i = 0; i < p.length; i++) p[i] = (float) r.nextGaussian();
        for (int i = 0; i < qt.length; i++) qt[i] = (float) r.nextGaussian();
        float[] scale = new float[n], bias = new float[n], offset = new float[n];
        for (int i = 0; i < n; i++) {
            scale[i] = 1f;
            bias[i] = (float) r.nextGaussian();
        }
        float[] x = new float[d];
        for (int i = 0; i < d; i++) x[i] = (float) r.nextGaussian() / d;
        LowRankPredictor pred = new LowRankPredictor(Storage.encode("p", GgmlType.F32, rank, d, p),
                Storage.encode("qt", GgmlType.F32, rank, n, qt), offset, scale, bias, null, 0f);
        return new Ffn(Storage.encode("gate", type, n, d, gate), Storage.encode("up", type, n, d, up),
                Storage.encode("down", type, d, n, down), Storage.encode("down_t", type, n, d, downT), pred, x);
    }

    /** The dense block exactly as the model computes it for one token. */
    static float[] dense(Ffn f, ActivationType act) {
        int n = f.gate().rows(), d = f.gate().cols();
        float[] g = new float[n], u = new float[n], h = new float[n], out = new float[d];
        for (int i = 0; i < n; i++) {
            g[i] = f.gate().dotRow(i, f.x());
            u[i] = f.up().dotRow(i, f.x());
        }
        act.gated(g, u, h, n);
        for (int r = 0; r < d; r++) out[r] = f.down().dotRow(r, h);
        return out;
    }

    static float[] sparse(Ffn f, NeuronPredictor p, ActivationType act, Parallel pool, LayerRows rows, int topK,
                          SparseScratch s) {
        SparseLayer layer = new SparseLayer(0, p, act, f.down(), 1.0, 0f);
        float[] out = new float[f.gate().cols()];
        layer.forward(f.x(), out, rows, topK, s, pool);
        return out;
    }

    @Test
    void allNeuronsSelectedIsBitIdenticalToDense() {
        for (ActivationType act : List.of(ActivationType.SILU, ActivationType.RELU, ActivationType.GELU)) {
            Ffn f = ffn(128, 320, GgmlType.F32, 1);
            NeuronPredictor all = f.predictor().withThreshold(Float.NEGATIVE_INFINITY);
            SparseScratch s = new SparseScratch(1, 320, 8);
            float[] got = sparse(f, all, act, TWO, LayerRows.inPlace(f.gate(), f.up(), f.downT()), 0, s);
            assertEquals(320, s.lastSelected());
            assertArrayEquals(dense(f, act), got, act.toString());
        }
    }

    @Test
    void allNeuronsSelectedWithInt8ActivationsIsBitIdenticalToTheDenseInt8Block() {
        // Int8 blocks (Q8_0, Q4_0), Q8_K-rounded input (Q4_K) and F16-rounded input: each as the dense products.
        for (GgmlType type : List.of(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.F16)) {
            Ffn f = ffn(256, 512, type, 6);
            MatMul mm = new MatMul(TWO, true);
            float[] g = new float[512], u = new float[512], h = new float[512], want = new float[256];
            mm.multiply(f.gate(), g, f.up(), u, null, null, f.x(), 1);
            ActivationType.RELU.gated(g, u, h, 512);
            mm.multiply(f.down(), h, want);

            NeuronPredictor all = f.predictor().withThreshold(Float.NEGATIVE_INFINITY);
            SparseScratch s = new SparseScratch(1, 512, 8, new ActivationRounding(true));
            float[] got = sparse(f, all, ActivationType.RELU, TWO, LayerRows.inPlace(f.gate(), f.up(), f.downT()), 0, s);
            assertEquals(512, s.lastSelected());
            assertArrayEquals(want, got, type.toString());
            float[] exact = sparse(f, all, ActivationType.RELU, TWO, LayerRows.inPlace(f.gate(), f.up(), f.downT()), 0,
                    new SparseScratch(1, 512, 8));
            assertTrue(!Arrays.equals(exact, got), type + ": the int8 path is really taken");
        }
    }

    @Test
    void partialSelectionSumsTheSelectedNeuronsAndIgnoresThreadCount() {
        Ffn f = ffn(512, 320, GgmlType.F32, 2);
        SparseScratch s = new SparseScratch(1, 320, 8);
        LayerRows rows = LayerRows.inPlace(f.gate(), f.up(), f.downT());
        float[] one = sparse(f, f.predictor(), ActivationType.SILU, ONE, rows, 0, s);
        int selected = s.lastSelected();
        assertTrue(selected > 30 && selected < 300, "selected " + selected);
        assertArrayEquals(one, sparse(f, f.predictor(), ActivationType.SILU, TWO, rows, 0, s));
        assertArrayEquals(one, sparse(f, f.predictor(), ActivationType.SILU, THREE, rows, 0, s));

        // Against a double-precision reference over the same selection.
        int d = 512, n = 320;
        float[] hidden = new float[8], scores = new float[n];
        f.predictor().project(f.x(), hidden);
        f.predictor().scores(hidden, 0, n, scores);
        double[] ref = new double[d];
        float[] downT = f.downT().toFloatArray();
        for (int i = 0; i < n; i++) {
            if (scores[i] < f.predictor().threshold()) continue;
            float h = ActivationType.SILU.gated(f.gate().dotRow(i, f.x()), f.up().dotRow(i, f.x()));
            for (int j = 0; j < d; j++) ref[j] += (double) h * downT[i * d + j];
        }
        for (int j = 0; j < d; j++) assertEquals(ref[j], one[j], 1e-4 * (1 + Math.abs(ref[j])));
    }

    @Test
    void topKSelectsExactlyKAndHotTierGivesTheSameBits() {
        Ffn f = ffn(256, 256, GgmlType.F32, 3);
        SparseScratch s = new SparseScratch(1, 256, 8);
        LayerRows cold = LayerRows.inPlace(f.gate(), f.up(), f.downT());
        float[] a = sparse(f, f.predictor(), ActivationType.RELU, TWO, cold, 40, s);
        assertEquals(40, s.lastSelected());
        float[][] freq = new float[1][256];
        for (int i = 0; i < 256; i++) freq[0][i] = (i * 37) % 256 + 1;
        long slot = LayerRows.slotBytes(f.gate(), f.up(), f.downT());
        try (HotColdTiers tiers = HotColdTiers.build(List.of(new HotColdTiers.Layer(f.gate(), f.up(), f.downT())), freq, 100 * slot);
             HotColdTiers.Snapshot snap = tiers.acquire()) {
            assertEquals(100, tiers.hotNeurons());
            assertArrayEquals(a, sparse(f, f.predictor(), ActivationType.RELU, TWO, snap.layer(0), 40, s));
        }
    }

    @Test
    void quickselectAgreesWithSorting() {
        Random r = new Random(8);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + r.nextInt(300);
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = r.nextInt(4) == 0 ? r.nextInt(5) : (float) r.nextGaussian(); // with ties
            float[] sorted = a.clone();
            java.util.Arrays.sort(sorted);
            int k = r.nextInt(n);
            assertEquals(sorted[k], SparseLayer.kthSmallest(a.clone(), n, k), "n=" + n + " k=" + k);
        }
    }

    @Test
    void statsCountSelectionsAndRecall() {
        Ffn f = ffn(128, 192, GgmlType.F32, 4);
        SparseScratch s = new SparseScratch(1, 192, 8);
        s.setMeasureRecall(true);
        NeuronPredictor all = f.predictor().withThreshold(Float.NEGATIVE_INFINITY);
        sparse(f, all, ActivationType.RELU, TWO, LayerRows.inPlace(f.gate(), f.up(), f.downT()), 0, s);
        assertEquals(1, s.stats().steps(0));
        assertEquals(1.0, s.stats().density(0, 192));
        assertEquals(1.0, s.stats().recall(0));
        assertTrue(s.stats().firingDensity(0, 192) > 0.2 && s.stats().firingDensity(0, 192) < 0.8);
    }
}
