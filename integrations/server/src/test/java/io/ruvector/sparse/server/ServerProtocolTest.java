package io.ruvector.sparse.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Status codes and shapes: bad requests, the API key, health while loading, tokenize/detokenize, metrics. */
@Timeout(300)
class ServerProtocolTest {

    static final String KEY = "protocol-key";
    static final String[] AUTH = {"Authorization", "Bearer " + KEY};
    static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(2, 4, KEY);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static final String HELLO = "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]";

    static Stream<Arguments> badRequests() {
        String longText = "Once upon a time there was a little dog. ".repeat(100);
        return Stream.of(
                Arguments.of("/v1/chat/completions", "{", null),
                Arguments.of("/v1/chat/completions", "", null),
                Arguments.of("/v1/chat/completions", "[1, 2]", null),
                Arguments.of("/v1/chat/completions", "{}", "messages"),
                Arguments.of("/v1/chat/completions", "{\"messages\":\"hi\"}", "messages"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[]}", "messages"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"content\":\"x\"}]}", "messages[0].role"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", "messages[0].role"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", "messages[0].content[0].type"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"max_tokens\":0}", "max_tokens"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"max_tokens\":100000}", "max_tokens"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"max_tokens\":\"10\"}", "max_tokens"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"max_completion_tokens\":-5}", "max_completion_tokens"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"temperature\":\"hot\"}", "temperature"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"temperature\":3}", "temperature"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"top_p\":0}", "top_p"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"top_k\":-1}", "top_k"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"min_p\":2}", "min_p"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"presence_penalty\":[1]}", "presence_penalty"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"frequency_penalty\":9}", "frequency_penalty"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"seed\":1.5}", "seed"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"stop\":5}", "stop"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"stop\":[\"a\",7]}", "stop"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"stream\":\"yes\"}", "stream"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"stream\":true,\"stream_options\":{\"include_usage\":1}}", "stream_options.include_usage"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"n\":2}", "n"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"model\":7}", "model"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"logprobs\":true}", "logprobs"),
                Arguments.of("/v1/chat/completions", "{" + HELLO + ",\"tools\":[{\"type\":\"function\"}]}", "tools"),
                Arguments.of("/v1/completions", "{\"prompt\":\"Hi\",\"logprobs\":2}", "logprobs"),
                Arguments.of("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"" + longText + "\"}]}", "messages"),
                Arguments.of("/v1/completions", "{}", "prompt"),
                Arguments.of("/v1/completions", "{\"prompt\":42}", "prompt"),
                Arguments.of("/v1/completions", "{\"prompt\":[1, 99999]}", "prompt"),
                Arguments.of("/v1/completions", "{\"prompt\":\"" + longText + "\"}", "prompt"),
                Arguments.of("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":513}", "max_tokens"),
                Arguments.of("/tokenize", "{}", "content"),
                Arguments.of("/tokenize", "{\"content\":\"x\",\"add_special\":\"no\"}", "add_special"),
                Arguments.of("/detokenize", "{\"tokens\":[-1]}", "tokens"),
                Arguments.of("/detokenize", "{\"tokens\":\"abc\"}", "tokens"));
    }

    @ParameterizedTest
    @MethodSource("badRequests")
    void badRequestIs400NamingTheField(String path, String body, String param) throws Exception {
        HttpResponse<String> r = server.post(path, body, AUTH);
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = errorOf(r);
        assertEquals("invalid_request_error", error.path("type").asText());
        if (param == null) {
            assertTrue(error.path("param").isNull(), r.body());
        } else {
            assertEquals(param, error.path("param").asText(), r.body());
            assertTrue(error.path("message").asText().contains(param.replaceFirst("^(messages|prompt)$", "")), r.body());
        }
        if (path.endsWith("completions") && body.length() > 2000) assertEquals("context_length_exceeded", error.path("code").asText());
    }

    /** Parses an error answer and checks it is OpenAI's shape, JSON, without a stack trace. */
    static JsonNode errorOf(HttpResponse<String> r) throws Exception {
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().toString());
        assertFalse(r.body().contains("Exception") || r.body().contains("\tat ") || r.body().contains(".java:"), r.body());
        JsonNode error = Json.MAPPER.readTree(r.body()).get("error");
        assertNotNull(error, r.body());
        assertFalse(error.path("message").asText().isBlank(), r.body());
        return error;
    }

    @Test
    void apiKeyIsRequiredExceptForHealthAndThePage() throws Exception {
        HttpResponse<String> none = server.get("/v1/models");
        assertEquals(401, none.statusCode());
        assertEquals("authentication_error", errorOf(none).path("type").asText());
        HttpResponse<String> wrong = server.post("/v1/chat/completions", "{" + HELLO + "}", "Authorization", "Bearer wrong");
        assertEquals(401, wrong.statusCode());
        assertEquals("invalid_api_key", errorOf(wrong).path("code").asText());
        assertEquals(401, server.get("/metrics").statusCode());
        assertEquals(200, server.get("/v1/models", AUTH).statusCode());
        assertEquals(200, server.get("/health").statusCode());
        HttpResponse<String> page = server.get("/");
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<html"), page.body());
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() throws Exception {
        HttpResponse<String> missing = server.get("/v1/nothing", AUTH);
        assertEquals(404, missing.statusCode());
        errorOf(missing);
        HttpResponse<String> method = server.get("/v1/chat/completions", AUTH);
        assertEquals(405, method.statusCode());
        errorOf(method);
    }

    @Test
    void healthIs503WhileLoadingThen200() throws Exception {
        try (TestServer loading = TestServer.startLoading(null)) {
            HttpResponse<String> before = loading.get("/health");
            assertEquals(503, before.statusCode());
            assertEquals("unavailable_error", errorOf(before).path("type").asText());
            assertEquals(503, loading.post("/v1/completions", "{\"prompt\":\"Hi\"}").statusCode());
            loading.server.ready(TestServer.load(1, 0));
            HttpResponse<String> after = loading.get("/health");
            assertEquals(200, after.statusCode());
            assertEquals("ok", Json.MAPPER.readTree(after.body()).path("status").asText());
        }
    }

    @Test
    void tokenizeAndDetokenizeRoundTrip() throws Exception {
        HttpResponse<String> t = server.post("/tokenize", "{\"content\":\"Once upon a time\"}", AUTH);
        assertEquals(200, t.statusCode(), t.body());
        JsonNode tokens = Json.MAPPER.readTree(t.body()).get("tokens");
        assertTrue(tokens.size() >= 4, t.body());
        HttpResponse<String> d = server.post("/detokenize", "{\"tokens\":" + tokens + "}", AUTH);
        assertEquals(200, d.statusCode(), d.body());
        assertEquals("Once upon a time", Json.MAPPER.readTree(d.body()).path("content").asText());
        HttpResponse<String> withBos = server.post("/tokenize", "{\"content\":\"Once\",\"add_special\":true}", AUTH);
        assertEquals(1, Json.MAPPER.readTree(withBos.body()).get("tokens").get(0).asInt(), "stories260K's BOS is 1");
    }

    @Test
    void metricsCountRequestsAndTokens() throws Exception {
        HttpResponse<String> gen = server.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":7,\"temperature\":0}", AUTH);
        assertEquals(200, gen.statusCode(), gen.body());
        assertEquals(7, Json.MAPPER.readTree(gen.body()).path("usage").path("completion_tokens").asInt());
        HttpResponse<String> m = server.get("/metrics", AUTH);
        assertEquals(200, m.statusCode());
        assertTrue(m.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        Map<String, Double> values = prometheus(m.body());
        assertTrue(values.get("sparse_infer_tokens_generated_total") >= 7, m.body());
        assertTrue(values.get("sparse_infer_prompt_tokens_total") >= 5, m.body());
        assertTrue(values.get("sparse_infer_requests_completed_total") >= 1, m.body());
        assertTrue(values.get("sparse_infer_tokens_per_second") > 0, m.body());
        assertEquals(2.0, values.get("sparse_infer_slots_total"));
        assertEquals(0.0, values.get("sparse_infer_slots_busy"));
        assertEquals(0.0, values.get("sparse_infer_requests_queued"));
        assertTrue(values.get("sparse_infer_http_requests_total{endpoint=\"/v1/completions\",status=\"200\"}") >= 1, m.body());
    }

    /** Name (with labels) to value of every sample line; checks each metric has HELP and TYPE lines. */
    static Map<String, Double> prometheus(String text) {
        Map<String, Double> out = new HashMap<>();
        Map<String, Boolean> typed = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.startsWith("# TYPE ")) typed.put(line.split(" ")[2], true);
            if (line.isBlank() || line.startsWith("#")) continue;
            int space = line.lastIndexOf(' ');
            String name = line.substring(0, space);
            String base = name.contains("{") ? name.substring(0, name.indexOf('{')) : name;
            assertTrue(typed.containsKey(base), "a TYPE line before " + base);
            out.put(name, Double.parseDouble(line.substring(space + 1)));
        }
        return out;
    }
}
