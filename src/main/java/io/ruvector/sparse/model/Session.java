package io.ruvector.sparse.model;

import java.util.List;

/**
 * One conversation with a model: its own key/value cache and buffers, and a position (the number of tokens
 * it holds). It computes with the model's threads, which all its sessions share.
 *
 * <p>A session is meant for one thread at a time (its methods are synchronized, so misuse is safe but
 * serial); any number of sessions of one model may run at once on different threads. Close it to free the
 * cache; any use after {@link #close()} (or after the model is closed) throws
 * {@link IllegalStateException}.
 */
public final class Session implements AutoCloseable {

    private final LanguageModel model;
    private final Forward forward;
    private final int vocab;
    private final float[] logits;
    private final Logits logitsView;
    private final int[] single = new int[1];
    private int position;
    private boolean closed;
    final long id;   // creation order: batched steps lock their sessions in this order

    Session(LanguageModel model, List<? extends FeedForward> ffn, int capacity, long id) {
        this.model = model;
        this.id = id;
        this.vocab = model.config().vocabSize();
        this.logits = new float[vocab];
        this.logitsView = new Logits(logits);
        this.forward = new Forward(model, ffn, capacity);   // last: it holds the off-heap cache
    }

    /** The model this session runs. */
    public LanguageModel model() { return model; }

    /** Tokens held: the position the next token will take. */
    public synchronized int position() {
        ensureOpen();
        return position;
    }

    /** Positions this session can hold. */
    public int contextLength() { return forward.capacity(); }

    /**
     * Appends {@code tokens} to the context and returns the logits predicting the token after the last one.
     * Prompts are processed in batches of {@link ModelOptions#batchSize()} tokens.
     *
     * @return a view that stays valid until this session's next evaluation
     * @throws IllegalArgumentException when {@code tokens} is empty or holds an id outside the vocabulary
     * @throws IllegalStateException    when the tokens do not fit in the context, or the session is closed
     */
    public synchronized Logits evaluate(int... tokens) {
        ensureOpen();
        check(tokens);
        model.awaitWarmUp();
        int batch = forward.maxBatch();
        for (int from = 0; from < tokens.length; from += batch) {
            int n = Math.min(batch, tokens.length - from);
            boolean last = from + n == tokens.length;
            forward.run(tokens, from, n, position, false, last ? logits : null, 0);
            position += n;
        }
        return logitsView;
    }

    /** {@link #evaluate(int...)} of one token, without allocating: the step of a generation loop. */
    public synchronized Logits evaluate(int token) {
        single[0] = token;
        return evaluate(single);
    }

    /**
     * Appends {@code tokens} and returns the logits after each of them: {@code tokens.length * vocab}
     * floats, the row of token {@code t} (predicting token {@code t+1}) at {@code t * vocab}.
     *
     * @throws IllegalArgumentException when {@code tokens} is empty or holds an id outside the vocabulary
     * @throws IllegalStateException    when the tokens do not fit in the context, or the session is closed
     */
    public synchronized float[] evaluateAll(int... tokens) {
        ensureOpen();
        check(tokens);
        model.awaitWarmUp();
        float[] all = new float[Math.multiplyExact(tokens.length, vocab)];
        int batch = forward.maxBatch();
        for (int from = 0; from < tokens.length; from += batch) {
            int n = Math.min(batch, tokens.length - from);
            forward.run(tokens, from, n, position, true, all, from * vocab);
            position += n;
        }
        System.arraycopy(all, (tokens.length - 1) * vocab, logits, 0, vocab);
        return all;
    }

    /** The logits of the last evaluation (a view; all zero before the first). */
    public synchronized Logits logits() {
        ensureOpen();
        return logitsView;
    }

    /**
     * Forgets every token from {@code pos} on, so the next evaluation continues at {@code pos}.
     *
     * @throws IllegalArgumentException unless {@code 0 <= pos <= position()}
     */
    public synchronized void rewind(int pos) {
        ensureOpen();
        if (pos < 0 || pos > position) {
            throw new IllegalArgumentException("cannot rewind to " + pos + ": the session holds " + position + " tokens");
        }
        position = pos;
    }

    /** Forgets every token: {@code rewind(0)}. */
    public synchronized void reset() { rewind(0); }

    /**
     * Sets (or, with null, removes) the observer that sees every feed-forward input and hidden activation
     * of this session, e.g. for calibration. Observing copies each token's vectors: it slows decoding.
     */
    public synchronized void setFfnObserver(FfnObserver observer) {
        ensureOpen();
        forward.ffnContext().setObserver(observer);
    }

    /** Frees the cache and the feed-forward strategies' per-session state (e.g. a cold-row cache). Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        forward.close();
        model.sessionClosed(this);
    }

    // For LanguageModel.evaluateTogether, which holds this session's lock.

    Forward forward() { return forward; }

    /** The logits buffer the step writes into (the {@link #logits()} view's array). */
    float[] logitsArray() { return logits; }

    /** Position of the next token, without the checks of {@link #position()} (lock held). */
    int positionUnchecked() { return position; }

    /** The step appended one token. */
    void advance() { position++; }

    /** Throws unless this session is open and has room for one more token (lock held). */
    void checkStep() {
        ensureOpen();
        if (position >= forward.capacity()) {
            throw new IllegalStateException("context full: the session holds " + position + " of " + forward.capacity() + " tokens");
        }
    }

    private void check(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("no tokens to evaluate");
        for (int t : tokens) {
            if (t < 0 || t >= vocab) throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + vocab + ")");
        }
        if (tokens.length > forward.capacity() - position) {
            throw new IllegalStateException("context full: " + position + " + " + tokens.length + " tokens exceed the context length "
                    + forward.capacity());
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("session is closed");
        model.ensureOpen();
    }
}
