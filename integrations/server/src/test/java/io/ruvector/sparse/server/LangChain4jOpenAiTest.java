package io.ruvector.sparse.server;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LangChain4j's OpenAI module as the client: its ChatModel and StreamingChatModel against the server. */
@Timeout(300)
class LangChain4jOpenAiTest {

    static final String KEY = "lc4j-key";
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(2, 8, KEY);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    private static ChatRequest request() {
        return ChatRequest.builder().messages(UserMessage.from("Tell me a story about a dog.")).build();
    }

    @Test
    void chatModelAndStreamingChatModelAgree() throws Exception {
        OpenAiChatModel model = OpenAiChatModel.builder().baseUrl(server.baseUrlV1()).apiKey(KEY).modelName("stories260K")
                .temperature(0.0).maxTokens(20).timeout(Duration.ofSeconds(120)).maxRetries(0).build();
        ChatResponse whole = model.chat(request());
        String text = whole.aiMessage().text();
        assertFalse(text.isEmpty());
        TokenUsage usage = whole.tokenUsage();
        assertTrue(usage.inputTokenCount() > 0);
        assertEquals(usage.inputTokenCount() + usage.outputTokenCount(), usage.totalTokenCount());
        if (whole.finishReason() == FinishReason.LENGTH) assertEquals(20, usage.outputTokenCount());
        else assertEquals(FinishReason.STOP, whole.finishReason());
        assertEquals("stories260K", whole.modelName());

        OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(server.baseUrlV1()).apiKey(KEY)
                .modelName("stories260K").temperature(0.0).maxTokens(20).timeout(Duration.ofSeconds(120)).build();
        StringBuilder partial = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(request(), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String piece) { partial.append(piece); }

            @Override
            public void onCompleteResponse(ChatResponse response) { done.complete(response); }

            @Override
            public void onError(Throwable error) { done.completeExceptionally(error); }
        });
        ChatResponse streamed = done.get(120, TimeUnit.SECONDS);
        assertEquals(text, partial.toString(), "greedy: the streamed pieces make the same text");
        assertEquals(text, streamed.aiMessage().text());
        assertEquals(whole.finishReason(), streamed.finishReason());
        assertEquals(usage.outputTokenCount(), streamed.tokenUsage().outputTokenCount());
        assertEquals(usage.inputTokenCount(), streamed.tokenUsage().inputTokenCount());
    }
}
