package io.ruvector.sparse.sampling;

import io.ruvector.sparse.SteadyState;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {

    private static float[] randomLogits(SplittableRandom r, int n, double scale) {
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float) (r.nextGaussian() * scale);
        return l;
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
        return best;
    }

    @Test
    void greedyTakesTheMaximumAndTheLowestIdOnTies() {
        Sampler s = new Sampler(SamplerConfig.greedy(), 6);
        assertEquals(3, s.sample(new float[]{0, 1, 2, 5, 4, -1}));
        assertEquals(1, s.sample(new float[]{0, 7, 2, 7, 7, -1}));
        assertEquals(0, s.sample(new float[]{3, 3, 3, 3, 3, 3}));
        assertEquals(5, s.sample(new float[]{Float.NEGATIVE_INFINITY, -9, -9, -9, -9, -1}));
    }

    @Test
    void topKOneAndTinyTopPAreGreedyForAnySeedAndTemperature() {
        SplittableRandom r = new SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + r.nextInt(300);
            float[] logits = randomLogits(r, n, 1 + r.nextDouble() * 5);
            if (r.nextInt(4) == 0) logits[r.nextInt(n)] = logits[argmax(logits)]; // a tie now and then
            int expected = new Sampler(SamplerConfig.greedy(), n).sample(logits);
            float temperature = (float) (0.1 + r.nextDouble() * 3);
            long seed = r.nextLong();
            SamplerConfig base = SamplerConfig.defaults(seed).withTemperature(temperature);
            assertEquals(expected, new Sampler(base.withTopK(1), n).sample(logits), "top-k 1, trial " + trial);
            assertEquals(expected, new Sampler(base.withTopK(0).withMinP(0).withTopP(1e-6f), n).sample(logits),
                    "tiny top-p, trial " + trial);
            assertEquals(expected, new Sampler(base.withTopK(0).withTopP(1e-6f), n).sample(logits),
                    "tiny top-p with min-p, trial " + trial);
        }
    }

    @Test
    void sameSeedSameTokensAndResetRestartsTheSequence() {
        SplittableRandom r = new SplittableRandom(5);
        float[][] steps = new float[50][];
        for (int i = 0; i < steps.length; i++) steps[i] = randomLogits(r, 100, 1.5);
        SamplerConfig c = SamplerConfig.defaults(1234).withRepeatPenalty(1.3f, 16);
        int[] a = run(new Sampler(c, 100), steps);
        int[] b = run(new Sampler(c, 100), steps);
        assertArrayEquals(a, b);
        Sampler reused = new Sampler(c, 100);
        run(reused, steps);
        reused.reset();
        assertArrayEquals(a, run(reused, steps));
        assertNotEquals(Arrays.toString(a), Arrays.toString(run(new Sampler(c.withSeed(1235), 100), steps)));
    }

    private static int[] run(Sampler s, float[][] steps) {
        int[] out = new int[steps.length];
        for (int i = 0; i < steps.length; i++) {
            out[i] = s.sample(steps[i]);
            s.accept(out[i]);
        }
        return out;
    }

    /** A plain, obviously-correct model of llama.cpp's chain: the probability of each token. */
    private static double[] referenceProbabilities(float[] logits, SamplerConfig c, int[] history) {
        int n = logits.length;
        double[] l = new double[n];
        for (int i = 0; i < n; i++) l[i] = logits[i];
        if (c.hasPenalties()) {
            int from = Math.max(0, history.length - c.repeatLastN());
            int[] count = new int[n];
            for (int i = from; i < history.length; i++) count[history[i]]++;
            for (int t = 0; t < n; t++) {
                if (count[t] == 0) continue;
                l[t] = l[t] <= 0 ? (float) l[t] * c.repeatPenalty() : (float) l[t] / c.repeatPenalty();
                l[t] -= count[t] * c.frequencyPenalty() + c.presencePenalty();
            }
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) if (l[i] != Double.NEGATIVE_INFINITY) order.add(i);
        order.sort(Comparator.<Integer>comparingDouble(i -> -l[i]).thenComparingInt(i -> i));
        if (c.topK() > 0 && c.topK() < order.size()) order = order.subList(0, c.topK());
        double max = l[order.get(0)];
        double z = 0;
        for (int i : order) z += Math.exp(l[i] - max);
        int keep = order.size();
        if (c.topP() < 1) {
            double cum = 0;
            for (int j = 0; j < order.size(); j++) {
                cum += Math.exp(l[order.get(j)] - max) / z;
                if (cum >= c.topP()) {
                    keep = j + 1;
                    break;
                }
            }
        }
        if (c.minP() > 0) {
            int j = 1;
            while (j < keep && l[order.get(j)] >= max + Math.log(c.minP())) j++;
            keep = j;
        }
        double[] p = new double[n];
        double sum = 0;
        for (int j = 0; j < keep; j++) {
            int t = order.get(j);
            p[t] = Math.exp((l[t] - max) / c.temperature());
            sum += p[t];
        }
        for (int t = 0; t < n; t++) p[t] /= sum;
        return p;
    }

    @Test
    void keptTokensAndFrequenciesMatchAPlainModelOfTheChain() {
        SplittableRandom r = new SplittableRandom(2024);
        for (int trial = 0; trial < 40; trial++) {
            int n = 2 + r.nextInt(60);
            float[] logits = randomLogits(r, n, 0.5 + r.nextDouble() * 2);
            if (r.nextInt(5) == 0) logits[r.nextInt(n)] = Float.NEGATIVE_INFINITY;
            int[] topKs = {0, 1 + r.nextInt(n), n + 3};
            float[] topPs = {1f, 0.5f + 0.49f * (float) r.nextDouble()};
            float[] minPs = {0f, 0.01f + 0.3f * (float) r.nextDouble()};
            SamplerConfig c = new SamplerConfig((float) (0.3 + r.nextDouble() * 1.5), topKs[r.nextInt(3)],
                    topPs[r.nextInt(2)], minPs[r.nextInt(2)],
                    r.nextBoolean() ? 1f : 1.5f, 8, r.nextBoolean() ? 0f : 0.2f, r.nextBoolean() ? 0f : 0.3f,
                    r.nextLong());
            int[] history = new int[r.nextInt(20)];
            for (int i = 0; i < history.length; i++) history[i] = r.nextInt(n);

            double[] expected = referenceProbabilities(logits, c, history);
            Sampler s = new Sampler(c, n);
            for (int t : history) s.accept(t);
            int draws = 6000;
            int[] freq = new int[n];
            for (int i = 0; i < draws; i++) {
                freq[s.sample(logits)]++;
                if (i == 0) {
                    List<Integer> keptExpected = new ArrayList<>();
                    for (int t = 0; t < n; t++) if (expected[t] > 0) keptExpected.add(t);
                    assertEquals(keptExpected.toString(), Arrays.toString(s.lastKept()), "kept set, trial " + trial + " " + c);
                }
            }
            double totalVariation = 0;
            for (int t = 0; t < n; t++) {
                if (expected[t] == 0) assertEquals(0, freq[t], "filtered token " + t + " drawn, trial " + trial);
                totalVariation += Math.abs(freq[t] / (double) draws - expected[t]) / 2;
            }
            // With 6000 draws the sampling noise of the total variation stays well under 0.05.
            assertTrue(totalVariation < 0.05, "trial " + trial + ": total variation " + totalVariation + " for " + c);
        }
    }

    @Test
    void minPDropsTokensFarBelowTheTop() {
        float[] logits = {0f, (float) Math.log(0.5), (float) Math.log(0.2), (float) Math.log(0.09), -20f};
        Sampler s = new Sampler(SamplerConfig.defaults(3).withTopK(0).withTopP(1f).withMinP(0.1f).withTemperature(1f), 5);
        boolean[] seen = new boolean[5];
        for (int i = 0; i < 3000; i++) seen[s.sample(logits)] = true;
        assertArrayEquals(new boolean[]{true, true, true, false, false}, seen);
    }

    @Test
    void repetitionPenaltyFollowsLlamaCppAndForgetsOldTokens() {
        SamplerConfig c = SamplerConfig.greedy().withRepeatPenalty(1.1f, 2);
        Sampler s = new Sampler(c, 4);
        float[] positive = {2.0f, 1.9f, 0f, -5f};
        assertEquals(0, s.sample(positive));
        s.accept(0);
        assertEquals(1, s.sample(positive), "2.0 / 1.1 < 1.9");
        float[] negative = {-5f, -5f, -1.0f, -1.05f};
        s.accept(2);
        assertEquals(3, s.sample(negative), "-1.0 * 1.1 < -1.05");
        s.accept(3);
        s.accept(3); // the window (2) now holds only token 3: 0 and 2 are forgotten
        assertEquals(0, s.sample(positive));
        assertEquals(2, s.sample(negative));
    }

    @Test
    void frequencyAndPresencePenaltiesCountOccurrences() {
        SamplerConfig c = SamplerConfig.greedy().withRepeatPenalty(1f, 8).withFrequencyAndPresencePenalty(0.5f, 0.25f);
        Sampler s = new Sampler(c, 3);
        float[] logits = {3f, 2f, 1.5f};
        s.accept(0);
        assertEquals(0, s.sample(logits), "3 - 0.5 - 0.25 = 2.25 > 2");
        s.accept(0);
        assertEquals(1, s.sample(logits), "3 - 1.0 - 0.25 = 1.75 < 2");
    }

    @Test
    void badLogitsAreRejectedWithAClearMessage() {
        Sampler s = new Sampler(SamplerConfig.defaults(1), 3);
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[2]));
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class, () -> s.sample(new float[]{0, Float.NaN, 0}));
        assertTrue(nan.getMessage().contains("token 1"), nan.getMessage());
        float ninf = Float.NEGATIVE_INFINITY;
        assertThrows(IllegalStateException.class, () -> s.sample(new float[]{ninf, ninf, ninf}));
        assertThrows(IllegalArgumentException.class, () -> s.accept(3));
        assertThrows(IllegalArgumentException.class, () -> new SamplerConfig(-1f, 0, 1f, 0f, 1f, 0, 0f, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> SamplerConfig.greedy().withTopP(0f));
        for (int i = 0; i < 200; i++) assertEquals(1, s.sample(new float[]{ninf, 0f, ninf}));
    }

    @Test
    void samplingAllocatesNothingPerToken() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        SplittableRandom r = new SplittableRandom(9);
        int n = 32000;
        float[] logits = randomLogits(r, n, 3);
        for (SamplerConfig c : List.of(SamplerConfig.defaults(1).withRepeatPenalty(1.1f, 64),
                SamplerConfig.defaults(1).withTopK(0), SamplerConfig.greedy())) {
            Sampler s = new Sampler(c, n);
            for (int i = 0; i < 300; i++) s.accept(s.sample(logits)); // warm up (JIT)
            long tid = Thread.currentThread().threadId();
            int calls = 300;
            long allocated = SteadyState.bestOf(() -> {
                long before = threads.getThreadAllocatedBytes(tid);
                for (int i = 0; i < calls; i++) s.accept(s.sample(logits));
                return threads.getThreadAllocatedBytes(tid) - before;
            }, calls * 8L);
            assertTrue(allocated < calls * 8L, c + ": " + allocated + " bytes allocated in " + calls + " tokens");
        }
    }
}
