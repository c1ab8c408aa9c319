package io.ruvector.sparse.sparse;

import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.LayerWeights;
import io.ruvector.sparse.model.ModelWeights;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Dense and sparse decoding of one model measured in the same run, alternating (A B A B ...) so that drift of a
 * shared machine hits both alike: tokens per second of each, whether the greedy tokens agree, and from an
 * untimed measurement pass the realized density per layer, the predictor's recall and the bytes read per token.
 */
public final class SparseBenchmark {

    /**
     * @param denseTps          tokens/s of each dense repetition
     * @param sparseTps         tokens/s of each sparse repetition
     * @param denseTokens       greedy tokens of the dense runs
     * @param sparseTokens      greedy tokens of the sparse runs
     * @param stats             counts of the measurement pass (density, recall, bytes)
     * @param denseBytesPerToken weight bytes a dense step reads
     * @param ffnBytesPerToken  of which feed-forward weights
     * @param neurons           FFN neurons per layer
     */
    public record Result(double[] denseTps, double[] sparseTps, int[] denseTokens, int[] sparseTokens, SparseStats stats,
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

        static double median(double[] v) {
            double[] s = v.clone();
            Arrays.sort(s);
            int n = s.length;
            return n == 0 ? 0 : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        }
    }

    private SparseBenchmark() {}

    /**
     * Runs {@code warmup} untimed then {@code repetitions} timed rounds of {@code genTokens} greedy steps from
     * token {@code first}, dense then sparse in each round; then one untimed sparse pass measuring recall.
     */
    public static Result run(LanguageModel model, SparseModel sparse, int first, int genTokens, int repetitions, int warmup,
                             Consumer<String> log) {
        double[] dense = new double[repetitions], sp = new double[repetitions];
        int[] denseTokens = new int[genTokens], sparseTokens = new int[genTokens];
        try (Session d = model.newSession(); Session s = sparse.newSession()) {
            for (int w = 0; w < warmup; w++) {
                log.accept("warm-up " + (w + 1) + "/" + warmup);
                decode(d, first, genTokens, denseTokens);
                decode(s, first, genTokens, sparseTokens);
            }
            for (int r = 0; r < repetitions; r++) {
                dense[r] = decode(d, first, genTokens, denseTokens);
                sp[r] = decode(s, first, genTokens, sparseTokens);
                log.accept(String.format(java.util.Locale.ROOT, "round %d/%d: dense %.2f t/s, sparse %.2f t/s",
                        r + 1, repetitions, dense[r], sp[r]));
            }
            sparse.resetStats();
            sparse.setMeasureRecall(true);
            try {
                int[] scratch = new int[genTokens];
                decode(s, first, genTokens, scratch);
            } finally {
                sparse.setMeasureRecall(false);
            }
        }
        SparseStats stats = sparse.stats();
        long[] bytes = weightBytes(model.weights());
        return new Result(dense, sp, denseTokens, sparseTokens, stats, bytes[0], bytes[1], model.config().ffnDim());
    }

    /** Greedy decoding from an empty context; returns tokens per second. */
    private static double decode(Session s, int first, int n, int[] out) {
        s.reset();
        long t0 = System.nanoTime();
        int token = first;
        for (int i = 0; i < n; i++) {
            token = s.evaluate(token).argmax();
            out[i] = token;
        }
        return n * 1e9 / (System.nanoTime() - t0);
    }

    /** {all weight bytes a decode step reads, of which FFN}: every matrix once, one embedding row. */
    static long[] weightBytes(ModelWeights w) {
        long all = w.tokenEmbedding().rowBytes() + bytes(w.output()) + bytes(w.outputNorm());
        long ffn = 0;
        for (LayerWeights l : w.layers()) {
            long f = bytes(l.gate()) + bytes(l.up()) + bytes(l.down());
            ffn += f;
            all += f + bytes(l.wq()) + bytes(l.wk()) + bytes(l.wv()) + bytes(l.wo()) + bytes(l.attnNorm()) + bytes(l.ffnNorm());
        }
        return new long[]{all, ffn};
    }

    private static long bytes(Tensor t) { return t == null ? 0 : t.rowBytes() * t.rows(); }
}
