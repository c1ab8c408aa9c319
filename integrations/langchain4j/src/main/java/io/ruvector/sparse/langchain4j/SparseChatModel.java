package io.ruvector.sparse.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.TokenUsage;
import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.GenerationResult;
import io.ruvector.sparse.generation.TokenListener;

import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletableFuture;

/**
 * A LangChain4j {@link ChatModel} running the model in this process (no HTTP). It implements {@link #doChat}, so
 * LangChain4j's {@code chat(...)} merges the default parameters and runs the listeners around it. Calls from many
 * threads decode together on the engine's batcher.
 */
public final class SparseChatModel implements ChatModel {

    private final SparseEngine engine;
    private final ChatRequestParameters defaults;
    private final List<ChatModelListener> listeners;
    private final Long seed;

    private SparseChatModel(Builder b) {
        this.engine = java.util.Objects.requireNonNull(b.engine, "engine");
        this.defaults = Parameters.defaults(engine, b.defaultRequestParameters);
        this.listeners = List.copyOf(b.listeners);
        this.seed = b.seed;
    }

    public static Builder builder() { return new Builder(); }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        SparseEngine.Prepared prepared = engine.prepare(request, seed);
        CompletableFuture<GenerationResult> future = engine.submit(prepared, TokenListener.NONE, new Cancellation());
        GenerationResult r;
        try {
            r = future.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : e;
        }
        return response(engine, r);
    }

    static ChatResponse response(SparseEngine engine, GenerationResult r) {
        return ChatResponse.builder().aiMessage(AiMessage.from(r.text())).modelName(engine.modelName())
                .tokenUsage(new TokenUsage(r.promptTokens(), r.generatedTokens()))
                .finishReason(SparseEngine.finishReason(r)).build();
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

        public SparseChatModel build() { return new SparseChatModel(this); }
    }
}
