package io.ruvector.sparse.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorMathKernelTest {

    /** Scalar model of {@link VectorMath#sum}: pairwise halving. */
    private static float halving(float[] a, int off, int len) {
        float[] t = java.util.Arrays.copyOfRange(a, off, off + len);
        for (int half = len / 2; half >= 1; half >>= 1) {
            for (int i = 0; i < half; i++) t[i] += t[i + half];
        }
        return t[0];
    }

    /** Same bits before and after C2 compiles it (reduceLanes(ADD) differs between the two). */
    @Test
    void sumHasOneFixedOrderInEveryExecutionMode() {
        int len = Simd.F.length();
        Random rnd = new Random(11);
        float[] a = new float[len * 256];
        for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(8)));
        for (int rep = 0; rep < 300; rep++) {
            for (int k = 0; k < 256; k++) {
                float got = VectorMath.sum(FloatVector.fromArray(Simd.F, a, k * len));
                assertEquals(Float.floatToRawIntBits(halving(a, k * len, len)), Float.floatToRawIntBits(got), "rep " + rep + " vector " + k);
            }
        }
    }

    /** Each score is one scalar fused multiply-add chain over the dimensions, then scaled: bit for bit. */
    @Test
    void transposedDotsEqualTheirScalarChains() {
        int len = Simd.F.length();
        for (int seed = 0; seed < 40; seed++) {
            Random rnd = new Random(500 + seed);
            int n = 1 + rnd.nextInt(130);
            int count = 1 + rnd.nextInt(200);
            int stride = (count + len - 1) / len * len + len * rnd.nextInt(2);
            int qOffset = rnd.nextInt(9);
            float[] q = new float[qOffset + n];
            float[] kt = new float[n * stride];
            for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
            for (int i = 0; i < kt.length; i++) kt[i] = (float) rnd.nextGaussian();
            float scale = 0.125f + rnd.nextFloat();
            float[] out = new float[stride];
            VectorMath.transposedDots(q, qOffset, n, kt, stride, count, scale, out);
            for (int s = 0; s < count; s++) {
                float chain = 0f;
                for (int d = 0; d < n; d++) chain = Math.fma(kt[d * stride + s], q[qOffset + d], chain);
                assertEquals(Float.floatToRawIntBits(chain * scale), Float.floatToRawIntBits(out[s]), "score " + s + " seed " + seed);
            }
        }
    }

    /** Per element one fused multiply-add chain over the rows in order, from zero, as axpy calls would give. */
    @Test
    void weightedRowsEqualTheirScalarChainsForAnyWidthAndRowCount() {
        for (int seed = 0; seed < 40; seed++) {
            Random rnd = new Random(900 + seed);
            int n = 1 + rnd.nextInt(150);
            int count = rnd.nextInt(70);
            long rowBytes = 4L * (n + rnd.nextInt(5));
            long offset = 4L * rnd.nextInt(7);
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                java.lang.foreign.MemorySegment rows = arena.allocate(offset + rowBytes * Math.max(count, 1), 4);
                float[][] values = new float[count][n];
                for (int s = 0; s < count; s++) {
                    for (int i = 0; i < n; i++) {
                        values[s][i] = (float) rnd.nextGaussian();
                        rows.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, offset + s * rowBytes + 4L * i, values[s][i]);
                    }
                }
                int wOffset = rnd.nextInt(5);
                float[] w = new float[wOffset + count];
                for (int i = 0; i < w.length; i++) w[i] = rnd.nextFloat();
                int outOffset = rnd.nextInt(6);
                float[] out = new float[outOffset + n + 3];
                java.util.Arrays.fill(out, Float.NaN);
                VectorMath.weightedRows(rows, offset, rowBytes, w, wOffset, count, out, outOffset, n);
                for (int i = 0; i < n; i++) {
                    float chain = 0f;
                    for (int s = 0; s < count; s++) chain = Math.fma(values[s][i], w[wOffset + s], chain);
                    assertEquals(Float.floatToRawIntBits(chain), Float.floatToRawIntBits(out[outOffset + i]), "element " + i + " seed " + seed);
                }
                assertTrue(Float.isNaN(out[outOffset + n]), "nothing written past n");
            }
        }
    }

    /** e^t the same in a lane and in scalar code, within 2 ulp of the exact value over the range softmax uses. */
    @Test
    void floatExpIsTheSameInLanesAndScalarAndWithinTwoUlp() {
        // shift 0: t - 0 is t, so the lanes compute exp(t) exactly as the scalar form does
        int len = Simd.F.length();
        Random rnd = new Random(77);
        float[] t = new float[len * 4000];
        for (int i = 0; i < t.length; i++) t[i] = i % 97 == 0 ? -rnd.nextInt(120) : (float) (-rnd.nextDouble() * (i % 3 == 0 ? 90 : 3));
        t[0] = 0f;
        t[1] = -87f;
        t[2] = -0f;
        float[] lanes = t.clone();
        FloatExp.expShifted(lanes, 0, lanes.length, 0f);
        for (int i = 0; i < t.length; i++) {
            float scalar = FloatExp.exp(t[i]);
            assertEquals(Float.floatToRawIntBits(scalar), Float.floatToRawIntBits(lanes[i]), "t = " + t[i]);
            double exact = Math.exp(Math.max(t[i], FloatExp.MIN_ARG));
            assertTrue(Math.abs(scalar - exact) <= 2 * Math.ulp((float) exact), "t = " + t[i] + ": " + scalar + " vs " + exact);
        }
        assertEquals(1f, FloatExp.exp(0f), 0f);
    }

    @Test
    void softmaxMatchesTheExactOneAndSumsToOne() {
        for (int seed = 0; seed < 50; seed++) {
            Random rnd = new Random(1300 + seed);
            int n = 1 + rnd.nextInt(300);
            int offset = rnd.nextInt(5);
            float[] x = new float[offset + n + 2];
            for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * (seed % 4 == 0 ? 30 : 3));
            float[] in = x.clone();
            VectorMath.softmax(x, offset, n);
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) max = Math.max(max, in[offset + i]);
            double total = 0;
            for (int i = 0; i < n; i++) total += Math.exp(in[offset + i] - max);
            double sum = 0;
            for (int i = 0; i < n; i++) {
                double exact = Math.exp(in[offset + i] - max) / total;
                // x - max is rounded to float first (half an ulp of |x - max|, relative to e^(x - max)), then e^t
                // and the normalizer each add an ulp or two.
                double tolerance = exact * (1e-6 + 1e-7 * Math.abs(in[offset + i] - max)) + 1e-30;
                assertEquals(exact, x[offset + i], tolerance, "element " + i + " of " + n + " seed " + seed);
                sum += x[offset + i];
            }
            assertEquals(1.0, sum, 1e-5);
            assertEquals(in[offset + n], x[offset + n], 0f, "nothing written past n");
            if (offset > 0) assertEquals(in[offset - 1], x[offset - 1], 0f);
        }
    }
}
