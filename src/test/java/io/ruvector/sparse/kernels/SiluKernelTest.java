package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Simd;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SiLU's float exp: within 2 ulp of the exact value over the whole float line, and the vector form (the array
 * method) gives every element exactly the bits of the scalar form, in a lane or in the tail, at every width.
 */
class SiluKernelTest {

    private static float exact(float x) { return (float) (x / (1.0 + Math.exp(-(double) x))); }

    @Test
    void withinTwoUlpOfTheExactValue() {
        Random rnd = new Random(11);
        float[] special = {0f, -0f, 1f, -1f, 80f, -80f, -80.0001f, -79.9999f, 87f, -87f, 88f, -88f, 100f, -100f,
                1e-30f, -1e-30f, 1e30f, -1e30f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, 0.3465736f, -0.3465736f};
        for (float x : special) check(x);
        for (int i = 0; i < 200_000; i++) {
            float x = switch (i % 3) {
                case 0 -> (float) (rnd.nextGaussian() * 4);
                case 1 -> (rnd.nextFloat() - 0.5f) * 200;
                default -> (float) Math.scalb(rnd.nextFloat() - 0.5, rnd.nextInt(40) - 20);
            };
            check(x);
        }
        assertTrue(Float.isNaN(ActivationType.silu(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, ActivationType.silu(Float.POSITIVE_INFINITY));
    }

    private static void check(float x) {
        float want = exact(x);
        float got = ActivationType.silu(x);
        double tol = Math.max(2 * Math.ulp(want), Float.MIN_NORMAL);
        assertEquals(want, got, tol, "silu(" + x + ")");
    }

    @Test
    void arrayFormEqualsScalarFormBitForBit() {
        Random rnd = new Random(5);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rnd.nextInt(100);
            float[] g = new float[n];
            float[] u = new float[n];
            for (int i = 0; i < n; i++) {
                g[i] = trial % 7 == 0 && i % 5 == 0 ? -85f - rnd.nextInt(20) : (float) (rnd.nextGaussian() * 10);
                u[i] = (float) rnd.nextGaussian();
            }
            if (trial % 11 == 0) g[rnd.nextInt(n)] = Float.NaN;
            int from = rnd.nextInt(n);
            float[] h = new float[n];
            ActivationType.SILU.gated(g, u, h, from, n);
            for (int i = from; i < n; i++) {
                float want = ActivationType.SILU.gated(g[i], u[i]);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(h[i]),
                        "element " + i + " of [" + from + ", " + n + "), x = " + g[i] + ", bits " + Simd.bits());
            }
        }
    }
}
