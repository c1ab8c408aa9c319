package io.ruvector.sparse.model;

import java.util.Locale;

/**
 * The nonlinearity of the feed-forward block: {@code h = act(gate . x) * (up . x)}.
 *
 * <p>Selected by the metadata key {@code <arch>.feed_forward_activation} (absent means {@link #SILU},
 * the Llama / Qwen2 SwiGLU). ReLU variants matter for activation sparsity: they make most of {@code h}
 * exactly zero.
 */
public enum Activation {
    /** x * sigmoid(x) (SwiGLU when gated). */
    SILU,
    /** Exact GeLU: x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)). */
    GELU,
    /** GeLU, tanh approximation: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
    GELU_TANH,
    /** max(0, x). */
    RELU,
    /** max(0, x)^2 (squared ReLU). */
    RELU_SQUARED;

    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    private static final double INV_SQRT_2 = 1.0 / Math.sqrt(2.0);

    /** The activation applied to one value. */
    public float apply(float x) {
        return switch (this) {
            case SILU -> (float) (x / (1.0 + Math.exp(-x)));
            case GELU -> (float) (0.5 * x * (1.0 + Erf.erf(x * INV_SQRT_2)));
            case GELU_TANH -> (float) (0.5 * x * (1.0 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))));
            case RELU -> x > 0f ? x : 0f;
            case RELU_SQUARED -> x > 0f ? x * x : 0f;
        };
    }

    /**
     * The activation a metadata value names: {@code silu}/{@code swish}/{@code swiglu}, {@code gelu}
     * (exact, also {@code gelu_erf}), {@code gelu_tanh} (also {@code gelu_new}, {@code gelu_pytorch_tanh}),
     * {@code relu}, {@code relu2}/{@code relu_squared}; case-insensitive.
     *
     * @throws IllegalArgumentException naming the value when it is none of these
     */
    public static Activation fromName(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "silu", "swish", "swiglu" -> SILU;
            case "gelu", "gelu_erf", "geglu" -> GELU;
            case "gelu_tanh", "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
            case "relu", "reglu" -> RELU;
            case "relu2", "relu_squared", "relu_sq" -> RELU_SQUARED;
            default -> throw new IllegalArgumentException("unsupported feed-forward activation '" + name + "'");
        };
    }

    /** erf in double precision: a Taylor series near zero, a continued fraction for erfc in the tails. */
    static final class Erf {
        private static final double TWO_OVER_SQRT_PI = 2.0 / Math.sqrt(Math.PI);

        private Erf() {}

        static double erf(double x) {
            double a = Math.abs(x);
            double r;
            if (a < 2.5) {
                // erf(a) = 2/sqrt(pi) * sum_n (-1)^n a^(2n+1) / (n! (2n+1)); terms shrink fast for a < 2.5
                double a2 = a * a;
                double term = a;
                double sum = a;
                for (int n = 1; n < 100; n++) {
                    term *= -a2 / n;
                    double add = term / (2 * n + 1);
                    sum += add;
                    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
                }
                r = TWO_OVER_SQRT_PI * sum;
            } else if (a > 6.0) {
                r = 1.0;
            } else {
                r = 1.0 - erfcContinuedFraction(a);
            }
            return x < 0 ? -r : r;
        }

        /** erfc(a) for a >= 2.5 by Lentz's method on the Laplace continued fraction. */
        private static double erfcContinuedFraction(double a) {
            // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...)))))
            double tiny = 1e-300;
            double f = a;
            double c = a;
            double d = 0;
            for (int k = 1; k < 200; k++) {
                double coef = k / 2.0;
                d = a + coef * d;
                d = d == 0 ? tiny : d;
                c = a + coef / c;
                c = c == 0 ? tiny : c;
                d = 1.0 / d;
                double delta = c * d;
                f *= delta;
                if (Math.abs(delta - 1.0) < 1e-16) break;
            }
            return Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
        }
    }
}
