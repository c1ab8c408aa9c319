package io.ruvector.sparse.kernels;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationTypeTest {

    /** erfc by its Maclaurin series (|x| < 2) or its continued fraction (x >= 2): slow, ~1e-14 relative. */
    static double erfcReference(double x) {
        if (x < 0) return 2.0 - erfcReference(-x);
        if (x < 2.0) {
            double sum = 0, term = x; // term_n = (-1)^n x^(2n+1) / n!
            for (int n = 0; n < 200; n++) {
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-18 * Math.abs(sum)) break;
                term *= -x * x / (n + 1);
            }
            return 1.0 - 2.0 / Math.sqrt(Math.PI) * sum;
        }
        // erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated backwards.
        double f = x;
        for (int k = 400; k >= 1; k--) f = x + (k / 2.0) / f;
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }

    @Test
    void erfcHasFloatLevelRelativeAccuracyIncludingTheTail() {
        double worst = 0;
        for (double x = -6; x <= 26; x += 0.013) {
            double ref = erfcReference(x);
            double rel = Math.abs(ActivationType.erfc(x) - ref) / ref;
            worst = Math.max(worst, rel);
        }
        assertTrue(worst < 2e-7, "worst relative error " + worst);
        assertEquals(1.0, ActivationType.erfc(0), 1e-7);
        assertEquals(2.0, ActivationType.erfc(-30), 0);
    }

    @Test
    void erfcMatchesTabulatedErf() {
        // erf from tables (Abramowitz & Stegun 7.1): erfc = 1 - erf, compared relative to erfc.
        double[][] erf = {{0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1.0, 0.8427007929497149},
                {2.0, 0.9953222650189527}, {2.6, 0.9997639655834707}, {3.5, 0.9999992569016276}};
        for (double[] p : erf) {
            assertEquals(1 - p[1], ActivationType.erfc(p[0]), 2e-7 * (1 - p[1]), "erfc(" + p[0] + ")");
            assertEquals(1 + p[1], ActivationType.erfc(-p[0]), 2e-7, "erfc(-" + p[0] + ")");
        }
    }

    @Test
    void geluMatchesItsDefinitionAndIsRightForLargeMagnitudes() {
        for (float x = -9f; x <= 9f; x += 0.01f) {
            double ref = 0.5 * x * erfcReference(-x / Math.sqrt(2));
            float got = ActivationType.GELU.apply(x);
            assertEquals(ref, got, Math.abs(ref) * 3e-7 + 1e-30, "gelu(" + x + ")");
        }
        // The tail is a tiny negative number, not 0 from 1 + erf(x) cancelling, and not NaN.
        float g = ActivationType.GELU.apply(-10f);
        double ref = 0.5 * -10 * erfcReference(10 / Math.sqrt(2));
        assertEquals(ref, g, Math.abs(ref) * 1e-6);
        assertTrue(g < 0);
        assertEquals(0f, ActivationType.GELU.apply(-60f), 0f);
        assertEquals(1e30f, ActivationType.GELU.apply(1e30f));
        assertEquals(Float.MAX_VALUE, ActivationType.GELU.apply(Float.MAX_VALUE));
        assertEquals(0f, ActivationType.GELU.apply(-Float.MAX_VALUE), 0f);
    }

    @Test
    void geluTanhHasNoCancellationOrOverflow() {
        double c = Math.sqrt(2 / Math.PI);
        for (float x = -3f; x <= 3f; x += 0.01f) {
            double ref = 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x * x * x)));
            assertEquals(ref, ActivationType.GELU_TANH.apply(x), Math.abs(ref) * 1e-6 + 1e-9, "x=" + x);
        }
        // At x = -6 the naive 0.5 x (1 + tanh u) is 0 in float; the true value is about -6 e^{2u}.
        float x = -6f;
        double u = c * (x + 0.044715 * x * x * x);
        double asymptotic = x * Math.exp(2 * u);
        float got = ActivationType.GELU_TANH.apply(x);
        assertTrue(got < 0, "got " + got);
        assertEquals(asymptotic, got, Math.abs(asymptotic) * 1e-4);
        assertEquals(1e20f, ActivationType.GELU_TANH.apply(1e20f));
        assertEquals(Float.MAX_VALUE, ActivationType.GELU_TANH.apply(Float.MAX_VALUE));
        assertEquals(0f, ActivationType.GELU_TANH.apply(-Float.MAX_VALUE), 0f);
        assertTrue(Float.isFinite(ActivationType.GELU_TANH.apply(-1e20f)));
    }

    @Test
    void siluAndReluFamilies() {
        assertEquals(0f, ActivationType.SILU.apply(0f));
        assertEquals((float) (1 / (1 + Math.exp(-1))), ActivationType.SILU.apply(1f), 2 * Math.ulp(0.7310586f));
        assertEquals(1000f, ActivationType.SILU.apply(1000f));
        assertEquals(0f, ActivationType.SILU.apply(-1000f), 0f);
        assertEquals(Float.MAX_VALUE, ActivationType.SILU.apply(Float.MAX_VALUE));
        float tiny = ActivationType.SILU.apply(-30f);
        assertEquals(-30 * Math.exp(-30), tiny, 1e-6 * 30 * Math.exp(-30));

        assertEquals(0f, ActivationType.RELU.apply(-3f));
        assertEquals(3f, ActivationType.RELU.apply(3f));
        assertEquals(-6f, ActivationType.RELU.gated(3f, -2f));
        assertEquals(0f, ActivationType.DRELU.gated(3f, -2f));
        assertEquals(6f, ActivationType.DRELU.gated(3f, 2f));
        assertEquals(0f, ActivationType.DRELU.gated(-3f, 2f));
        assertEquals(-6f, ActivationType.IDENTITY.gated(3f, -2f));
        assertTrue(ActivationType.RELU.hasExactZeros() && ActivationType.DRELU.hasExactZeros());
        assertTrue(!ActivationType.SILU.hasExactZeros() && !ActivationType.GELU.hasExactZeros());
    }

    @Test
    void arrayFormAgreesWithScalarAndDoesNotDependOnPosition() {
        Random rnd = new Random(7);
        for (ActivationType t : ActivationType.values()) {
            for (int n : new int[]{1, 3, 15, 16, 17, 64, 172, 1000}) {
                float[] g = new float[n], u = new float[n], h = new float[n];
                for (int i = 0; i < n; i++) {
                    g[i] = (float) (rnd.nextGaussian() * 4);
                    u[i] = (float) rnd.nextGaussian();
                }
                t.gated(g, u, h, n);
                for (int i = 0; i < n; i++) {
                    float s = t.gated(g[i], u[i]);
                    assertEquals(Float.floatToIntBits(s), Float.floatToIntBits(h[i]), t + " i=" + i);
                }
                // The same neuron placed at another index (as in a compacted sparse array) gives the same bits.
                for (int shift : new int[]{1, 5, 13}) {
                    float[] g2 = new float[n + shift], u2 = new float[n + shift], h2 = new float[n + shift];
                    System.arraycopy(g, 0, g2, shift, n);
                    System.arraycopy(u, 0, u2, shift, n);
                    t.gated(g2, u2, h2, n + shift);
                    for (int i = 0; i < n; i++) {
                        assertEquals(Float.floatToIntBits(h[i]), Float.floatToIntBits(h2[i + shift]), t + " shift " + shift);
                    }
                }
            }
        }
    }

    @Test
    void namesAndAliases() {
        for (ActivationType t : ActivationType.values()) assertEquals(t, ActivationType.fromName(t.key()));
        assertEquals(ActivationType.SILU, ActivationType.fromName("Swish"));
        assertEquals(ActivationType.GELU_TANH, ActivationType.fromName("gelu-new"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ActivationType.fromName("tanhh"));
        assertTrue(e.getMessage().contains("tanhh"));
        assertThrows(IllegalArgumentException.class,
                () -> ActivationType.SILU.gated(new float[2], new float[3], new float[3], 3));
    }
}
