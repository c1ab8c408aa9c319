package io.ruvector.sparse.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import com.openai.models.models.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The official OpenAI Java SDK as the client: chat and text completions, streaming and not, models, the API key. */
@Timeout(300)
class OpenAiSdkTest {

    static final String KEY = "sk-test-key";
    static TestServer server;
    static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(4, 16, KEY);
        client = OpenAIOkHttpClient.builder().baseUrl(server.baseUrlV1()).apiKey(KEY).maxRetries(0)
                .timeout(Duration.ofSeconds(120)).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
    }

    private static ChatCompletionCreateParams.Builder chat(long maxTokens) {
        return ChatCompletionCreateParams.builder().model("stories260K").addSystemMessage("You tell stories.")
                .addUserMessage("Tell me a story about a cat.").temperature(0.0).maxCompletionTokens(maxTokens);
    }

    @Test
    void chatCompletionStreamedEqualsWhole() {
        ChatCompletion whole = client.chat().completions().create(chat(24).build());
        assertEquals("chat.completion", whole._object_().asString().orElseThrow());
        ChatCompletion.Choice choice = whole.choices().getFirst();
        String text = choice.message().content().orElseThrow();
        assertFalse(text.isEmpty());
        CompletionUsage usage = whole.usage().orElseThrow();
        assertTrue(usage.promptTokens() > 5, "the system and user messages are in the prompt: " + usage);
        assertEquals(usage.promptTokens() + usage.completionTokens(), usage.totalTokens());
        // Greedy, 24 tokens at most: either the limit ("length", 24 tokens) or a natural end ("stop", fewer).
        if (choice.finishReason().equals(ChatCompletion.Choice.FinishReason.LENGTH)) assertEquals(24, usage.completionTokens());
        else {
            assertEquals(ChatCompletion.Choice.FinishReason.STOP, choice.finishReason());
            assertTrue(usage.completionTokens() < 24);
        }

        StringBuilder streamed = new StringBuilder();
        String finish = null;
        CompletionUsage streamedUsage = null;
        ChatCompletionCreateParams params = chat(24)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                for (ChatCompletionChunk.Choice c : chunk.choices()) {
                    c.delta().content().ifPresent(streamed::append);
                    if (c.finishReason().isPresent()) finish = c.finishReason().get().asString();
                }
                if (chunk.usage().isPresent()) streamedUsage = chunk.usage().get();
            }
        }
        assertEquals(text, streamed.toString(), "greedy: streamed text equals the whole answer");
        assertEquals(choice.finishReason().asString(), finish);
        assertEquals(usage.promptTokens(), streamedUsage.promptTokens());
        assertEquals(usage.completionTokens(), streamedUsage.completionTokens());
    }

    @Test
    void stopStringEndsTheReplyBeforeIt() {
        // The greedy reply's text up to a character in its middle becomes a stop string's end: the reply stops before it.
        String full = client.chat().completions().create(chat(40).build()).choices().getFirst().message().content().orElseThrow();
        int cut = full.indexOf(' ', full.length() / 2);
        if (cut < 0) cut = full.length() / 2;
        String stop = full.substring(cut, Math.min(full.length(), cut + 3));
        ChatCompletion stopped = client.chat().completions().create(chat(40)
                .stop(ChatCompletionCreateParams.Stop.ofStrings(List.of(stop))).build());
        ChatCompletion.Choice c = stopped.choices().getFirst();
        assertEquals(full.substring(0, full.indexOf(stop)), c.message().content().orElseThrow());
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, c.finishReason());
    }

    @Test
    void textCompletionStreamedAndNot() {
        CompletionCreateParams params = CompletionCreateParams.builder().model("stories260K").prompt("Once upon a time")
                .maxTokens(16).temperature(0.0).build();
        Completion whole = client.completions().create(params);
        CompletionChoice choice = whole.choices().getFirst();
        assertEquals(CompletionChoice.FinishReason.LENGTH, choice.finishReason());
        assertEquals(16, whole.usage().orElseThrow().completionTokens());
        assertTrue(choice.text().startsWith(","), "stories260K continues 'Once upon a time' with a comma: " + choice.text());

        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(params)) {
            stream.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertEquals(choice.text(), streamed.toString());
    }

    @Test
    void seededSamplingRepeats() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model("stories260K")
                .addUserMessage("Tell me a story.").temperature(1.0).topP(0.9).seed(1234).maxCompletionTokens(20)
                .presencePenalty(0.5).frequencyPenalty(0.5).build();
        String a = client.chat().completions().create(params).choices().getFirst().message().content().orElseThrow();
        String b = client.chat().completions().create(params).choices().getFirst().message().content().orElseThrow();
        assertEquals(a, b);
    }

    @Test
    void modelsListTheServedModel() {
        List<Model> models = client.models().list().data();
        assertEquals(1, models.size());
        assertEquals("stories260K", models.getFirst().id());
    }

    @Test
    void wrongKeyIs401AndBadFieldIs400() {
        OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl(server.baseUrlV1()).apiKey("nope").maxRetries(0).build();
        try {
            OpenAIServiceException e = assertThrows(OpenAIServiceException.class, () -> wrong.models().list());
            assertEquals(401, e.statusCode());
        } finally {
            wrong.close();
        }
        OpenAIServiceException e = assertThrows(OpenAIServiceException.class,
                () -> client.chat().completions().create(chat(1).maxCompletionTokens(100_000).build()));
        assertEquals(400, e.statusCode());
        assertEquals(Optional.of("max_completion_tokens"), e.param());
    }
}
