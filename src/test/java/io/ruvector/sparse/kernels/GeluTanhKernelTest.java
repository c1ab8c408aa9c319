package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Simd;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tanh GeLU of Gemma's GeGLU in float: close to the exact value over the whole float line, and the vector form
 * (the array method) gives every element exactly the bits of the scalar form, in a lane or in the tail, at every
 * width (the pom re-runs this at 128, 256 and 512 bits).
 */
class GeluTanhKernelTest {

    private static double exact(float x) {
        double u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * (double) x * x);
        return x / (1 + Math.exp(-2 * u));
    }

    /**
     * u in float is within 3 ulp (three roundings), e^(-2u) within 2 ulp of e at the rounded argument, whose
     * relative change is 2|u| times u's; the result is x / (1 + e), so its relative error is at most about
     * (2|u| e/(1+e)) 3 ulp + 2 ulp + 2 ulp: bounded here by (8 + 6|u|) ulp of the value (plus the smallest normal,
     * where it underflows).
     */
    @Test
    void closeToTheExactValue() {
        Random rnd = new Random(13);
        float[] special = {0f, -0f, 1f, -1f, 3f, -3f, 9f, -9f, -9.4f, -9.5f, -10f, 10f, -30f, 30f, 1e-30f, -1e-30f,
                1e20f, -1e20f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE};
        for (float x : special) check(x);
        for (int i = 0; i < 200_000; i++) {
            float x = switch (i % 3) {
                case 0 -> (float) (rnd.nextGaussian() * 3);
                case 1 -> (rnd.nextFloat() - 0.5f) * 40;
                default -> (float) Math.scalb(rnd.nextFloat() - 0.5, rnd.nextInt(40) - 20);
            };
            check(x);
        }
        assertTrue(Float.isNaN(ActivationType.geluTanh(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, ActivationType.geluTanh(Float.POSITIVE_INFINITY));
    }

    private static void check(float x) {
        double want = exact(x);
        double u = Math.abs(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * (double) x * x));
        float got = ActivationType.geluTanh(x);
        double tol = (8 + 6 * Math.min(u, 1e6)) * Math.ulp((float) want) + Float.MIN_NORMAL;
        assertEquals(want, got, tol, "geluTanh(" + x + ")");
    }

    @Test
    void arrayFormEqualsScalarFormBitForBit() {
        Random rnd = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + rnd.nextInt(100);
            float[] g = new float[n];
            float[] u = new float[n];
            for (int i = 0; i < n; i++) {
                g[i] = trial % 7 == 0 && i % 5 == 0 ? -9f - rnd.nextInt(30) : (float) (rnd.nextGaussian() * 4);
                u[i] = (float) rnd.nextGaussian();
            }
            if (trial % 11 == 0) g[rnd.nextInt(n)] = Float.NaN;
            int from = rnd.nextInt(n);
            float[] h = new float[n];
            ActivationType.GELU_TANH.gated(g, u, h, from, n);
            for (int i = from; i < n; i++) {
                float want = ActivationType.GELU_TANH.gated(g[i], u[i]);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(h[i]),
                        "element " + i + " of [" + from + ", " + n + "), x = " + g[i] + ", bits " + Simd.bits());
            }
        }
    }
}
