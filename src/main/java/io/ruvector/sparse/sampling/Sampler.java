package io.ruvector.sparse.sampling;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Chooses the next token from a vector of logits, as a {@link SamplerConfig} says.
 *
 * <p>Steps, in llama.cpp's default order: repetition/frequency/presence penalties over the tokens
 * {@linkplain #accept accepted} lately; then, when the temperature is 0, the most likely token (lowest id
 * on ties); otherwise top-k, top-p and min-p on the penalised logits, and a random draw among the kept
 * tokens with probabilities {@code softmax(logit / temperature)}.
 *
 * <p>All buffers are allocated once, here, so sampling a token allocates nothing. Candidates are ordered
 * by logit, then by id: a total order, so the result never depends on how the sort is done. The random
 * numbers come from the {@value #RANDOM_ALGORITHM} algorithm, whose output is fixed by its specification,
 * so a seed gives the same tokens on every JDK.
 *
 * <p>One sampler serves one generation at a time: it is not thread-safe.
 */
public final class Sampler {

    /** The named java.util.random algorithm behind the draws; its sequence for a seed never changes. */
    public static final String RANDOM_ALGORITHM = "L64X128MixRandom";

    private final SamplerConfig config;
    private final int vocabSize;
    /** Penalised logits, by token id. */
    private final float[] work;
    /** Token ids being filtered (a heap or a top-k selection). */
    private final int[] candidates;
    /** Token ids that survived the filters, best first. */
    private final int[] kept;
    /** Draw weights of the kept tokens. */
    private final double[] weights;
    /** Ring of the most recent accepted tokens (null when no penalty is active). */
    private final int[] recent;
    /** Occurrences of each token id in the ring (null when no penalty is active). */
    private final int[] counts;
    private int recentSize;
    private int recentNext;
    /** How many tokens the filters kept at the last random draw (for tests). */
    private int keptCount;
    private RandomGenerator random;

    /**
     * @param config    the sampling settings
     * @param vocabSize the number of logits every {@link #sample} call gets
     */
    public Sampler(SamplerConfig config, int vocabSize) {
        if (config == null) throw new IllegalArgumentException("sampler config is null");
        if (vocabSize < 1) throw new IllegalArgumentException("vocabulary size must be >= 1, not " + vocabSize);
        this.config = config;
        this.vocabSize = vocabSize;
        this.work = new float[vocabSize];
        this.candidates = new int[vocabSize];
        this.kept = new int[vocabSize];
        this.weights = new double[vocabSize];
        boolean penalties = config.hasPenalties();
        this.recent = penalties ? new int[config.repeatLastN()] : null;
        this.counts = penalties ? new int[vocabSize] : null;
        this.random = newRandom(config.seed());
    }

    public SamplerConfig config() { return config; }

    public int vocabSize() { return vocabSize; }

    /**
     * Chooses a token. Does not change {@code logits} and does not record the choice: call
     * {@link #accept} with the token that is actually fed back to the model.
     *
     * @param logits one logit per token id (at least {@link #vocabSize()}; any beyond are ignored);
     *               {@code -Infinity} marks a token that must not be chosen
     * @return the chosen token id
     * @throws IllegalArgumentException if there are fewer logits than tokens, or a logit is NaN or
     *                                  {@code +Infinity}
     * @throws IllegalStateException    if every logit is {@code -Infinity}
     */
    public int sample(float[] logits) {
        if (logits == null || logits.length < vocabSize) {
            throw new IllegalArgumentException("expected " + vocabSize + " logits, got "
                    + (logits == null ? "null" : logits.length));
        }
        for (int i = 0; i < vocabSize; i++) {
            float v = logits[i];
            if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("logit of token " + i + " is " + v + " (the model produced a bad value)");
            }
            work[i] = v;
        }
        applyPenalties();

        int best = 0;
        for (int i = 1; i < vocabSize; i++) {
            if (work[i] > work[best]) best = i;
        }
        float max = work[best];
        if (max == Float.NEGATIVE_INFINITY) {
            throw new IllegalStateException("every token's logit is -Infinity: there is nothing to sample");
        }
        if (config.isGreedy()) return best;

        int n;
        if (config.topK() > 0 && config.topK() < vocabSize) {
            selectTopK(config.topK());
            n = cutSorted(config.topK(), max);
        } else if (config.topP() < 1f) {
            n = nucleus(max);
        } else {
            // No top-k and no top-p: min-p alone is a threshold, no ordering needed.
            double minLogit = minLogit(max);
            n = 0;
            for (int i = 0; i < vocabSize; i++) {
                float l = work[i];
                if (l != Float.NEGATIVE_INFINITY && l >= minLogit) kept[n++] = i;
            }
        }
        keptCount = n;
        return draw(n, max);
    }

    /**
     * Records a token fed to the model (prompt tokens too, as llama.cpp does), for the repetition
     * penalties.
     */
    public void accept(int token) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + vocabSize + ")");
        }
        if (recent == null) return;
        if (recentSize == recent.length) {
            counts[recent[recentNext]]--;
        } else {
            recentSize++;
        }
        recent[recentNext] = token;
        counts[token]++;
        recentNext = (recentNext + 1) % recent.length;
    }

    /** Forgets the accepted tokens and restarts the random sequence from the seed. */
    public void reset() {
        if (recent != null) {
            for (int i = 0; i < recentSize; i++) counts[recent[i]] = 0;
        }
        recentSize = 0;
        recentNext = 0;
        random = newRandom(config.seed());
    }

    /** The tokens the filters kept at the last non-greedy {@link #sample}, sorted by id (for tests). */
    int[] lastKept() {
        int[] ids = Arrays.copyOf(kept, keptCount);
        Arrays.sort(ids);
        return ids;
    }

    private static RandomGenerator newRandom(long seed) {
        return RandomGeneratorFactory.of(RANDOM_ALGORITHM).create(seed);
    }

    /** llama.cpp's penalties, once per distinct token in the window. */
    private void applyPenalties() {
        if (recent == null) return;
        float repeat = config.repeatPenalty();
        float frequency = config.frequencyPenalty();
        float presence = config.presencePenalty();
        for (int i = 0; i < recentSize; i++) {
            int t = recent[i];
            int c = counts[t];
            if (c <= 0) continue; // already done (marked negative below)
            float l = work[t];
            l = l <= 0 ? l * repeat : l / repeat;
            work[t] = l - (c * frequency + presence);
            counts[t] = -c;
        }
        for (int i = 0; i < recentSize; i++) {
            int t = recent[i];
            if (counts[t] < 0) counts[t] = -counts[t];
        }
    }

    /** True when token a ranks before token b: higher logit, or the same logit and a lower id. */
    private boolean better(int a, int b) {
        float la = work[a];
        float lb = work[b];
        return la > lb || (la == lb && a < b);
    }

    /** Leaves the k best tokens in {@code kept[0..k)}, best first. */
    private void selectTopK(int k) {
        // A heap of the k best so far with the worst at the root: one comparison rejects most tokens.
        int[] h = candidates;
        for (int i = 0; i < k; i++) h[i] = i;
        for (int i = k / 2 - 1; i >= 0; i--) siftDownWorst(h, i, k);
        for (int id = k; id < vocabSize; id++) {
            if (better(id, h[0])) {
                h[0] = id;
                siftDownWorst(h, 0, k);
            }
        }
        for (int size = k; size > 0; size--) {
            kept[size - 1] = h[0];
            h[0] = h[size - 1];
            siftDownWorst(h, 0, size - 1);
        }
    }

    private void siftDownWorst(int[] h, int i, int size) {
        int x = h[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && better(h[child], h[child + 1])) child++;
            if (!better(x, h[child])) break;
            h[i] = h[child];
            i = child;
        }
        h[i] = x;
    }

    /** Applies top-p and min-p to {@code kept[0..n)} (sorted best first); returns how many stay. */
    private int cutSorted(int n, float max) {
        double total = 0;
        for (int i = 0; i < n; i++) total += Math.exp(work[kept[i]] - max);
        double minLogit = minLogit(max);
        double topP = config.topP();
        double cumulative = 0;
        int m = 0;
        while (m < n) {
            float l = work[kept[m]];
            if (l == Float.NEGATIVE_INFINITY || (m > 0 && l < minLogit)) break;
            cumulative += Math.exp(l - max) / total;
            m++;
            if (topP < 1 && cumulative >= topP) break;
        }
        return m;
    }

    /**
     * Top-p (and min-p) without top-k: pops tokens best first from a heap, only as far as needed. The
     * probabilities are over the whole vocabulary, so tokens below the min-p bound (never kept) are left
     * out of the heap.
     */
    private int nucleus(float max) {
        double total = 0;
        for (int i = 0; i < vocabSize; i++) total += Math.exp(work[i] - max);
        double minLogit = minLogit(max);
        int size = 0;
        for (int i = 0; i < vocabSize; i++) {
            float l = work[i];
            if (l != Float.NEGATIVE_INFINITY && l >= minLogit) candidates[size++] = i;
        }
        int[] h = candidates;
        for (int i = size / 2 - 1; i >= 0; i--) siftDownBest(h, i, size);
        double topP = config.topP();
        double cumulative = 0;
        int m = 0;
        while (size > 0) {
            int top = h[0];
            kept[m++] = top;
            cumulative += Math.exp(work[top] - max) / total;
            if (topP < 1 && cumulative >= topP) break;
            h[0] = h[--size];
            siftDownBest(h, 0, size);
        }
        return m;
    }

    private void siftDownBest(int[] h, int i, int size) {
        int x = h[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && better(h[child + 1], h[child])) child++;
            if (!better(h[child], x)) break;
            h[i] = h[child];
            i = child;
        }
        h[i] = x;
    }

    private double minLogit(float max) {
        return config.minP() > 0f ? max + Math.log(config.minP()) : Double.NEGATIVE_INFINITY;
    }

    /** Draws one of {@code kept[0..n)} with probability proportional to exp((logit - max) / temperature). */
    private int draw(int n, float max) {
        double inverseTemperature = 1.0 / config.temperature();
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double w = Math.exp((work[kept[i]] - max) * inverseTemperature);
            weights[i] = w;
            sum += w;
        }
        double u = random.nextDouble() * sum;
        double cumulative = 0;
        for (int i = 0; i < n; i++) {
            cumulative += weights[i];
            if (u < cumulative) return kept[i];
        }
        // Rounding left u at the very top: the last token with any weight.
        for (int i = n - 1; i > 0; i--) {
            if (weights[i] > 0) return kept[i];
        }
        return kept[0];
    }
}
