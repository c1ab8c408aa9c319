package io.ruvector.sparse.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * e^t in float for t at most a little above 0 (SiLU's e^-x, softmax's e^(x - max)), in a scalar and a vector form
 * that perform the same operations, fma for fma, so a value never depends on whether it sat in a vector lane.
 *
 * <p>t (clamped at {@link #MIN_ARG}, where e^t is still a normal float) is split into n ln2 + r, |r| <= ln2/2
 * (n rounded to nearest with the 1.5 * 2^23 trick; ln2 in two parts, so r is exact), e^r comes from its Taylor
 * polynomial to degree 7 (truncation below 6e-9 relative) and 2^n from the exponent bits: within 2 ulp of the
 * exact value. Arguments above 88 would overflow the exponent bits; callers keep t below that.
 */
public final class FloatExp {

    /** Arguments below this are clamped to it: e^-87 = 1.6e-38 stands for anything smaller. */
    public static final float MIN_ARG = -87f;

    public static final float LOG2E = 1.44269504088896341f;
    public static final float ROUND_MAGIC = 12582912f;   // 1.5 * 2^23
    public static final float LN2_HI = 0.693359375f;
    public static final float LN2_LO = -2.12194440e-4f;
    public static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    private FloatExp() {}

    public static float exp(float t) {
        t = Math.max(t, MIN_ARG);
        float n = (t * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
        float r = Math.fma(n, -LN2_HI, t);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(C7, r, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    /**
     * {@code x[offset + i] = exp(x[offset + i] - shift)} for i < n, in vector lanes and then the tail; returns
     * their sum, in a fixed order (the lanes' running sums, summed as {@link VectorMath#sum} does, then the tail).
     * Only arrays cross this call, and the lane sum is written out here rather than calling {@code VectorMath.sum}:
     * a helper taking or returning vectors is boxed whenever C2 has compiled it on its own first (it then refuses
     * to inline it into a later caller); a softmax calling it cost 66 KiB of garbage per decoded token in one
     * run. SiLU's vector loop writes the same polynomial out in place for the same reason.
     */
    public static float expShifted(float[] x, int offset, int n, float shift) {
        VectorSpecies<Float> f = Simd.F;
        FloatVector sums = FloatVector.zero(f);
        int i = 0;
        for (; i + f.length() <= n; i += f.length()) {
            FloatVector t = FloatVector.fromArray(f, x, offset + i).sub(shift).max(MIN_ARG);
            FloatVector k = t.mul(LOG2E).add(ROUND_MAGIC).sub(ROUND_MAGIC);
            FloatVector r = k.fma(FloatVector.broadcast(f, -LN2_HI), t);
            r = k.fma(FloatVector.broadcast(f, -LN2_LO), r);
            FloatVector p = r.fma(FloatVector.broadcast(f, C7), FloatVector.broadcast(f, C6));
            p = p.fma(r, FloatVector.broadcast(f, C5));
            p = p.fma(r, FloatVector.broadcast(f, C4));
            p = p.fma(r, FloatVector.broadcast(f, C3));
            p = p.fma(r, FloatVector.broadcast(f, C2));
            p = p.fma(r, FloatVector.broadcast(f, 1f));
            p = p.fma(r, FloatVector.broadcast(f, 1f));
            IntVector bits = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
            FloatVector e = p.mul(bits.viewAsFloatingLanes());
            e.intoArray(x, offset + i);
            sums = sums.add(e);
        }
        sums = sums.add(sums.rearrange(VectorMath.ROTATE_1));
        if (VectorMath.ROTATE_2 != null) sums = sums.add(sums.rearrange(VectorMath.ROTATE_2));
        if (VectorMath.ROTATE_3 != null) sums = sums.add(sums.rearrange(VectorMath.ROTATE_3));
        if (VectorMath.ROTATE_4 != null) sums = sums.add(sums.rearrange(VectorMath.ROTATE_4));
        float sum = sums.lane(0);
        for (; i < n; i++) {
            float e = exp(x[offset + i] - shift);
            x[offset + i] = e;
            sum += e;
        }
        return sum;
    }
}
