package io.ruvector.sparse.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.GenerationResult;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A LangChain4j {@link StreamingChatModel} running the model in this process (no HTTP): each piece of text goes to
 * {@code onPartialResponse} as it is generated, then {@code onCompleteResponse} gets the whole reply with its
 * {@code TokenUsage} and {@code FinishReason}. It implements {@link #doChat}, so LangChain4j's listeners run.
 *
 * <p>The handler is called on a virtual thread of the request, in order, never on the engine's scheduler thread: a
 * slow handler delays only its own request. An exception from {@code onPartialResponse} cancels the generation and
 * goes to {@code onError}.
 */
public final class SparseStreamingChatModel implements StreamingChatModel {

    private final SparseEngine engine;
    private final ChatRequestParameters defaults;
    private final List<ChatModelListener> listeners;
    private final Long seed;

    private SparseStreamingChatModel(Builder b) {
        this.engine = Objects.requireNonNull(b.engine, "engine");
        this.defaults = Parameters.defaults(engine, b.defaultRequestParameters);
        this.listeners = List.copyOf(b.listeners);
        this.seed = b.seed;
    }

    public static Builder builder() { return new Builder(); }

    private sealed interface Event permits Text, End {}

    private record Text(String text) implements Event {}

    private record End(GenerationResult result, Throwable failure) implements Event {}

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        SparseEngine.Prepared prepared;
        try {
            prepared = engine.prepare(request, seed);
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        Cancellation cancellation = new Cancellation();
        CompletableFuture<GenerationResult> future = engine.submit(prepared, (token, text) -> {
            if (!text.isEmpty()) events.add(new Text(text));
        }, cancellation);
        future.whenComplete((r, t) -> events.add(new End(r, t)));
        Thread.ofVirtual().name("sparse-infer-stream").start(() -> deliver(events, handler, cancellation));
    }

    private void deliver(LinkedBlockingQueue<Event> events, StreamingChatResponseHandler handler, Cancellation cancellation) {
        try {
            while (true) {
                Event e = events.take();
                if (e instanceof Text t) {
                    try {
                        handler.onPartialResponse(t.text());
                    } catch (RuntimeException failure) {
                        cancellation.cancel();
                        handler.onError(failure);
                        return;
                    }
                } else if (e instanceof End end) {
                    if (end.failure() != null) {
                        Throwable cause = end.failure() instanceof CompletionException c && c.getCause() != null ? c.getCause() : end.failure();
                        handler.onError(cause);
                    } else {
                        handler.onCompleteResponse(SparseChatModel.response(engine, end.result()));
                    }
                    return;
                }
            }
        } catch (InterruptedException e) {
            cancellation.cancel();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() { return defaults; }

    @Override
    public List<ChatModelListener> listeners() { return listeners; }

    @Override
    public ModelProvider provider() { return ModelProvider.OTHER; }

    public static final class Builder {
        private SparseEngine engine;
        private ChatRequestParameters defaultRequestParameters;
        private List<ChatModelListener> listeners = List.of();
        private Long seed;

        private Builder() {}

        /** The model to chat with (required). */
        public Builder engine(SparseEngine engine) { this.engine = engine; return this; }

        /** Temperature, top-p, top-k, penalties, max output tokens, stop sequences used when a request sets none. */
        public Builder defaultRequestParameters(ChatRequestParameters parameters) { this.defaultRequestParameters = parameters; return this; }

        public Builder listeners(List<ChatModelListener> listeners) { this.listeners = List.copyOf(listeners); return this; }

        /** A fixed sampling seed, for reproducible replies (default: a random one per request). */
        public Builder seed(Long seed) { this.seed = seed; return this; }

        public SparseStreamingChatModel build() { return new SparseStreamingChatModel(this); }
    }
}
