package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.FloatExp;
import io.ruvector.sparse.cpu.Simd;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Locale;

/**
 * The activation functions of feed-forward blocks, named like the original crate's {@code ActivationType}.
 *
 * <p>Every FFN of a llama-family model is gated: {@code h = act(gate . x) * (up . x)}. {@link #gated(float, float)}
 * computes one neuron's {@code h}; {@link #gated(float[], float[], float[], int)} a whole vector of them. The
 * dense and the sparse FFN both go through these methods and nothing else, so that a neuron's value does not
 * depend on which path computed it (the array form treats every element the same way, whatever its position,
 * so a neuron gives the same bits whether it sits in a full or a compacted array).
 *
 * <p>{@link #DRELU} is TurboSparse's dReLU: ReLU on both the gate and the up branch, {@code relu(g) * relu(u)}.
 * For the plain (not gated) form, {@link #apply(float)} is the activation alone.
 *
 * <p>All functions are correct for large |x|: no cancellation, overflow or NaN where the true value is finite
 * (GeLU at -40 is a tiny negative number or -0, never NaN; GeLU at 1e30 is 1e30).
 */
public enum ActivationType {
    /** Rectified linear unit, {@code max(0, x)}. Its zeros are exact: the family sparse inference exploits. */
    RELU,
    /** Gaussian error linear unit in its exact form {@code x * Phi(x) = x/2 * erfc(-x / sqrt 2)}. */
    GELU,
    /** GeLU's tanh approximation {@code x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))} (GPT-2's "gelu_new"). */
    GELU_TANH,
    /** Sigmoid linear unit (Swish), {@code x * sigmoid(x)}: the SwiGLU of Llama. */
    SILU,
    /** dReLU: ReLU on both branches of the gated unit, {@code relu(gate) * relu(up)}. */
    DRELU,
    /** Squared ReLU, {@code max(0, x)^2} (Primer; some sparse models). */
    RELU_SQUARED,
    /** No activation: {@code h = gate * up} (bilinear GLU) or {@code h = x}. */
    IDENTITY;

    private static final double SQRT_HALF = 0.7071067811865476;
    private static final double SQRT_2_OVER_PI = 0.7978845608028654;

    /** The activation of one value. */
    public float apply(float x) {
        return switch (this) {
            case RELU, DRELU -> Math.max(x, 0f);
            case RELU_SQUARED -> {
                float r = Math.max(x, 0f);
                yield r * r;
            }
            case GELU -> gelu(x);
            case GELU_TANH -> geluTanh(x);
            case SILU -> silu(x);
            case IDENTITY -> x;
        };
    }

    /** One neuron of a gated unit: {@code act(gate) * up}, or {@code relu(gate) * relu(up)} for dReLU. */
    public float gated(float gate, float up) {
        return switch (this) {
            case DRELU -> Math.max(gate, 0f) * Math.max(up, 0f);
            default -> apply(gate) * up;
        };
    }

    /**
     * {@code h[i] = gated(gate[i], up[i])} for {@code i < n} ({@code h} may be {@code gate} or {@code up}).
     * Every element gets the bits {@link #gated(float, float)} gives it, whatever its index: SiLU and the tanh GeLU
     * run in vector lanes with the same float operations as their scalar forms (see {@link #silu},
     * {@link #geluTanh}), the others are scalar code.
     */
    public void gated(float[] gate, float[] up, float[] h, int n) { gated(gate, up, h, 0, n); }

    /** {@link #gated(float[], float[], float[], int)} for {@code from <= i < to} only (for a split over threads). */
    public void gated(float[] gate, float[] up, float[] h, int from, int to) {
        if (from < 0 || to > gate.length || to > up.length || to > h.length) {
            throw new IllegalArgumentException("gated activation of [" + from + ", " + to + ") with arrays of "
                    + gate.length + ", " + up.length + ", " + h.length);
        }
        switch (this) {
            case SILU -> siluGated(gate, up, h, from, to);
            case GELU_TANH -> geluTanhGated(gate, up, h, from, to);
            case RELU -> {
                for (int i = from; i < to; i++) h[i] = Math.max(gate[i], 0f) * up[i];
            }
            default -> {
                for (int i = from; i < to; i++) h[i] = gated(gate[i], up[i]);
            }
        }
    }

    /**
     * True when the function outputs exact zeros over a half line (ReLU, dReLU, squared ReLU): a neuron then "fires" when its
     * output is non-zero. For the others firing is |output| above a threshold chosen for a target density.
     */
    public boolean hasExactZeros() { return this == RELU || this == DRELU || this == RELU_SQUARED; }

    /** Name as written in GGUF metadata and on the command line, e.g. {@code silu}, {@code gelu_tanh}. */
    public String key() { return name().toLowerCase(Locale.ROOT); }

    /**
     * Parses a name: the {@link #key()}s plus the usual aliases ({@code swish}, {@code swiglu} for SiLU,
     * {@code gelu_new}, {@code gelu_pytorch_tanh} for the tanh GeLU, {@code gelu_exact} for GeLU, {@code none}
     * and {@code linear} for identity).
     *
     * @throws IllegalArgumentException naming the accepted names
     */
    public static ActivationType fromName(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        return switch (n) {
            case "relu", "reglu" -> RELU;
            case "gelu", "gelu_exact", "geglu", "gelu_erf" -> GELU;
            case "gelu_tanh", "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
            case "silu", "swish", "swiglu" -> SILU;
            case "drelu" -> DRELU;
            case "relu2", "relu_squared", "relu_sq" -> RELU_SQUARED;
            case "identity", "none", "linear" -> IDENTITY;
            default -> throw new IllegalArgumentException("unknown activation '" + name
                    + "' (known: relu, gelu, gelu_tanh, silu, drelu, relu_squared, identity)");
        };
    }

    // ---- scalar functions ----

    /*
     * SiLU as x / (1 + e^-x) with e^-x from FloatExp (within 2 ulp); ggml's SiLU also uses a float exp. The vector
     * form in siluGated performs the same operations, so a neuron's value never depends on whether it sat in a
     * vector lane. Below -80 (and for NaN) the double formula takes over: e^-x would overflow.
     */
    private static final float SILU_FAST_MIN = -80f;

    static float silu(float x) {
        if (!(x >= SILU_FAST_MIN)) return (float) (x / (1.0 + Math.exp(-x)));
        return x / (1f + FloatExp.exp(-x));
    }

    /**
     * {@code h[i] = silu(gate[i]) * up[i]}, vector lanes where every lane is in the fast range. FloatExp's
     * polynomial is written out here: a helper taking vectors gets boxed when C2 compiles it on its own first.
     */
    private static void siluGated(float[] gate, float[] up, float[] h, int from, int to) {
        VectorSpecies<Float> f = Simd.F;
        int i = from;
        for (; i + f.length() <= to; i += f.length()) {
            FloatVector x = FloatVector.fromArray(f, gate, i);
            if (!x.compare(VectorOperators.GE, SILU_FAST_MIN).allTrue()) {
                for (int j = i; j < i + f.length(); j++) h[j] = silu(gate[j]) * up[j];
                continue;
            }
            FloatVector t = x.neg().max(FloatExp.MIN_ARG);
            FloatVector n = t.mul(FloatExp.LOG2E).add(FloatExp.ROUND_MAGIC).sub(FloatExp.ROUND_MAGIC);
            FloatVector r = n.fma(FloatVector.broadcast(f, -FloatExp.LN2_HI), t);
            r = n.fma(FloatVector.broadcast(f, -FloatExp.LN2_LO), r);
            FloatVector p = r.fma(FloatVector.broadcast(f, FloatExp.C7), FloatVector.broadcast(f, FloatExp.C6));
            p = p.fma(r, FloatVector.broadcast(f, FloatExp.C5));
            p = p.fma(r, FloatVector.broadcast(f, FloatExp.C4));
            p = p.fma(r, FloatVector.broadcast(f, FloatExp.C3));
            p = p.fma(r, FloatVector.broadcast(f, FloatExp.C2));
            p = p.fma(r, FloatVector.broadcast(f, 1f));
            p = p.fma(r, FloatVector.broadcast(f, 1f));
            IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
            FloatVector e = p.mul(bits.viewAsFloatingLanes());
            x.div(e.add(1f)).mul(FloatVector.fromArray(f, up, i)).intoArray(h, i);
        }
        for (; i < to; i++) h[i] = silu(gate[i]) * up[i];
    }

    static float gelu(float x) {
        return (float) (0.5 * x * erfc(-x * SQRT_HALF));
    }

    /*
     * The tanh GeLU as x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3): 1 + tanh(u) = 2 sigmoid(2u), so no
     * cancellation for very negative x, where 1 + tanh(u) would round to 0 long before the true value underflows.
     * In float with FloatExp's exp, and geluTanhGated performs the same operations in vector lanes (Gemma's GeGLU
     * runs it on every hidden neuron). Float u is within a few ulp, which the result carries times (1 + 2|u|).
     * Where e^(-2u) could overflow (-2u above 80: x below about -9.4, where the value is below 1e-33 in magnitude)
     * and for NaN, the double formula takes over (in double, x^3 cannot overflow for any float x).
     */
    private static final float GELU_CUBIC = 0.044715f;
    private static final float GELU_SCALE = (float) SQRT_2_OVER_PI;
    private static final float GELU_FAST_MAX_EXP_ARG = 80f;

    static float geluTanh(float x) {
        float t = (x * x * x * GELU_CUBIC + x) * GELU_SCALE * -2f;
        if (!(t <= GELU_FAST_MAX_EXP_ARG)) {
            double xd = x;
            double u = SQRT_2_OVER_PI * (xd + 0.044715 * xd * xd * xd);
            return (float) (xd / (1.0 + Math.exp(-2.0 * u)));
        }
        return x / (1f + FloatExp.exp(t));
    }

    /** {@code h[i] = geluTanh(gate[i]) * up[i]}, vector lanes where every lane is in the fast range (as siluGated). */
    private static void geluTanhGated(float[] gate, float[] up, float[] h, int from, int to) {
        VectorSpecies<Float> f = Simd.F;
        int i = from;
        for (; i + f.length() <= to; i += f.length()) {
            FloatVector x = FloatVector.fromArray(f, gate, i);
            FloatVector arg = x.mul(x).mul(x).mul(GELU_CUBIC).add(x).mul(GELU_SCALE).mul(-2f);
            if (!arg.compare(VectorOperators.LE, GELU_FAST_MAX_EXP_ARG).allTrue()) {
                for (int j = i; j < i + f.length(); j++) h[j] = geluTanh(gate[j]) * up[j];
                continue;
            }
            FloatVector t = arg.max(FloatExp.MIN_ARG);
            FloatVector n = t.mul(FloatExp.LOG2E).add(FloatExp.ROUND_MAGIC).sub(FloatExp.ROUND_MAGIC);
            FloatVector r = n.fma(FloatVector.broadcast(f, -FloatExp.LN2_HI), t);
            r = n.fma(FloatVector.broadcast(f, -FloatExp.LN2_LO), r);
            FloatVector p = r.fma(FloatVector.broadcast(f, FloatExp.C7), FloatVector.broadcast(f, FloatExp.C6));
            p = p.fma(r, FloatVector.broadcast(f, FloatExp.C5));
            p = p.fma(r, FloatVector.broadcast(f, FloatExp.C4));
            p = p.fma(r, FloatVector.broadcast(f, FloatExp.C3));
            p = p.fma(r, FloatVector.broadcast(f, FloatExp.C2));
            p = p.fma(r, FloatVector.broadcast(f, 1f));
            p = p.fma(r, FloatVector.broadcast(f, 1f));
            IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
            FloatVector e = p.mul(bits.viewAsFloatingLanes());
            x.div(e.add(1f)).mul(FloatVector.fromArray(f, up, i)).intoArray(h, i);
        }
        for (; i < to; i++) h[i] = geluTanh(gate[i]) * up[i];
    }

    /**
     * Complementary error function with relative error below 1.2e-7 over the whole real line (a Chebyshev
     * fit of {@code erfc(z) = t exp(-z^2 + P(t))}, {@code t = 1/(1 + z/2)}, from Numerical Recipes). Working in
     * double on the relative form keeps the tail accurate until it underflows: erfc(20) is 5.4e-176, not 0.
     */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
                + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        double r = t * Math.exp(-z * z + p);
        return x >= 0 ? r : 2.0 - r;
    }
}
