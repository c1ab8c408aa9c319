package io.ruvector.sparse.generation;

import io.ruvector.sparse.model.FeedForward;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Session;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Serves many generations of one model at once: up to {@code slots} requests decode together, one token of every
 * active request per step, while further requests wait in a queue of {@code queueCapacity} and join between steps.
 * A request that ends (stop string, token limit, end of generation, full context, cancellation) leaves its slot at
 * that step, and the slot takes the next waiting request.
 *
 * <pre>{@code
 * try (ContinuousBatcher batcher = new ContinuousBatcher(model, 8, 32)) {
 *     CompletableFuture<GenerationResult> f = batcher.submit("Once upon a time",
 *             GenerationOptions.of(SamplerConfig.defaults(42), 100),
 *             (token, text) -> System.out.print(text), new Cancellation());
 *     System.out.println(f.join().text());
 * }
 * }</pre>
 *
 * <p>Each step evaluates the next token of every decoding request in one pass over the weights
 * ({@link LanguageModel#evaluateTogether}), so N requests cost about one pass over memory per token, not N; prompts
 * are evaluated per request, a chunk of up to 512 tokens per step, between decoding steps.
 *
 * <p>Each request's result is the one {@link Generator} gives for the same prompt, options and seed on a fresh
 * session of the model: same tokens, text and stop reason (the timings differ). Each slot owns one session of the
 * model, made on first use and reused (rewound) for later requests; all slots compute with the model's one pool
 * of threads, and one scheduler thread drives them.
 *
 * <p>Listeners run on the scheduler thread, between steps: a slow listener delays every request, so hand the text
 * on (e.g. to a queue) rather than block in it. The returned futures are completed on that thread too. Cancelling a
 * request ({@link Cancellation#cancel()}) or its future frees its slot at the next step boundary.
 */
public final class ContinuousBatcher implements AutoCloseable {

    /**
     * A snapshot of the batcher's load and totals.
     *
     * @param activeSlots        requests in a slot (evaluating their prompt or decoding)
     * @param queuedRequests     requests waiting for a slot
     * @param requestsCompleted  requests finished with a result (any stop reason, cancellations included) or failed
     * @param promptTokens       prompt tokens evaluated in total
     * @param generatedTokens    tokens generated in total
     */
    public record Stats(int activeSlots, int queuedRequests, long requestsCompleted, long promptTokens,
                        long generatedTokens) {}

    private final LanguageModel model;
    private final List<? extends FeedForward> feedForward;
    private final TokenText tokenText;
    private final int slots;
    private final int queueCapacity;
    private final int vocab;
    private final int contextLength;
    private final Thread scheduler;

    // Guarded by lock: the queue, the counters, the closed flag.
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Request> queue = new ArrayDeque<>();
    private int active;
    private long completed;
    private long promptTokens;
    private long generatedTokens;
    private boolean closed;

    // The scheduler thread's own state.
    private final Session[] sessions;
    private final float[][] logits;
    private final Slot[] running;
    private final Stepper stepper;

    /**
     * A batcher over dense sessions of {@code model}.
     *
     * @param slots         requests decoded together (>= 1), each with a session (and its KV cache) of the model
     * @param queueCapacity requests that may wait for a slot (>= 0); more are rejected
     */
    public ContinuousBatcher(LanguageModel model, int slots, int queueCapacity) {
        this(model, Objects.requireNonNull(model, "model").denseFeedForward(), slots, queueCapacity);
    }

    /**
     * A batcher whose sessions compute layer {@code l}'s feed-forward block with {@code feedForward.get(l)}
     * (e.g. a sparse model's strategies).
     */
    public ContinuousBatcher(LanguageModel model, List<? extends FeedForward> feedForward, int slots, int queueCapacity) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(feedForward, "feedForward");
        if (slots < 1) throw new IllegalArgumentException("slots must be >= 1, not " + slots);
        if (queueCapacity < 0) throw new IllegalArgumentException("queue capacity must be >= 0, not " + queueCapacity);
        if (feedForward.size() != model.config().layers()) {
            throw new IllegalArgumentException(feedForward.size() + " feed-forward strategies for " + model.config().layers() + " layers");
        }
        this.model = model;
        this.feedForward = List.copyOf(feedForward);
        this.tokenText = new TokenizerText(model.tokenizer());
        this.slots = slots;
        this.queueCapacity = queueCapacity;
        this.vocab = model.config().vocabSize();
        this.contextLength = model.sessionContextLength();
        this.sessions = new Session[slots];
        this.logits = new float[slots][];
        this.running = new Slot[slots];
        this.stepper = new Stepper(slots);
        this.scheduler = new Thread(this::schedule, "continuous-batcher");
        scheduler.setDaemon(true);
        scheduler.start();
    }

    /** Requests decoded together at most. */
    public int slots() { return slots; }

    /** Requests that may wait for a slot at most. */
    public int queueCapacity() { return queueCapacity; }

    /** The model the requests run on. */
    public LanguageModel model() { return model; }

    /**
     * Queues a generation from a text prompt, tokenized as {@link Generator#generate(String, GenerationOptions,
     * TokenListener, Cancellation)} tokenizes it for an empty session (with the model's BOS, special-token text
     * parsed).
     *
     * @throws IllegalArgumentException as {@link #submit(int[], GenerationOptions, TokenListener, Cancellation)}
     * @throws IllegalStateException    after {@link #close()}
     */
    public CompletableFuture<GenerationResult> submit(String prompt, GenerationOptions options, TokenListener listener,
                                                      Cancellation cancellation) {
        Objects.requireNonNull(prompt, "prompt");
        ensureOpen();
        return submit(tokenText.encode(prompt, true, true), options, listener, cancellation);
    }

    /**
     * Queues a generation of {@code promptTokens} evaluated on an empty session.
     *
     * @param listener     receives each token as it is chosen, on the scheduler thread (see {@link TokenListener});
     *                     an exception it throws fails this request's future and frees its slot
     * @param cancellation ends the request at the next step (with {@link StopReason#CANCELLED}); cancelling the
     *                     returned future also frees the slot
     * @return the result once the generation ends; fails with {@link RejectedExecutionException} when the queue is
     *         full, or with the exception of a failed evaluation
     * @throws IllegalArgumentException when the prompt is empty, has a token outside the vocabulary, or does not
     *                                  fit in a session's context
     * @throws IllegalStateException    after {@link #close()}
     */
    public CompletableFuture<GenerationResult> submit(int[] promptTokens, GenerationOptions options, TokenListener listener,
                                                      Cancellation cancellation) {
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(cancellation, "cancellation");
        int[] prompt = promptTokens.clone();
        Decoding.checkPrompt(prompt, vocab, contextLength, contextLength);
        CompletableFuture<GenerationResult> future = new CompletableFuture<>();
        lock.lock();
        try {
            ensureOpen();
            if (queue.size() >= queueCapacity + (slots - active)) {
                future.completeExceptionally(new RejectedExecutionException("the queue is full: " + active + " of " + slots
                        + " slots busy and " + queue.size() + " of " + queueCapacity + " queue places taken"));
                return future;
            }
            queue.add(new Request(prompt, options, listener, cancellation, future));
            work.signal();
        } finally {
            lock.unlock();
        }
        return future;
    }

    /** The current load and the totals so far. */
    public Stats stats() {
        lock.lock();
        try {
            return new Stats(active, queue.size(), completed, promptTokens, generatedTokens);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Cancels every queued and running request (their futures complete with {@link StopReason#CANCELLED} results),
     * waits for the scheduler thread to end and closes the sessions. Idempotent; {@code submit} afterwards throws.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            work.signal();
        } finally {
            lock.unlock();
        }
        if (Thread.currentThread() == scheduler) return;   // from a listener: the scheduler ends after this step
        boolean interrupted = false;
        while (true) {
            try {
                scheduler.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private void ensureOpen() {
        lock.lock();
        try {
            if (closed) throw new IllegalStateException("the continuous batcher is closed");
        } finally {
            lock.unlock();
        }
    }

    private record Request(int[] prompt, GenerationOptions options, TokenListener listener, Cancellation cancellation,
                           CompletableFuture<GenerationResult> future) {}

    /** A request in a slot: its generation state and how much of its prompt is evaluated. */
    private static final class Slot {
        final int index;
        final Request request;
        final Decoding decoding;
        int evaluated;        // prompt tokens evaluated so far
        boolean decoding() { return evaluated == request.prompt.length; }

        Slot(int index, Request request, Decoding decoding) {
            this.index = index;
            this.request = request;
            this.decoding = decoding;
        }
    }

    private void schedule() {
        try {
            while (true) {
                boolean closing;
                lock.lock();
                try {
                    while (!closed && queue.isEmpty() && active == 0) work.awaitUninterruptibly();
                    closing = closed;
                    if (!closing) admitWaiting();
                } finally {
                    lock.unlock();
                }
                if (closing) {
                    stopRunning();
                    return;
                }
                step();
            }
        } catch (Throwable t) {
            failRunning(t);
            throw t;
        } finally {
            drainQueue();
            for (Session s : sessions) {
                if (s != null) {
                    try {
                        s.close();
                    } catch (RuntimeException ignored) {
                        // the model may be closed already; its sessions are then closed too
                    }
                }
            }
        }
    }

    /** Moves waiting requests into free slots (lock held). */
    private void admitWaiting() {
        for (int i = 0; i < slots && !queue.isEmpty(); i++) {
            if (running[i] != null) continue;
            Request r = queue.poll();
            running[i] = new Slot(i, r, new Decoding(r.prompt, r.options, r.listener, r.cancellation, tokenText, vocab, contextLength));
            active++;
        }
    }

    /**
     * One scheduling step: each slot still evaluating its prompt evaluates its next chunk; then each decoding slot
     * samples its next token, and those that go on are evaluated together.
     */
    private void step() {
        for (int i = 0; i < slots; i++) {
            Slot s = running[i];
            if (s == null || s.decoding()) continue;
            if (s.request.future.isDone()) {
                release(s, null, null);
            } else if (s.decoding.cancelled()) {
                release(s, s.decoding.cancelledDuringPrompt(s.evaluated), null);
            } else {
                try {
                    evaluatePromptChunk(s);
                } catch (RuntimeException | Error e) {
                    release(s, null, e);
                }
            }
        }
        stepper.clear();
        for (int i = 0; i < slots; i++) {
            Slot s = running[i];
            if (s == null || !s.decoding()) continue;
            if (s.request.future.isDone()) {
                release(s, null, null);
                continue;
            }
            try {
                addGenerated(1);
                if (s.decoding.step(logits[i], sessions[i].position())) stepper.add(i, s.decoding.lastToken());
                else release(s, s.decoding.result(), null);
            } catch (RuntimeException | Error e) {
                release(s, null, e);
            }
        }
        if (stepper.count == 0) return;
        try {
            evaluateStep();
        } catch (RuntimeException | Error e) {
            for (int j = 0; j < stepper.count; j++) {
                Slot s = running[stepper.slots[j]];
                if (s != null) release(s, null, e);
            }
        }
    }

    private void evaluatePromptChunk(Slot s) {
        Session session = sessionOf(s.index);
        if (s.evaluated == 0) session.reset();
        int[] prompt = s.request.prompt;
        int to = Math.min(prompt.length, s.evaluated + Generator.PROMPT_CHUNK);
        int[] chunk = s.evaluated == 0 && to == prompt.length ? prompt : Arrays.copyOfRange(prompt, s.evaluated, to);
        session.evaluate(chunk);
        addPrompt(chunk.length);
        s.evaluated = to;
        if (s.decoding()) {
            session.logits().copyTo(logits[s.index]);
            s.decoding.promptDone();
        }
    }

    /**
     * Feeds each stepping slot's token to its session, all in one pass over the weights
     * ({@link LanguageModel#evaluateTogether}), and keeps the logits that follow.
     */
    private void evaluateStep() {
        int n = stepper.count;
        List<Session> batch = stepper.sessions;
        batch.clear();
        int[] tokens = stepper.tokensOf(n);
        for (int j = 0; j < n; j++) {
            batch.add(sessions[stepper.slots[j]]);
            tokens[j] = stepper.tokens[j];
        }
        model.evaluateTogether(batch, tokens);
        for (int j = 0; j < n; j++) {
            int i = stepper.slots[j];
            sessions[i].logits().copyTo(logits[i]);
        }
    }

    private Session sessionOf(int i) {
        if (sessions[i] == null) {
            sessions[i] = model.newSession(feedForward);
            logits[i] = new float[vocab];
        }
        return sessions[i];
    }

    /** Frees the slot of {@code s} and completes its future with {@code result} or {@code failure} (both null: already done). */
    private void release(Slot s, GenerationResult result, Throwable failure) {
        lock.lock();
        try {
            running[s.index] = null;
            active--;
            completed++;
        } finally {
            lock.unlock();
        }
        if (failure != null) s.request.future.completeExceptionally(failure);
        else if (result != null) s.request.future.complete(result);
    }

    /** On close: prompts end as cancelled where they are; decoding slots take one last (cancelled) step. */
    private void stopRunning() {
        for (int i = 0; i < slots; i++) {
            Slot s = running[i];
            if (s == null) continue;
            s.decoding.requestStop();
            if (s.request.future.isDone()) {
                release(s, null, null);
            } else if (!s.decoding()) {
                release(s, s.decoding.cancelledDuringPrompt(s.evaluated), null);
            } else {
                try {
                    addGenerated(1);
                    boolean more = s.decoding.step(logits[i], sessions[i].position());
                    assert !more;
                    release(s, s.decoding.result(), null);
                } catch (RuntimeException | Error e) {
                    release(s, null, e);
                }
            }
        }
    }

    private void failRunning(Throwable t) {
        for (Slot s : running) {
            if (s != null) release(s, null, t);
        }
    }

    /** Completes every queued request as cancelled before it started, and refuses new ones. */
    private void drainQueue() {
        List<Request> left;
        lock.lock();
        try {
            closed = true;
            left = new ArrayList<>(queue);
            queue.clear();
            completed += left.size();
        } finally {
            lock.unlock();
        }
        for (Request r : left) r.future.complete(new GenerationResult(new int[0], "", StopReason.CANCELLED, 0, 0, 0));
    }

    private void addPrompt(int n) {
        lock.lock();
        try {
            promptTokens += n;
        } finally {
            lock.unlock();
        }
    }

    private void addGenerated(int n) {
        lock.lock();
        try {
            generatedTokens += n;
        } finally {
            lock.unlock();
        }
    }

    /** The slots that feed a token this step, and their tokens: arrays reused every step. */
    private static final class Stepper {
        final int[] slots;
        final int[] tokens;
        final List<Session> sessions;
        final int[][] tokensBySize;   // evaluateTogether takes exactly one token per session
        int count;

        Stepper(int capacity) {
            slots = new int[capacity];
            tokens = new int[capacity];
            sessions = new ArrayList<>(capacity);
            tokensBySize = new int[capacity + 1][];
            for (int n = 1; n <= capacity; n++) tokensBySize[n] = new int[n];
        }

        int[] tokensOf(int n) { return tokensBySize[n]; }

        void clear() { count = 0; }

        void add(int slot, int token) {
            slots[count] = slot;
            tokens[count] = token;
            count++;
        }
    }
}
