package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.memory.LayerRows;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sparse feed-forward block over every tensor type we can encode (gate, up, down and down_t all in that
 * type), at every vector width: thread count never changes a bit, every neuron selected equals the dense block,
 * and a partial selection equals a double-precision sum over the same neurons.
 */
class SparseLayerTypesKernelTest {

    static final Parallel ONE = new Parallel(1), TWO = new Parallel(2), THREE = new Parallel(3);

    @AfterAll
    static void close() {
        ONE.close();
        TWO.close();
        THREE.close();
    }

    @Test
    void everyEncodableTypeGivesThreadIndependentResultsEqualToDenseAndToTheReference() {
        int d = 256, n = 256;
        List<GgmlType> tested = new ArrayList<>();
        for (TensorType t : TensorTypes.all()) {
            GgmlType type = t.ggmlType();
            if (!Storage.canEncode(type, d) || !Storage.canEncode(type, n) || type.blockSize() > 256) continue;
            tested.add(type);
            SparseLayerTest.Ffn f = SparseLayerTest.ffn(d, n, type, type.id());
            LayerRows rows = LayerRows.inPlace(f.gate(), f.up(), f.downT());
            SparseScratch s = new SparseScratch(1, n, 8);
            float[] one = SparseLayerTest.sparse(f, f.predictor(), ActivationType.SILU, ONE, rows, 0, s);
            int selected = s.lastSelected();
            assertTrue(selected > 20 && selected < n, type + ": selected " + selected);
            assertArrayEquals(one, SparseLayerTest.sparse(f, f.predictor(), ActivationType.SILU, TWO, rows, 0, s), type.toString());
            assertArrayEquals(one, SparseLayerTest.sparse(f, f.predictor(), ActivationType.SILU, THREE, rows, 0, s), type.toString());

            NeuronPredictor all = f.predictor().withThreshold(Float.NEGATIVE_INFINITY);
            assertArrayEquals(SparseLayerTest.dense(f, ActivationType.SILU),
                    SparseLayerTest.sparse(f, all, ActivationType.SILU, TWO, rows, 0, s), type + " all selected");

            float[] hidden = new float[8], scores = new float[n];
            f.predictor().project(f.x(), hidden);
            f.predictor().scores(hidden, 0, n, scores);
            float[] downT = f.downT().toFloatArray();
            double[] ref = new double[d];
            double scale = 0;
            for (int i = 0; i < n; i++) {
                if (scores[i] < f.predictor().threshold()) continue;
                float h = ActivationType.SILU.gated(f.gate().dotRow(i, f.x()), f.up().dotRow(i, f.x()));
                for (int j = 0; j < d; j++) ref[j] += (double) h * downT[i * d + j];
            }
            for (double v : ref) scale = Math.max(scale, Math.abs(v));
            for (int j = 0; j < d; j++) assertEquals(ref[j], one[j], 1e-4 * scale, type + " output " + j);
        }
        System.out.println("sparse layer checked for " + tested);
        assertTrue(tested.contains(GgmlType.Q4_0) && tested.contains(GgmlType.Q8_0) && tested.contains(GgmlType.F16), "tested " + tested);
    }
}
