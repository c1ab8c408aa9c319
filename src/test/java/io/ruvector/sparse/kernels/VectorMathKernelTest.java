package io.ruvector.sparse.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
