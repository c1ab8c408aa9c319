package io.ruvector.sparse.generation;

import io.ruvector.sparse.sampling.SamplerConfig;

import java.util.List;

/**
 * What one generation does.
 *
 * @param sampling    how each token is chosen
 * @param maxTokens   the most tokens to generate (>= 1); {@link #UNLIMITED} runs until the end of
 *                    generation or a full context
 * @param stopStrings generation stops as soon as the text contains one of these (not included in the
 *                    result text); may be empty
 */
public record GenerationOptions(SamplerConfig sampling, int maxTokens, List<String> stopStrings) {

    /** No limit on the number of tokens. */
    public static final int UNLIMITED = Integer.MAX_VALUE;

    public GenerationOptions {
        if (sampling == null) throw new IllegalArgumentException("sampling config is null");
        if (maxTokens < 1) throw new IllegalArgumentException("max tokens must be >= 1, not " + maxTokens);
        if (stopStrings == null) throw new IllegalArgumentException("stop strings list is null (use an empty list)");
        for (String s : stopStrings) {
            if (s == null || s.isEmpty()) throw new IllegalArgumentException("a stop string is null or empty");
        }
        stopStrings = List.copyOf(stopStrings);
    }

    /** Generation with these sampling settings and limit, and no stop strings. */
    public static GenerationOptions of(SamplerConfig sampling, int maxTokens) {
        return new GenerationOptions(sampling, maxTokens, List.of());
    }

    public GenerationOptions withStopStrings(String... stops) {
        return new GenerationOptions(sampling, maxTokens, List.of(stops));
    }

    public GenerationOptions withMaxTokens(int n) {
        return new GenerationOptions(sampling, n, stopStrings);
    }

    public GenerationOptions withSampling(SamplerConfig s) {
        return new GenerationOptions(s, maxTokens, stopStrings);
    }
}
