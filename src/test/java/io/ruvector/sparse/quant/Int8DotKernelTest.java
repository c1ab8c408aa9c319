package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The int8-activation kernels against their scalar twins and against the float product they approximate. */
class Int8DotKernelTest {

    static Stream<TensorType> types() { return TensorTypes.all().stream().filter(t -> t instanceof Int8DotProduct); }

    @ParameterizedTest
    @MethodSource("types")
    void vectorMatchesScalarAndStaysWithinTheActivationRoundingBound(TensorType t) {
        Int8DotProduct k = (Int8DotProduct) t;
        for (int seed = 0; seed < 40; seed++) {
            Random rnd = new Random(seed * 977L + t.ggmlType().id());
            int blocks = seed % 4 == 0 ? 100 + rnd.nextInt(30) : 1 + rnd.nextInt(12);
            int n = 32 * blocks;
            int tokenOffset = 32 * rnd.nextInt(3);
            long off = rnd.nextInt(9);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = QuantTestData.quantized(arena, t, QuantTestData.values(rnd, n), n, off);
                float[] x = QuantTestData.values(rnd, tokenOffset + n);
                Q8Activation xq = new Q8Activation(x.length);
                xq.quantize(x, 0, x.length);
                double[] w = QuantTestData.decoded(t, seg, off, n);
                // Rounding an activation moves it by at most half its block's step amax/127, plus up to 127 steps
                // times the fp16 rounding of the stored step (2^-11 relative); the min term of Q4_1/Q5_1 adds the
                // fp16 rounding of Q8_1's s.
                double exact = 0;
                double mag = 0;
                double bound = 0;
                for (int i = 0; i < n; i++) {
                    int xi = tokenOffset + i;
                    exact += w[i] * x[xi];
                    mag += Math.abs(w[i] * x[xi]);
                    double amax = 0;
                    for (int j = xi / 32 * 32; j < xi / 32 * 32 + 32; j++) amax = Math.max(amax, Math.abs(x[j]));
                    bound += Math.abs(w[i]) * amax * (0.5 / 127 + 0x1p-11) * 1.0001;
                }
                if (t == Q4_1.INSTANCE || t == Q5_1.INSTANCE) {
                    for (int b = 0; b < blocks; b++) {
                        double m = Fp16.read(seg, off + (long) b * t.blockBytes() + 2);
                        bound += Math.abs(m) * Math.abs(xq.scaledSum(tokenOffset / 32 + b)) * 0x1p-11;
                    }
                }
                float vec = k.dotQ8(seg, off, xq, tokenOffset, n);
                float sc = k.dotQ8Scalar(seg, off, xq, tokenOffset, n);
                double floatTol = 1e-6 * (8 + Math.sqrt(n)) * (mag + bound) + 1e-30;
                String where = t.ggmlType() + " n=" + n + " seed=" + seed + " bits=" + Simd.bits();
                assertTrue(Math.abs(vec - sc) <= floatTol, where + ": vector " + vec + " vs scalar " + sc);
                assertTrue(Math.abs(sc - exact) <= bound * 1.0001 + floatTol,
                        where + ": int8 " + sc + " vs exact " + exact + ", bound " + bound);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void vectorEqualsScalarExactlyWhenArithmeticIsExact(TensorType t) {
        Int8DotProduct k = (Int8DotProduct) t;
        for (int seed = 0; seed < 30; seed++) {
            Random rnd = new Random(seed * 17L + t.ggmlType().id());
            int n = 32 * (1 + rnd.nextInt(seed % 3 == 0 ? 32 : 5));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment seg = QuantTestData.exactRow(arena, t, rnd, n, 1);
                float[] x = QuantTestData.exactInt8Activations(rnd, n);
                Q8Activation xq = new Q8Activation(n);
                xq.quantize(x, 0, n);
                for (int i = 0; i < n; i++) assertEquals(x[i], xq.code(i) * xq.scale(i / 32), 0f, "activation is exact");
                double[] w = QuantTestData.decoded(t, seg, 1, n);
                double ref = 0;
                for (int i = 0; i < n; i++) ref += w[i] * x[i];
                String where = t.ggmlType() + " n=" + n + " seed=" + seed + " bits=" + Simd.bits();
                assertEquals((float) ref, k.dotQ8Scalar(seg, 1, xq, 0, n), 0f, where + " scalar");
                assertEquals((float) ref, k.dotQ8(seg, 1, xq, 0, n), 0f, where + " vector");
            }
        }
    }
}
