package io.ruvector.sparse.sparse;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationRecorderTest {

    @Test
    void reservoirIsUniformAndTheSameTokensForEveryLayerWhateverTheInterleaving() {
        int tokens = 20000, keep = 400, dim = 2;
        ActivationRecorder r = new ActivationRecorder(2, dim, 3, keep, 5);
        float[] x = new float[dim], h = new float[3];
        // Batches of 7 tokens: layer 0 sees the batch, then layer 1 (as the model's forward pass does).
        for (int from = 0; from < tokens; from += 7) {
            for (int layer = 0; layer < 2; layer++) {
                for (int t = from; t < Math.min(tokens, from + 7); t++) {
                    x[0] = t;
                    x[1] = layer;
                    h[0] = t % 2 == 0 ? 1f : 0f;
                    h[1] = -2f;
                    h[2] = 0f;
                    r.observe(layer, x, h);
                }
            }
        }
        assertEquals(tokens, r.tokens());
        assertEquals(keep, r.sampleCount(0));
        float[] s0 = r.samples(0), s1 = r.samples(1);
        Set<Integer> kept = new HashSet<>();
        double mean = 0;
        for (int s = 0; s < keep; s++) {
            assertEquals(s0[s * dim], s1[s * dim], "same token in both layers");
            assertEquals(1f, s1[s * dim + 1]);
            kept.add((int) s0[s * dim]);
            mean += s0[s * dim];
        }
        assertEquals(keep, kept.size(), "distinct tokens");
        mean /= keep;
        // Uniform over [0, 20000): mean 10000, standard error 5773/sqrt(400) = 289.
        assertEquals(10000, mean, 1200);
        assertArrayEquals(new float[]{0.5f, 1f, 0f}, r.nonZeroFrequency(1));
        assertEquals(2f, r.meanMagnitude(0)[1], 1e-6);
    }

    @Test
    void shortRunsKeepEveryToken() {
        ActivationRecorder r = new ActivationRecorder(1, 1, 1, 10, 1);
        for (int t = 0; t < 4; t++) r.observe(0, new float[]{t}, new float[]{1});
        assertArrayEquals(new float[]{0, 1, 2, 3}, r.samples(0));
        assertTrue(ActivationRecorder.samplesForBudget(1 << 20, 2, 64) == (1 << 20) / (4 * 2 * 64));
    }
}
