package io.ruvector.sparse.sampling;

/**
 * How the next token is chosen from the logits. Each filter has a neutral value that switches it off.
 *
 * <p>The filters run in llama.cpp's default order: repetition penalties, top-k, top-p, min-p, then
 * temperature and a random draw. As in llama.cpp, top-p and min-p see the penalised logits before the
 * temperature is applied, so the temperature changes how the kept tokens are weighed but not which are
 * kept.
 *
 * @param temperature      divides the logits before the draw; {@code 0} means greedy (the most likely
 *                         token, ties broken by the lowest id, no random draw)
 * @param topK             keep only the k most likely tokens; {@code 0} = off
 * @param topP             keep the smallest set of most likely tokens whose probabilities add up to at
 *                         least p (nucleus sampling); {@code 1} = off
 * @param minP             drop tokens whose probability is below {@code minP} times the top token's;
 *                         {@code 0} = off
 * @param repeatPenalty    for each token seen in the last {@code repeatLastN}: a positive logit is divided
 *                         by it, a negative one multiplied (llama.cpp's rule); {@code 1} = off
 * @param repeatLastN      how many of the most recent tokens the penalties look at; {@code 0} = off
 * @param frequencyPenalty subtracted from a token's logit once per occurrence in the window; {@code 0} = off
 * @param presencePenalty  subtracted from a token's logit once if it occurs in the window; {@code 0} = off
 * @param seed             seed of the random draw: the same seed, logits and history give the same tokens
 */
public record SamplerConfig(float temperature, int topK, float topP, float minP,
                            float repeatPenalty, int repeatLastN,
                            float frequencyPenalty, float presencePenalty,
                            long seed) {

    /** llama.cpp's default temperature. */
    public static final float DEFAULT_TEMPERATURE = 0.8f;
    /** llama.cpp's default top-k. */
    public static final int DEFAULT_TOP_K = 40;
    /** llama.cpp's default top-p. */
    public static final float DEFAULT_TOP_P = 0.95f;
    /** llama.cpp's default min-p. */
    public static final float DEFAULT_MIN_P = 0.05f;
    /** llama.cpp's default repetition window (the penalty itself defaults to off). */
    public static final int DEFAULT_REPEAT_LAST_N = 64;

    public SamplerConfig {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, not " + temperature);
        }
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0 (0 = off), not " + topK);
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1] (1 = off), not " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min-p must be in [0, 1] (0 = off), not " + minP);
        }
        if (!(repeatPenalty > 0) || Float.isInfinite(repeatPenalty)) {
            throw new IllegalArgumentException("repeat penalty must be a finite number > 0 (1 = off), not " + repeatPenalty);
        }
        if (repeatLastN < 0) throw new IllegalArgumentException("repeat-last-n must be >= 0, not " + repeatLastN);
        if (!Float.isFinite(frequencyPenalty)) {
            throw new IllegalArgumentException("frequency penalty must be finite, not " + frequencyPenalty);
        }
        if (!Float.isFinite(presencePenalty)) {
            throw new IllegalArgumentException("presence penalty must be finite, not " + presencePenalty);
        }
    }

    /** llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalties) with this seed. */
    public static SamplerConfig defaults(long seed) {
        return new SamplerConfig(DEFAULT_TEMPERATURE, DEFAULT_TOP_K, DEFAULT_TOP_P, DEFAULT_MIN_P,
                1f, DEFAULT_REPEAT_LAST_N, 0f, 0f, seed);
    }

    /** Greedy decoding: always the most likely token (lowest id on ties), no penalties. */
    public static SamplerConfig greedy() {
        return new SamplerConfig(0f, 0, 1f, 0f, 1f, DEFAULT_REPEAT_LAST_N, 0f, 0f, 0L);
    }

    /** True when the temperature is 0: no random draw takes place. */
    public boolean isGreedy() { return temperature == 0f; }

    /** True when any repetition, frequency or presence penalty is active. */
    public boolean hasPenalties() {
        return repeatLastN > 0 && (repeatPenalty != 1f || frequencyPenalty != 0f || presencePenalty != 0f);
    }

    public SamplerConfig withTemperature(float t) {
        return new SamplerConfig(t, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplerConfig withTopK(int k) {
        return new SamplerConfig(temperature, k, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplerConfig withTopP(float p) {
        return new SamplerConfig(temperature, topK, p, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplerConfig withMinP(float p) {
        return new SamplerConfig(temperature, topK, topP, p, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplerConfig withRepeatPenalty(float penalty, int lastN) {
        return new SamplerConfig(temperature, topK, topP, minP, penalty, lastN, frequencyPenalty, presencePenalty, seed);
    }

    public SamplerConfig withFrequencyAndPresencePenalty(float frequency, float presence) {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequency, presence, seed);
    }

    public SamplerConfig withSeed(long s) {
        return new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, s);
    }
}
