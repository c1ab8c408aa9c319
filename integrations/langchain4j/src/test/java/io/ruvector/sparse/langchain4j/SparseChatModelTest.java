package io.ruvector.sparse.langchain4j;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.listener.ChatModelErrorContext;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.listener.ChatModelResponseContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.GenerationResult;
import io.ruvector.sparse.generation.Generator;
import io.ruvector.sparse.generation.TokenListener;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The in-process ChatModel and StreamingChatModel on stories260K: text, usage, finish reason, listeners, streaming. */
@Timeout(300)
class SparseChatModelTest {

    static SparseEngine engine;

    @BeforeAll
    static void open() throws Exception {
        engine = SparseEngine.open(Fixtures.require("models/stories260K.gguf"), ModelOptions.defaults().withContextLength(512), 2);
    }

    @AfterAll
    static void close() {
        if (engine != null) engine.close();
    }

    static final ChatRequestParameters GREEDY = DefaultChatRequestParameters.builder().temperature(0.0).maxOutputTokens(16).build();

    static ChatRequest request() {
        return ChatRequest.builder().messages(SystemMessage.from("You tell stories."), UserMessage.from("Tell me about a fish.")).build();
    }

    /** Records what the listeners are told. */
    static final class Recorder implements ChatModelListener {
        final List<Object> seen = new CopyOnWriteArrayList<>();

        @Override
        public void onRequest(ChatModelRequestContext c) { seen.add(c.chatRequest()); }

        @Override
        public void onResponse(ChatModelResponseContext c) { seen.add(c.chatResponse()); }

        @Override
        public void onError(ChatModelErrorContext c) { seen.add(c.error()); }
    }

    @Test
    void chatModelGivesTheGeneratorsReplyWithUsageAndFinishReason() {
        Recorder recorder = new Recorder();
        SparseChatModel model = SparseChatModel.builder().engine(engine).defaultRequestParameters(GREEDY)
                .listeners(List.of(recorder)).build();
        ChatResponse response = model.chat(request());

        // The same prompt through the engine's own Generator on a fresh session: greedy, so the same reply.
        SparseEngine.Prepared prepared = engine.prepare(ChatRequest.builder().messages(request().messages())
                .parameters(model.defaultRequestParameters()).build(), null);
        GenerationResult alone;
        try (Session session = engine.model().newSession()) {
            alone = Generator.of(session).generate(prepared.prompt(), prepared.options(), TokenListener.NONE, new Cancellation());
        }
        assertEquals(alone.text(), response.aiMessage().text());
        assertFalse(response.aiMessage().text().isEmpty());
        assertEquals(alone.promptTokens(), response.tokenUsage().inputTokenCount());
        assertEquals(alone.generatedTokens(), response.tokenUsage().outputTokenCount());
        assertEquals(SparseEngine.finishReason(alone), response.finishReason());
        assertEquals("stories260K", response.modelName());

        assertEquals(2, recorder.seen.size(), "onRequest, then onResponse: " + recorder.seen);
        assertInstanceOf(ChatRequest.class, recorder.seen.get(0));
        assertSame(response, recorder.seen.get(1));
    }

    @Test
    void requestParametersOverrideTheDefaults() {
        SparseChatModel model = SparseChatModel.builder().engine(engine).defaultRequestParameters(GREEDY).build();
        ChatResponse response = model.chat(ChatRequest.builder().messages(request().messages())
                .parameters(DefaultChatRequestParameters.builder().maxOutputTokens(3).build()).build());
        assertEquals(3, response.tokenUsage().outputTokenCount());
        assertEquals(FinishReason.LENGTH, response.finishReason());
    }

    @Test
    void streamingSendsPiecesThatMakeTheWholeReply() throws Exception {
        String whole = SparseChatModel.builder().engine(engine).defaultRequestParameters(GREEDY).build()
                .chat(request()).aiMessage().text();
        Recorder recorder = new Recorder();
        SparseStreamingChatModel model = SparseStreamingChatModel.builder().engine(engine).defaultRequestParameters(GREEDY)
                .listeners(List.of(recorder)).build();
        List<String> pieces = new CopyOnWriteArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        model.chat(request(), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String piece) { pieces.add(piece); }

            @Override
            public void onCompleteResponse(ChatResponse response) { done.complete(response); }

            @Override
            public void onError(Throwable error) { done.completeExceptionally(error); }
        });
        ChatResponse response = done.get(120, TimeUnit.SECONDS);
        assertTrue(pieces.size() > 1, "streamed in pieces: " + pieces);
        assertEquals(whole, String.join("", pieces));
        assertEquals(whole, response.aiMessage().text());
        assertTrue(response.tokenUsage().inputTokenCount() > 0);
        assertTrue(response.finishReason() == FinishReason.LENGTH ? response.tokenUsage().outputTokenCount() == 16
                : response.finishReason() == FinishReason.STOP && response.tokenUsage().outputTokenCount() < 16, response.toString());
        // The listener's onResponse runs after the handler's onCompleteResponse: wait for it.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (recorder.seen.size() < 2 && System.nanoTime() < deadline) Thread.sleep(10);
        assertEquals(2, recorder.seen.size(), recorder.seen.toString());
        assertEquals(response.aiMessage(), ((ChatResponse) recorder.seen.get(1)).aiMessage());
    }

    @Test
    void toolsAreRefusedByName() throws Exception {
        ChatRequest withTool = ChatRequest.builder().messages(UserMessage.from("What time is it?"))
                .toolSpecifications(ToolSpecification.builder().name("clock").description("tells the time").build()).build();
        SparseChatModel model = SparseChatModel.builder().engine(engine).build();
        UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class, () -> model.chat(withTool));
        assertTrue(e.getMessage().contains("tools"), e.getMessage());

        CompletableFuture<Throwable> error = new CompletableFuture<>();
        SparseStreamingChatModel.builder().engine(engine).build().chat(withTool, new StreamingChatResponseHandler() {
            @Override
            public void onCompleteResponse(ChatResponse response) { error.complete(null); }

            @Override
            public void onError(Throwable t) { error.complete(t); }
        });
        assertInstanceOf(UnsupportedFeatureException.class, error.get(30, TimeUnit.SECONDS));
    }
}
