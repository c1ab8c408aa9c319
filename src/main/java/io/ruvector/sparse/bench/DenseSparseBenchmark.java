package io.ruvector.sparse.bench;

import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.LayerWeights;
import io.ruvector.sparse.model.ModelWeights;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.sparse.SparseModel;
import io.ruvector.sparse.sparse.SparseStats;
import io.ruvector.sparse.tensor.Tensor;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * Dense and sparse decoding of one model measured in the same run, alternating (dense, sparse, dense, sparse,
 * ...) so that drift of a shared machine hits both alike: tokens per second and bytes allocated per token of
 * each, whether the greedy tokens agree, how often the sparse session picks dense's next token when fed dense's
 * tokens, and from one untimed pass that also computes every neuron, the realized density per layer, the
 * predictor's recall and the bytes read per token.
 */
public final class DenseSparseBenchmark {

    /**
     * @param denseTps           tokens/s of each dense repetition
     * @param sparseTps          tokens/s of each sparse repetition
     * @param denseTokens        greedy tokens of the dense runs
     * @param sparseTokens       greedy tokens of the sparse runs
     * @param forcedAgreement    steps at which sparse, fed dense's tokens, predicts dense's next token
     * @param warmups            warm-up pairs made
     * @param denseAllocatedPerToken  bytes the JVM allocated per dense token (all threads)
     * @param sparseAllocatedPerToken bytes the JVM allocated per sparse token
     * @param stats              counts of the measurement pass (density, recall, bytes)
     * @param denseBytesPerToken weight bytes a dense step reads
     * @param ffnBytesPerToken   of which feed-forward weights
     * @param neurons            FFN neurons per layer
     */
    public record Result(double[] denseTps, double[] sparseTps, int[] denseTokens, int[] sparseTokens, int forcedAgreement,
                         int warmups, double denseAllocatedPerToken, double sparseAllocatedPerToken, SparseStats stats,
                         long denseBytesPerToken, long ffnBytesPerToken, int neurons) {

        public double denseMedian() { return median(denseTps); }

        public double sparseMedian() { return median(sparseTps); }

        /** Sparse over dense, of the medians. */
        public double speedup() { return sparseMedian() / denseMedian(); }

        /** Index of the first greedy token that differs, or the length when all agree. */
        public int agreeingTokens() {
            int i = 0;
            while (i < denseTokens.length && i < sparseTokens.length && denseTokens[i] == sparseTokens[i]) i++;
            return i;
        }

        /** Weight bytes a sparse step reads: dense minus the FFN, plus what the sparse FFN read (predictors included). */
        public double sparseBytesPerToken() { return denseBytesPerToken - ffnBytesPerToken + stats.bytesPerToken(); }

        /** Mean realized density over layers. */
        public double meanDensity() {
            double d = 0;
            for (int l = 0; l < stats.layers(); l++) d += stats.density(l, neurons);
            return d / stats.layers();
        }

        /** Mean share of neurons that really fired, over layers. */
        public double meanFiring() {
            double d = 0;
            for (int l = 0; l < stats.layers(); l++) d += stats.firingDensity(l, neurons);
            return d / stats.layers();
        }

        static double median(double[] v) {
            double[] s = v.clone();
            Arrays.sort(s);
            int n = s.length;
            return n == 0 ? 0 : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        }
    }

    private DenseSparseBenchmark() {}

    /**
     * Warms up ({@code warmUp}, a dense and a sparse run per step), then {@code repetitions} timed rounds of
     * {@code genTokens} greedy steps from token {@code first}, dense then sparse in each round, then the forced
     * agreement and one untimed sparse pass measuring recall. {@code denseBytesPerToken} is what a dense step
     * reads of the weights (the caller knows the file).
     */
    public static Result run(LanguageModel model, SparseModel sparse, Session dense, Session sparseSession, int first,
                             int genTokens, int repetitions, WarmUp warmUp, long denseBytesPerToken) {
        if (genTokens < 1 || repetitions < 1) {
            throw new IllegalArgumentException("tokens and repetitions must be >= 1, not " + genTokens + ", " + repetitions);
        }
        int[] denseTokens = new int[genTokens], sparseTokens = new int[genTokens];
        // Settled when a dense and sparse pair takes the same time twice: tokens / (tokens/s) is seconds.
        int warmups = warmUp.run(() -> (long) (1e9 * genTokens / decode(dense, first, denseTokens)
                + 1e9 * genTokens / decode(sparseSession, first, sparseTokens)));
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        double[] dTps = new double[repetitions], sTps = new double[repetitions];
        long dAlloc = 0, sAlloc = 0;
        for (int r = 0; r < repetitions; r++) {
            long b0 = mx.getTotalThreadAllocatedBytes();
            dTps[r] = decode(dense, first, denseTokens);
            long b1 = mx.getTotalThreadAllocatedBytes();
            sTps[r] = decode(sparseSession, first, sparseTokens);
            long b2 = mx.getTotalThreadAllocatedBytes();
            dAlloc += b1 - b0;
            sAlloc += b2 - b1;
        }
        int forced = forcedAgreement(sparseSession, first, denseTokens);
        sparse.resetStats();
        sparse.setMeasureRecall(true);
        try {
            decode(sparseSession, first, new int[genTokens]);
        } finally {
            sparse.setMeasureRecall(false);
        }
        long tokens = (long) genTokens * repetitions;
        return new Result(dTps, sTps, denseTokens, sparseTokens, forced, warmups, dAlloc / (double) tokens,
                sAlloc / (double) tokens, sparse.stats(), denseBytesPerToken, ffnBytes(model.weights()),
                model.config().ffnDim());
    }

    /** Greedy decoding from an empty context into {@code out}; returns tokens per second. */
    private static double decode(Session s, int first, int[] out) {
        s.reset();
        long t0 = System.nanoTime();
        int token = first;
        for (int i = 0; i < out.length; i++) {
            token = s.evaluate(token).argmax();
            out[i] = token;
        }
        return out.length * 1e9 / (System.nanoTime() - t0);
    }

    /**
     * Steps at which {@code s}, fed the dense run's tokens, predicts the dense run's next token too: unlike the
     * free-running agreement, one near tie decided the other way does not count against every later step.
     */
    private static int forcedAgreement(Session s, int first, int[] denseTokens) {
        s.reset();
        int agree = 0;
        int token = first;
        for (int denseNext : denseTokens) {
            if (s.evaluate(token).argmax() == denseNext) agree++;
            token = denseNext;
        }
        return agree;
    }

    /** Bytes of the feed-forward matrices a dense step reads. */
    static long ffnBytes(ModelWeights w) {
        long ffn = 0;
        for (LayerWeights l : w.layers()) ffn += bytes(l.gate()) + bytes(l.up()) + bytes(l.down()) + bytes(l.downT());
        return ffn;
    }

    private static long bytes(Tensor t) { return t == null ? 0 : t.rowBytes() * t.rows(); }
}
