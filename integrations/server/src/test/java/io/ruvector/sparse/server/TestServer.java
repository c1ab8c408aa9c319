package io.ruvector.sparse.server;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.generation.ChatTemplate;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A server on loopback (a free port) over stories260K from the shared test data (skipped without it, failing under
 * CI), with a small context so long-prompt checks stay cheap.
 */
final class TestServer implements AutoCloseable {

    static final int CONTEXT = 512;

    final OpenAiServer server;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private TestServer(OpenAiServer server) { this.server = server; }

    static Path model() { return Fixtures.require("models/stories260K.gguf"); }

    /** Started, with the model loaded. */
    static TestServer start(int slots, int queue, String apiKey) throws IOException {
        return start(slots, queue, apiKey, CONTEXT);
    }

    /** Started, with the model loaded and {@code context} positions per slot. */
    static TestServer start(int slots, int queue, String apiKey, int context) throws IOException {
        TestServer t = startLoading(apiKey);
        t.server.ready(load(slots, queue, context));
        return t;
    }

    /** Started and listening, the model not yet given ({@link OpenAiServer#ready}). */
    static TestServer startLoading(String apiKey) throws IOException {
        model();   // skips (fails under CI) before binding when the test model is absent
        OpenAiServer s = new OpenAiServer(new InetSocketAddress("127.0.0.1", 0), apiKey, new PrintWriter(new StringWriter(), true));
        s.start();
        return new TestServer(s);
    }

    static ServedModel load(int slots, int queue) throws IOException {
        return load(slots, queue, CONTEXT);
    }

    static ServedModel load(int slots, int queue, int context) throws IOException {
        LanguageModel model = LanguageModel.open(model(), ModelOptions.defaults().withContextLength(context));
        return new ServedModel(model, null, ChatTemplate.fallback(), "stories260K", slots, queue);
    }

    String url(String path) { return "http://127.0.0.1:" + server.port() + path; }

    String baseUrlV1() { return url("/v1"); }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(60)).GET();
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        server.close();
        http.close();
    }
}
