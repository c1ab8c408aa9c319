package io.ruvector.sparse.generation;

import io.ruvector.sparse.sampling.Sampler;

import java.util.Arrays;

/**
 * One generation as a step machine, so a loop over one session ({@link Generator}) and a scheduler stepping many
 * sessions together ({@link ContinuousBatcher}) decide every token the same way: after the prompt, each
 * {@link #step} samples a token from the logits that follow the tokens so far, streams its text, and says whether
 * to feed it back. Stop strings, the token limit, end of generation, a full context and cancellation are checked
 * here only.
 *
 * <p>Not thread-safe: one thread drives a generation.
 */
final class Decoding {

    private final int[] prompt;
    private final GenerationOptions options;
    private final TokenListener listener;
    private final Cancellation cancellation;
    private final TokenText tokenText;
    private final int contextLength;
    private final Sampler sampler;
    private final StopStringGate gate;
    private final StringBuilder text = new StringBuilder();
    private TokenText.Decoder decoder;
    private int[] generated;
    private int count;
    private StopReason stop;
    private boolean stopRequested;   // set by the scheduler's owner on close: ends the generation as a cancellation
    private final long promptStart;
    private long promptNanos;
    private long generationStart;

    /**
     * Starts a generation whose prompt is checked by {@link #checkPrompt} and not evaluated yet; the clock of the
     * prompt starts now.
     */
    Decoding(int[] prompt, GenerationOptions options, TokenListener listener, Cancellation cancellation,
             TokenText tokenText, int vocab, int contextLength) {
        this.prompt = prompt;
        this.options = options;
        this.listener = listener;
        this.cancellation = cancellation;
        this.tokenText = tokenText;
        this.contextLength = contextLength;
        this.sampler = new Sampler(options.sampling(), vocab);
        for (int t : prompt) sampler.accept(t);
        this.gate = new StopStringGate(options.stopStrings());
        this.generated = new int[Math.min(options.maxTokens(), 256)];
        this.promptStart = System.nanoTime();
    }

    /**
     * Checks that {@code prompt} can be evaluated at a position with {@code free} of {@code contextLength}
     * positions left.
     *
     * @throws IllegalArgumentException naming the problem: no tokens, a token outside the vocabulary, too long
     */
    static void checkPrompt(int[] prompt, int vocab, int free, int contextLength) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens: at least one is needed (for example BOS)");
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw new IllegalArgumentException("prompt token " + prompt[i] + " at index " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        if (prompt.length > free) {
            throw new IllegalArgumentException("the prompt (" + prompt.length + " tokens) does not fit in the context: "
                    + free + " of " + contextLength + " positions are free");
        }
    }

    int[] prompt() { return prompt; }

    Cancellation cancellation() { return cancellation; }

    /** The prompt is evaluated: stops its clock and starts the generation's. */
    void promptDone() {
        promptNanos = System.nanoTime() - promptStart;
        generationStart = System.nanoTime();
        decoder = tokenText.newDecoder(prompt[prompt.length - 1]);
    }

    /** The result of a generation cancelled after {@code evaluated} prompt tokens, before any token was sampled. */
    GenerationResult cancelledDuringPrompt(int evaluated) {
        return new GenerationResult(new int[0], "", StopReason.CANCELLED, evaluated, System.nanoTime() - promptStart, 0);
    }

    /**
     * Samples the next token from {@code logits} (those following the session's last token), records it and hands
     * its final text to the listener.
     *
     * @param position the session's position (tokens it holds) before the token would be fed back
     * @return true when the generation goes on: feed {@link #lastToken()} to the session, then step again;
     *         false when it ended ({@link #result()})
     */
    boolean step(float[] logits, int position) {
        int token = sampler.sample(logits);
        sampler.accept(token);
        if (count == generated.length) generated = Arrays.copyOf(generated, 2 * count);
        generated[count++] = token;

        boolean endOfGeneration = tokenText.isEndOfGeneration(token);
        String emit = gate.offer(endOfGeneration ? "" : decoder.next(token));
        if (gate.stopped()) stop = StopReason.STOP_STRING;
        else if (endOfGeneration) stop = StopReason.END_OF_GENERATION;
        else if (count >= options.maxTokens()) stop = StopReason.MAX_TOKENS;
        else if (stopRequested || cancellation.isCancelled()) stop = StopReason.CANCELLED;
        else if (position >= contextLength) stop = StopReason.CONTEXT_FULL;
        if (stop != null && stop != StopReason.STOP_STRING) {
            emit += gate.offer(decoder.finish());
            emit += gate.stopped() ? "" : gate.flush();
            if (gate.stopped()) stop = StopReason.STOP_STRING;
        }
        text.append(emit);
        listener.onToken(token, emit);
        return stop == null;
    }

    /** Makes the next {@link #step} the last, ending as {@link StopReason#CANCELLED} (unless it ends anyway). */
    void requestStop() { stopRequested = true; }

    /** True once cancelled by its {@link Cancellation} or by {@link #requestStop()}. */
    boolean cancelled() { return stopRequested || cancellation.isCancelled(); }

    /** The token the last {@link #step} chose. */
    int lastToken() { return generated[count - 1]; }

    /** Tokens generated so far. */
    int generatedCount() { return count; }

    /** The result once {@link #step} returned false. */
    GenerationResult result() {
        if (stop == null) throw new IllegalStateException("the generation has not ended");
        return new GenerationResult(Arrays.copyOf(generated, count), text.toString(), stop, prompt.length,
                promptNanos, System.nanoTime() - generationStart);
    }
}
