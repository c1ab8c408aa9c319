package io.ruvector.sparse.generation;

import java.util.Arrays;

/**
 * What a generation produced, and how fast.
 *
 * @param tokens          the generated tokens, in order, including the one that ended the generation
 *                        (an end-of-generation token is included, though it adds no text)
 * @param text            the generated text: whole characters, without a matched stop string
 * @param stopReason      why it ended
 * @param promptTokens    prompt tokens evaluated
 * @param promptNanos     time spent evaluating the prompt
 * @param generationNanos time from the end of the prompt to the end of the generation (forward passes,
 *                        sampling and the listener's time)
 */
public record GenerationResult(int[] tokens, String text, StopReason stopReason,
                               int promptTokens, long promptNanos, long generationNanos) {

    public GenerationResult {
        tokens = tokens.clone();
        if (text == null || stopReason == null) throw new IllegalArgumentException("null text or stop reason");
    }

    /** A copy of the generated tokens. */
    @Override
    public int[] tokens() { return tokens.clone(); }

    /** Number of generated tokens. */
    public int generatedTokens() { return tokens.length; }

    /** Prompt tokens per second (0 when nothing was timed). */
    public double promptTokensPerSecond() { return rate(promptTokens, promptNanos); }

    /** Generated tokens per second (0 when nothing was timed). */
    public double generationTokensPerSecond() { return rate(tokens.length, generationNanos); }

    private static double rate(int count, long nanos) {
        return nanos > 0 ? count * 1e9 / nanos : 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationResult r && Arrays.equals(tokens, r.tokens) && text.equals(r.text)
                && stopReason == r.stopReason && promptTokens == r.promptTokens
                && promptNanos == r.promptNanos && generationNanos == r.generationNanos;
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(tokens) + text.hashCode();
    }

    @Override
    public String toString() {
        return "GenerationResult[tokens=" + Arrays.toString(tokens) + ", text=" + text + ", stopReason=" + stopReason
                + ", promptTokens=" + promptTokens + ", promptNanos=" + promptNanos
                + ", generationNanos=" + generationNanos + "]";
    }
}
