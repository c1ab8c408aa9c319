package io.ruvector.sparse.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** RoPE against the definition, including partial rotation (ropeDims < headDim) and linear scaling. */
class RopeTest {

    @ParameterizedTest(name = "{0}, rope dims {1} of 16, scale {2}")
    @CsvSource({"INTERLEAVED, 16, 1", "NEOX, 16, 1", "INTERLEAVED, 8, 1", "NEOX, 8, 1", "NEOX, 12, 4", "INTERLEAVED, 4, 2"})
    void rotatesPairsByPositionTimesFrequency(RopeStyle style, int ropeDims, double scale) {
        int headDim = 16;
        int heads = 3;
        ModelConfig c = new ModelConfig("test", heads * headDim, 1, 8, heads, 1, headDim, ropeDims, 500.0, scale,
                new Architecture("test", style, false, false, false, false), false, 1e-5f, 64, 10, true, false,
                io.ruvector.sparse.kernels.ActivationType.SILU, true);
        Rope rope = new Rope(c, null);
        Random r = new Random(7);
        int n = 3;
        int pos = 41;
        float[] x = new float[n * heads * headDim];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] y = x.clone();
        float[] table = new float[n * rope.tableWidth()];
        rope.angles(pos, n, table);
        rope.rotate(y, heads, n, table);
        for (int t = 0; t < n; t++) {
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * headDim;
                for (int i = 0; i < ropeDims / 2; i++) {
                    int a = style == RopeStyle.INTERLEAVED ? o + 2 * i : o + i;
                    int b = style == RopeStyle.INTERLEAVED ? a + 1 : a + ropeDims / 2;
                    double theta = (pos + t) / scale * Math.pow(500.0, -2.0 * i / ropeDims);
                    assertEquals(x[a] * Math.cos(theta) - x[b] * Math.sin(theta), y[a], 1e-5);
                    assertEquals(x[a] * Math.sin(theta) + x[b] * Math.cos(theta), y[b], 1e-5);
                }
                for (int i = ropeDims; i < headDim; i++) assertEquals(x[o + i], y[o + i], "dimension " + i + " is not rotated");
            }
        }
    }
}
