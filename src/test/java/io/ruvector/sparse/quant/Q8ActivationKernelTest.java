package io.ruvector.sparse.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vector activation quantizer against its scalar twin (ggml's reference, step by step). */
class Q8ActivationKernelTest {

    @Test
    void roundingASparseVectorEqualsQuantizingItsDenseForm() {
        for (int seed = 0; seed < 40; seed++) {
            Random rnd = new Random(100 + seed);
            int n = 32 * (1 + rnd.nextInt(40));
            float[] dense = new float[n];
            int[] index = new int[n];
            float[] listed = new float[n + 3];
            int count = 0;
            double density = rnd.nextDouble();
            for (int i = 0; i < n; i++) {
                if (rnd.nextDouble() < density) {
                    dense[i] = (float) (rnd.nextGaussian() * (1 + seed));
                    index[count] = i;
                    listed[3 + count++] = dense[i];
                }
            }
            Q8Activation q = new Q8Activation(n);
            q.quantize(dense, 0, n);
            float[] expected = new float[n];
            q.dequantize(expected, 0);
            int[] shifted = new int[count + 3];
            System.arraycopy(index, 0, shifted, 3, count);
            Q8Activation.roundSparse(shifted, listed, 3, 3 + count);
            for (int k = 0; k < count; k++) {
                assertEquals(expected[index[k]], listed[3 + k], 0f, "position " + index[k] + " seed " + seed);
            }
        }
    }

    @Test
    void quantizingBlockRangesInAnyOrderEqualsQuantizingTheWhole() {
        for (int seed = 0; seed < 30; seed++) {
            Random rnd = new Random(7000 + seed);
            int n = 32 * (1 + rnd.nextInt(60));
            int xOffset = rnd.nextInt(5);
            float[] x = QuantTestData.values(rnd, xOffset + n);
            Q8Activation whole = new Q8Activation(n);
            whole.quantize(x, xOffset, n);
            Q8Activation pieces = new Q8Activation(n + 32);
            int nb = n / 32;
            int cut = rnd.nextInt(nb + 1);
            pieces.quantizeBlocks(x, xOffset, n, cut, nb);   // the later range first, as another thread might
            pieces.quantizeBlocks(x, xOffset, n, 0, cut);
            assertEquals(n, pieces.length());
            for (int i = 0; i < n; i++) assertEquals(whole.code(i), pieces.code(i), "code " + i + " seed " + seed);
            for (int b = 0; b < nb; b++) {
                assertEquals(whole.scale(b), pieces.scale(b), 0f);
                assertEquals(whole.scaledSum(b), pieces.scaledSum(b), 0f);
                assertEquals(whole.codeSum(b), pieces.codeSum(b));
            }
            assertThrows(IndexOutOfBoundsException.class, () -> pieces.quantizeBlocks(x, xOffset, n, 0, nb + 1));
            assertThrows(IndexOutOfBoundsException.class, () -> pieces.quantizeBlocks(x, xOffset, n, 1, 0));
        }
    }

    @Test
    void tokenLanesHoldEveryTokensCodesColumnByColumnPairedAndPaddedWithZeros() {
        int[] pairings = {1, 2, 8, 16, 32};
        for (int seed = 0; seed < 25; seed++) {
            Random rnd = new Random(8000 + seed);
            int pairing = pairings[seed % pairings.length];
            int cols = 32 * (1 + rnd.nextInt(12));
            int n = 1 + rnd.nextInt(70);
            int stride = (n + rnd.nextInt(40) + pairing - 1) / pairing * pairing;
            float[] x = QuantTestData.values(rnd, n * cols);
            Q8Activation q = new Q8Activation(n * cols);
            q.quantize(x, 0, n * cols);
            short[] codes = new short[cols * stride];
            float[] scales = new float[cols / 32 * stride];
            Arrays.fill(codes, (short) 99);
            Arrays.fill(scales, 99f);
            int cut = 32 * rnd.nextInt(cols / 32 + 1);
            q.packTokenLanes(n, cols, stride, pairing, codes, scales, cut, cols);
            q.packTokenLanes(n, cols, stride, pairing, codes, scales, 0, cut);
            for (int k = 0; k < cols; k++) {
                for (int t = 0; t < stride; t++) {
                    int expected = t < n ? q.code(t * cols + k) : 0;
                    int lane = Q8Activation.pairedLane(t, pairing);
                    assertEquals(expected, codes[k * stride + lane], "column " + k + " token " + t + " seed " + seed);
                }
            }
            for (int b = 0; b < cols / 32; b++) {
                for (int t = 0; t < stride; t++) {
                    float expected = t < n ? q.scale(t * cols / 32 + b) : 0f;
                    assertEquals(expected, scales[b * stride + t], 0f, "block " + b + " token " + t);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new Q8Activation(64).packTokenLanes(1, 32, 24, 16,
                new short[32 * 24], new float[24], 0, 32));
    }

    @Test
    void pairedLanesSplitEachRunIntoTheLowAndHighHalvesOfIntLanes() {
        for (int pairing = 2; pairing <= 64; pairing *= 2) {
            boolean[] seen = new boolean[3 * pairing];
            for (int t = 0; t < 3 * pairing; t++) {
                int lane = Q8Activation.pairedLane(t, pairing);
                int run = t / pairing * pairing;
                int i = t - run;
                assertEquals(run + (i < pairing / 2 ? 2 * i : 2 * (i - pairing / 2) + 1), lane, "token " + t + " pairing " + pairing);
                assertTrue(!seen[lane]);
                seen[lane] = true;
            }
        }
        for (int t = 0; t < 10; t++) assertEquals(t, Q8Activation.pairedLane(t, 1));
    }

    @Test
    void vectorQuantizerEqualsScalarBitForBit() {
        for (int seed = 0; seed < 60; seed++) {
            Random rnd = new Random(seed);
            int n = 32 * (1 + rnd.nextInt(80));
            float[] x = QuantTestData.values(rnd, n);
            if (seed % 3 == 0) {
                // Ties: with amax = 127 the step is 1 and k + 0.5 lands exactly halfway.
                for (int j = 0; j < 32; j++) x[j] = (rnd.nextInt(254) - 127) + 0.5f;
                x[0] = 127f;
            }
            Q8Activation v = new Q8Activation(n + 64);
            Q8Activation s = new Q8Activation(n + 64);
            v.quantize(x, 0, n);
            s.quantizeScalar(x, 0, n);
            assertEquals(n, v.length());
            for (int i = 0; i < n; i++) {
                assertEquals(s.code(i), v.code(i), "code " + i + " seed " + seed);
                assertTrue(Math.abs(v.code(i)) <= 127);
            }
            for (int b = 0; b < n / 32; b++) {
                assertEquals(s.scale(b), v.scale(b), 0f);
                assertEquals(s.scaledSum(b), v.scaledSum(b), 0f);
                assertEquals(s.codeSum(b), v.codeSum(b));
                int sum = 0;
                for (int j = 0; j < 32; j++) sum += v.code(32 * b + j);
                assertEquals(sum, v.codeSum(b));
                float amax = 0f;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]));
                assertEquals(Fp16.round(amax / 127f), v.scale(b), 0f);
                assertEquals(Fp16.round(sum * (amax / 127f)), v.scaledSum(b), 0f);
            }
        }
    }

    @Test
    void tiesRoundAwayFromZeroAndErrorIsHalfAStep() {
        float[] x = new float[32];
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.49999997f;
        x[4] = -126.5f;
        Q8Activation q = new Q8Activation(32);
        q.quantize(x, 0, 32);
        assertEquals(1f, q.scale(0));
        assertEquals(3, q.code(1));
        assertEquals(-3, q.code(2));
        assertEquals(0, q.code(3));
        assertEquals(-127, q.code(4));

        Random rnd = new Random(5);
        float[] y = QuantTestData.values(rnd, 4096);
        Q8Activation a = new Q8Activation(4096);
        a.quantize(y, 0, 4096);
        for (int i = 0; i < 4096; i++) {
            // Half a step, plus the fp16 rounding of the stored step times up to 127 steps.
            float step = a.scale(i / 32);
            assertTrue(Math.abs(a.code(i) * step - y[i]) <= step * (0.5 + 127 * 0x1p-11) * 1.001 + 1e-30, "value " + i);
        }
    }

    @Test
    void writesGgmlBlockLayouts() {
        Random rnd = new Random(9);
        float[] x = QuantTestData.values(rnd, 64);
        Q8Activation q = new Q8Activation(64);
        q.quantize(x, 0, 64);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q80 = arena.allocate(68);
            MemorySegment q81 = arena.allocate(72);
            q.writeQ8_0(q80, 0);
            q.writeQ8_1(q81, 0);
            float[] back = new float[64];
            Q8_0.INSTANCE.dequantize(q80, 0, back, 0, 64);
            float[] direct = new float[66];
            q.dequantize(direct, 2);
            for (int i = 0; i < 64; i++) {
                assertEquals(back[i], direct[2 + i], 0f);
                assertEquals(q.code(i) * q.scale(i / 32), back[i], 0f);
                assertEquals(q.code(i), q81.get(Layouts.BYTE, 36L * (i / 32) + 4 + i % 32));
            }
            assertEquals(q.scaledSum(1), Fp16.read(q81, 36 + 2), 0f);
        }
    }

    @Test
    void rejectsPartialBlocksAndOverflow() {
        Q8Activation q = new Q8Activation(64);
        assertThrows(IllegalArgumentException.class, () -> q.quantize(new float[40], 0, 40));
        assertThrows(IllegalArgumentException.class, () -> q.quantize(new float[96], 0, 96));
        assertThrows(IllegalArgumentException.class, () -> new Q8Activation(33));
    }
}
