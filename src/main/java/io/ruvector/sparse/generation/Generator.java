package io.ruvector.sparse.generation;

import io.ruvector.sparse.model.Session;
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
        int contextLength = model.contextLength();
        Decoding.checkPrompt(prompt, vocab, contextLength - model.position(), contextLength);
        Decoding decoding = new Decoding(prompt, options, listener, cancellation, tokenText, vocab, contextLength);

        float[] logits = null;
        for (int from = 0; from < prompt.length; from += PROMPT_CHUNK) {
            if (cancellation.isCancelled()) return decoding.cancelledDuringPrompt(from);
            int to = Math.min(prompt.length, from + PROMPT_CHUNK);
            logits = model.evaluate(from == 0 && to == prompt.length ? prompt : Arrays.copyOfRange(prompt, from, to));
        }
        decoding.promptDone();
        while (decoding.step(logits, model.position())) {
            single[0] = decoding.lastToken();
            logits = model.evaluate(single);
        }
        return decoding.result();
    }
}
