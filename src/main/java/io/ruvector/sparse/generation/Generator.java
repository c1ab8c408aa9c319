package io.ruvector.sparse.generation;

import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.sampling.Sampler;
import io.ruvector.sparse.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.Objects;

/**
 * Generates text with one model session: evaluates a prompt, then samples, streams and feeds back one
 * token at a time until an end-of-generation token, a stop string, the token limit, a full context or a
 * cancellation.
 *
 * <pre>{@code
 * Generator generator = Generator.of(session);
 * GenerationResult r = generator.generate("Once upon a time",
 *         GenerationOptions.of(SamplerConfig.defaults(42), 100),
 *         (token, text) -> System.out.print(text), new Cancellation());
 * System.err.printf("%.1f tokens/s%n", r.generationTokensPerSecond());
 * }</pre>
 *
 * <p>Generation continues the session: the prompt is appended after the tokens it already holds, and the
 * session keeps the prompt and every generated token except the last one, which was never fed back.
 * A generator, like its session, serves one generation at a time; use one session per thread.
 */
public final class Generator {

    /** Prompts are evaluated in chunks of this many tokens, checking for cancellation in between. */
    static final int PROMPT_CHUNK = 512;

    private final LogitsSource model;
    private final TokenText tokenText;
    /** Holds the one token fed back each step, so decoding allocates no array per token. */
    private final int[] single = new int[1];

    /**
     * @param model     the session to evaluate tokens with
     * @param tokenText the tokenizer of the same model
     */
    public Generator(LogitsSource model, TokenText tokenText) {
        this.model = Objects.requireNonNull(model, "model session");
        this.tokenText = Objects.requireNonNull(tokenText, "tokenizer");
    }

    /** A generator for an engine session, with its model's tokenizer. */
    public static Generator of(Session session) {
        Objects.requireNonNull(session, "session");
        return of(session, session.model().tokenizer());
    }

    /** A generator for an engine session and a tokenizer (normally its model's). */
    public static Generator of(Session session, Tokenizer tokenizer) {
        Objects.requireNonNull(session, "session");
        Objects.requireNonNull(tokenizer, "tokenizer");
        return new Generator(new SessionLogits(session), new TokenizerText(tokenizer));
    }

    /** The session this generator drives. */
    public LogitsSource session() { return model; }

    /** The tokenizer this generator uses. */
    public TokenText tokenText() { return tokenText; }

    /** Generates from a text prompt and returns the result, without streaming. */
    public GenerationResult generate(String prompt, GenerationOptions options) {
        return generate(prompt, options, TokenListener.NONE, new Cancellation());
    }

    /**
     * Generates from a text prompt. The prompt is tokenized with the model's start token (BOS) when the
     * session is empty, and special-token text in it (such as {@code <|im_start|>}) becomes the special
     * token, as in llama.cpp; tokenize untrusted text yourself if that is not wanted.
     */
    public GenerationResult generate(String prompt, GenerationOptions options, TokenListener listener,
                                     Cancellation cancellation) {
        Objects.requireNonNull(prompt, "prompt");
        int[] tokens = tokenText.encode(prompt, model.position() == 0, true);
        return generate(tokens, options, listener, cancellation);
    }

    /**
     * Evaluates {@code prompt} after the tokens the session holds, then generates.
     *
     * @param prompt       at least one token
     * @param listener     receives each token as it is chosen (see {@link TokenListener})
     * @param cancellation lets another thread stop the generation
     * @throws IllegalArgumentException if the prompt is empty, has a token outside the vocabulary, or
     *                                  does not fit in the context
     */
    public GenerationResult generate(int[] prompt, GenerationOptions options, TokenListener listener,
                                     Cancellation cancellation) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(cancellation, "cancellation");
        int vocab = model.vocabSize();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens: at least one is needed (for example BOS)");
        }
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw new IllegalArgumentException("prompt token " + prompt[i] + " at index " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        int contextLength = model.contextLength();
        int free = contextLength - model.position();
        if (prompt.length > free) {
            throw new IllegalArgumentException("the prompt (" + prompt.length + " tokens) does not fit in the context: "
                    + free + " of " + contextLength + " positions are free");
        }

        Sampler sampler = new Sampler(options.sampling(), vocab);
        for (int t : prompt) sampler.accept(t);

        long promptStart = System.nanoTime();
        float[] logits = null;
        for (int from = 0; from < prompt.length; from += PROMPT_CHUNK) {
            if (cancellation.isCancelled()) {
                return new GenerationResult(new int[0], "", StopReason.CANCELLED, from,
                        System.nanoTime() - promptStart, 0);
            }
            int to = Math.min(prompt.length, from + PROMPT_CHUNK);
            logits = model.evaluate(from == 0 && to == prompt.length ? prompt : Arrays.copyOfRange(prompt, from, to));
        }
        long promptNanos = System.nanoTime() - promptStart;

        long generationStart = System.nanoTime();
        TokenText.Decoder decoder = tokenText.newDecoder(prompt[prompt.length - 1]);
        StopStringGate gate = new StopStringGate(options.stopStrings());
        StringBuilder text = new StringBuilder();
        int[] generated = new int[Math.min(options.maxTokens(), 256)];
        int count = 0;
        StopReason stop = null;
        while (stop == null) {
            int token = sampler.sample(logits);
            sampler.accept(token);
            if (count == generated.length) generated = Arrays.copyOf(generated, 2 * count);
            generated[count++] = token;

            boolean endOfGeneration = tokenText.isEndOfGeneration(token);
            String emit = gate.offer(endOfGeneration ? "" : decoder.next(token));
            if (gate.stopped()) stop = StopReason.STOP_STRING;
            else if (endOfGeneration) stop = StopReason.END_OF_GENERATION;
            else if (count >= options.maxTokens()) stop = StopReason.MAX_TOKENS;
            else if (cancellation.isCancelled()) stop = StopReason.CANCELLED;
            else if (model.position() >= contextLength) stop = StopReason.CONTEXT_FULL;
            if (stop != null && stop != StopReason.STOP_STRING) {
                emit += gate.offer(decoder.finish());
                emit += gate.stopped() ? "" : gate.flush();
                if (gate.stopped()) stop = StopReason.STOP_STRING;
            }
            text.append(emit);
            listener.onToken(token, emit);
            if (stop == null) {
                single[0] = token;
                logits = model.evaluate(single);
            }
        }
        return new GenerationResult(Arrays.copyOf(generated, count), text.toString(), stop, prompt.length,
                promptNanos, System.nanoTime() - generationStart);
    }
}
