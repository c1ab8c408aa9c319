package io.ruvector.sparse.kernels;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float erf GELU: close to the double formula everywhere (the fit's 1.2e-7 relative error plus a few float
 * roundings), and the array form gives every element exactly the scalar form's bits, in a lane or in the tail, at
 * every vector width.
 */
class ErfGeluKernelTest {

    private static float[] samples(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (i % 3) {
                case 0 -> (float) (rnd.nextGaussian() * 3);
                case 1 -> (rnd.nextFloat() - 0.5f) * 60;
                default -> (float) Math.scalb(rnd.nextFloat() - 0.5, rnd.nextInt(60) - 30);
            };
        }
        return x;
    }

    @Test
    void closeToTheDoubleFormula() {
        float[] special = {0f, -0f, 1f, -1f, 3f, -3f, 5.5f, -5.5f, 10f, -10f, 13f, -13f, 20f, -20f, 1e-30f, -1e-30f,
                1e30f, -1e30f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE};
        for (float x : special) check(x);
        for (float x : samples(new Random(3), 300_000)) check(x);
        assertEquals(Float.POSITIVE_INFINITY, ErfGelu.gelu(Float.POSITIVE_INFINITY));
        assertEquals(-0f, ErfGelu.gelu(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(ErfGelu.gelu(Float.NaN)));
    }

    private static void check(float x) {
        float want = ActivationType.GELU.apply(x);
        float got = ErfGelu.gelu(x);
        // relative to |x|: where GELU is tiny (x very negative) its absolute error is what matters downstream
        double tol = 1e-6 * Math.abs(x) + Float.MIN_NORMAL;
        assertEquals(want, got, tol, "gelu(" + x + ")");
    }

    @Test
    void arrayFormEqualsScalarFormBitForBit() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + rnd.nextInt(120);
            float[] x = samples(rnd, n);
            if (trial % 9 == 0) x[rnd.nextInt(n)] = Float.NaN;
            if (trial % 13 == 0) x[rnd.nextInt(n)] = Float.NEGATIVE_INFINITY;
            int from = rnd.nextInt(n);
            float[] h = x.clone();
            ErfGelu.apply(h, from, n);
            for (int i = 0; i < n; i++) {
                float want = i < from ? x[i] : ErfGelu.gelu(x[i]);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(h[i]),
                        "element " + i + " of " + n + " (from " + from + "): gelu(" + x[i] + ")");
            }
        }
    }
}
