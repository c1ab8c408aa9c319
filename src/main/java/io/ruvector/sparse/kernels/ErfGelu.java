package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.FloatExp;
import io.ruvector.sparse.cpu.Simd;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exact (erf) GELU, {@code x/2 * erfc(-x/sqrt 2)}, in float: the activation BERT encoders were trained with,
 * fast enough for their feed-forward blocks (millions of values per batch, where {@link ActivationType#GELU}'s
 * double formula dominated the time). erfc comes from the same Chebyshev fit as {@link ActivationType}'s
 * ({@code t exp(-z^2 + P(t))}, {@code t = 1/(1 + z/2)}, relative error 1.2e-7), evaluated in float with
 * {@link FloatExp}'s exponential. The scalar and the vector form perform the same operations, fma for fma, so a
 * value never depends on whether it sat in a vector lane; lanes holding a non-finite value take the scalar form.
 */
public final class ErfGelu {

    private static final float MINUS_SQRT_HALF = -0.70710678118654752f;
    private static final float P0 = -1.26551223f, P1 = 1.00002368f, P2 = 0.37409196f, P3 = 0.09678418f,
            P4 = -0.18628806f, P5 = 0.27886807f, P6 = -1.13520398f, P7 = 1.48851587f, P8 = -0.82215223f,
            P9 = 0.17087277f;

    private ErfGelu() {}

    /** GELU of one value. */
    public static float gelu(float x) {
        if (Float.isInfinite(x)) return x > 0 ? x : -0f;
        float u = x * MINUS_SQRT_HALF;
        float z = Math.abs(u);
        float t = 1f / Math.fma(z, 0.5f, 1f);
        float p = Math.fma(P9, t, P8);
        p = Math.fma(p, t, P7);
        p = Math.fma(p, t, P6);
        p = Math.fma(p, t, P5);
        p = Math.fma(p, t, P4);
        p = Math.fma(p, t, P3);
        p = Math.fma(p, t, P2);
        p = Math.fma(p, t, P1);
        p = Math.fma(p, t, P0);
        float r = t * FloatExp.exp(Math.fma(-z, z, p));
        float erfc = u >= 0 ? r : 2f - r;
        return x * 0.5f * erfc;
    }

    /** {@code h[i] = gelu(h[i])} for {@code from <= i < to}, in vector lanes and then the tail. */
    public static void apply(float[] h, int from, int to) {
        VectorSpecies<Float> f = Simd.F;
        int i = from;
        for (; i + f.length() <= to; i += f.length()) {
            FloatVector x = FloatVector.fromArray(f, h, i);
            if (!x.abs().compare(VectorOperators.LE, Float.MAX_VALUE).allTrue()) {
                for (int j = i; j < i + f.length(); j++) h[j] = gelu(h[j]);
                continue;
            }
            FloatVector u = x.mul(MINUS_SQRT_HALF);
            FloatVector z = u.abs();
            FloatVector t = FloatVector.broadcast(f, 1f).div(z.fma(FloatVector.broadcast(f, 0.5f), FloatVector.broadcast(f, 1f)));
            FloatVector p = FloatVector.broadcast(f, P9).fma(t, FloatVector.broadcast(f, P8));
            p = p.fma(t, FloatVector.broadcast(f, P7));
            p = p.fma(t, FloatVector.broadcast(f, P6));
            p = p.fma(t, FloatVector.broadcast(f, P5));
            p = p.fma(t, FloatVector.broadcast(f, P4));
            p = p.fma(t, FloatVector.broadcast(f, P3));
            p = p.fma(t, FloatVector.broadcast(f, P2));
            p = p.fma(t, FloatVector.broadcast(f, P1));
            p = p.fma(t, FloatVector.broadcast(f, P0));
            // FloatExp.exp written out (a helper taking vectors is boxed when C2 compiles it on its own first)
            FloatVector a = z.neg().fma(z, p).max(FloatExp.MIN_ARG);
            FloatVector n = a.mul(FloatExp.LOG2E).add(FloatExp.ROUND_MAGIC).sub(FloatExp.ROUND_MAGIC);
            FloatVector r = n.fma(FloatVector.broadcast(f, -FloatExp.LN2_HI), a);
            r = n.fma(FloatVector.broadcast(f, -FloatExp.LN2_LO), r);
            FloatVector e = r.fma(FloatVector.broadcast(f, FloatExp.C7), FloatVector.broadcast(f, FloatExp.C6));
            e = e.fma(r, FloatVector.broadcast(f, FloatExp.C5));
            e = e.fma(r, FloatVector.broadcast(f, FloatExp.C4));
            e = e.fma(r, FloatVector.broadcast(f, FloatExp.C3));
            e = e.fma(r, FloatVector.broadcast(f, FloatExp.C2));
            e = e.fma(r, FloatVector.broadcast(f, 1f));
            e = e.fma(r, FloatVector.broadcast(f, 1f));
            IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
            FloatVector tail = t.mul(e.mul(bits.viewAsFloatingLanes()));
            FloatVector erfc = FloatVector.broadcast(f, 2f).sub(tail).blend(tail, u.compare(VectorOperators.GE, 0f));
            x.mul(0.5f).mul(erfc).intoArray(h, i);
        }
        for (; i < to; i++) h[i] = gelu(h[i]);
    }
}
