package io.ruvector.sparse.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.BadRequestException;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.embedding.EmbeddingModel;
import io.ruvector.sparse.embedding.EmbeddingOptions;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code POST /v1/embeddings} over all-MiniLM-L6-v2 (F32), with the official OpenAI Java SDK as the client: the
 * vectors are the engine's {@link EmbeddingModel} output for the same texts (both floats and base64), they match
 * ONNX Runtime's reference vectors as the engine's own test requires, and bad requests get a 400 naming the field.
 */
@Timeout(300)
class EmbeddingsTest {

    static final String MODEL = "models/all-minilm-l6-v2.F32.gguf";
    static final String REFERENCE = "reference/all-minilm-l6-v2.ref.gguf";
    static final String ID = "all-minilm-l6-v2";

    static OpenAiServer server;
    static OpenAIClient client;
    static EmbeddingModel library;
    static TestClient http;
    static List<String> sentences;
    static float[][] onnx;

    /** Plain HTTP requests for what the SDK will not send (bad requests) and for the raw base64 text. */
    record TestClient(int port) {
        HttpResponse<String> post(String path, String body) throws Exception {
            try (java.net.http.HttpClient c = java.net.http.HttpClient.newHttpClient()) {
                return c.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path))
                                .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(),
                        HttpResponse.BodyHandlers.ofString());
            }
        }
    }

    @BeforeAll
    static void start() throws Exception {
        int maxTokens;
        try (GgufFile ref = GgufFile.open(Fixtures.require(REFERENCE))) {
            sentences = Arrays.asList(ref.getArray("reference.sentences").toStringArray());
            maxTokens = ref.getInt("reference.max_tokens");
            TensorInfo t = ref.requireTensor("embeddings");
            assertEquals(GgmlType.F32, t.type());
            MemorySegment data = ref.tensorData(t);
            onnx = new float[(int) t.rows()][(int) t.rowLength()];
            for (int r = 0; r < onnx.length; r++) {
                MemorySegment.copy(data, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) r * t.rowBytes(), onnx[r], 0, onnx[r].length);
            }
        }
        // As the reference was made: texts cut at its token limit.
        EmbeddingOptions options = EmbeddingOptions.defaults().withThreads(2).withMaxTokens(maxTokens);
        library = EmbeddingModel.open(Fixtures.require(MODEL), options);
        server = new OpenAiServer(new InetSocketAddress("127.0.0.1", 0), null, new PrintWriter(new StringWriter(), true));
        server.start();
        server.ready(new ServedEmbedder(EmbeddingModel.open(Fixtures.require(MODEL), options), ID));
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("unused")
                .maxRetries(0).timeout(Duration.ofSeconds(120)).build();
        http = new TestClient(server.port());
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
        if (library != null) library.close();
    }

    private static float[] floats(List<Float> v) {
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) f[i] = v.get(i);
        return f;
    }

    static double cosine(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    /**
     * The server computes with the same engine on the same file, so its vectors equal the library's up to the
     * order texts are batched in (sums over the same values): each element within a few float ulps of 1.
     */
    private static void assertSameVectors(List<float[]> expected, List<float[]> got) {
        assertEquals(expected.size(), got.size());
        for (int i = 0; i < got.size(); i++) {
            double cos = cosine(expected.get(i), got.get(i));
            assertTrue(cos >= 1 - 1e-6, "input " + i + ": cosine " + cos);
            for (int k = 0; k < got.get(i).length; k++) {
                assertEquals(expected.get(i)[k], got.get(i)[k], 1e-6f, "input " + i + " element " + k);
            }
        }
    }

    @Test
    void sdkFloatVectorsAreTheLibrarysAndMatchOnnxRuntime() {
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(ID)
                .inputOfArrayOfStrings(sentences).encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
        assertEquals(ID, r.model());
        assertEquals(sentences.size(), r.data().size());
        List<float[]> got = new ArrayList<>();
        for (int i = 0; i < r.data().size(); i++) {
            assertEquals(i, r.data().get(i).index());
            assertEquals("embedding", r.data().get(i)._object_().asString().orElseThrow());
            got.add(floats(r.data().get(i).embedding()));
        }
        assertSameVectors(library.embedAll(sentences), got);

        long tokens = 0;
        for (String s : sentences) tokens += library.tokenize(s).length;
        assertEquals(tokens, r.usage().promptTokens());
        assertEquals(tokens, r.usage().totalTokens());

        double worst = 1;
        for (int i = 0; i < got.size(); i++) worst = Math.min(worst, cosine(got.get(i), onnx[i]));
        assertTrue(worst >= 0.9999, "worst cosine against ONNX Runtime " + worst);
    }

    @Test
    void sdkBase64AndSingleStringGiveTheSameVectors() {
        List<String> texts = sentences.subList(0, 5);
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(ID)
                .inputOfArrayOfStrings(texts).encodingFormat(EmbeddingCreateParams.EncodingFormat.BASE64).build());
        List<float[]> got = new ArrayList<>();
        for (var e : r.data()) got.add(floats(e.embedding()));
        assertSameVectors(library.embedAll(texts), got);

        CreateEmbeddingResponse one = client.embeddings().create(EmbeddingCreateParams.builder().model(ID)
                .input(texts.get(2)).build());
        assertEquals(1, one.data().size());
        assertSameVectors(List.of(library.embed(texts.get(2))), List.of(floats(one.data().getFirst().embedding())));
        assertEquals(library.tokenize(texts.get(2)).length, one.usage().promptTokens());
    }

    @Test
    void base64IsLittleEndianFloat32() throws Exception {
        String text = sentences.get(7);
        HttpResponse<String> r = http.post("/v1/embeddings",
                "{\"model\":\"x\",\"input\":" + Json.MAPPER.writeValueAsString(text) + ",\"encoding_format\":\"base64\"}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode root = Json.MAPPER.readTree(r.body());
        assertEquals("list", root.get("object").asText());
        byte[] bytes = Base64.getDecoder().decode(root.get("data").get(0).get("embedding").asText());
        float[] expected = library.embed(text);
        assertEquals(expected.length * Float.BYTES, bytes.length);
        float[] got = new float[expected.length];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
        assertSameVectors(List.of(expected), List.of(got));
    }

    @Test
    void concurrentRequestsEachGetTheirOwnVectors() throws Exception {
        int clients = 4;
        List<java.util.concurrent.Future<List<float[]>>> futures = new ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(clients)) {
            for (int c = 0; c < clients; c++) {
                List<String> texts = sentences.subList(c * 8, c * 8 + 8);
                futures.add(pool.submit(() -> {
                    CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(ID)
                            .inputOfArrayOfStrings(texts).build());
                    List<float[]> got = new ArrayList<>();
                    for (var e : r.data()) got.add(floats(e.embedding()));
                    return got;
                }));
            }
            for (int c = 0; c < clients; c++) assertSameVectors(library.embedAll(sentences.subList(c * 8, c * 8 + 8)), futures.get(c).get());
        }
    }

    @Test
    void aTextLongerThanTheLimitIsCutAsTheLibraryCutsIt() {
        String longText = String.join(" ", Collections.nCopies(400, "word"));
        CreateEmbeddingResponse r = client.embeddings().create(EmbeddingCreateParams.builder().model(ID).input(longText).build());
        assertEquals(library.maxTokens(), r.usage().promptTokens());
        assertSameVectors(List.of(library.embed(longText)), List.of(floats(r.data().getFirst().embedding())));
    }

    @Test
    void modelsListsTheEmbeddingModel() {
        List<Model> models = client.models().list().data();
        assertEquals(1, models.size());
        assertEquals(ID, models.getFirst().id());
    }

    private static void assertBadRequest(String body, String param, String messagePart) throws Exception {
        HttpResponse<String> r = http.post("/v1/embeddings", body);
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = Json.MAPPER.readTree(r.body()).get("error");
        assertEquals("invalid_request_error", error.get("type").asText(), r.body());
        assertEquals(param, error.get("param").asText(), r.body());
        assertTrue(error.get("message").asText().contains(messagePart), r.body());
    }

    @Test
    void badRequestsNameTheField() throws Exception {
        assertBadRequest("{\"model\":\"m\"}", "input", "required");
        assertBadRequest("{\"input\":[]}", "input", "empty");
        assertBadRequest("{\"input\":\"\"}", "input", "empty string");
        assertBadRequest("{\"input\":[\"a\",\"\"]}", "input", "input[1]' is an empty string");
        assertBadRequest("{\"input\":42}", "input", "a string or an array of strings");
        assertBadRequest("{\"input\":[\"a\",{}]}", "input", "input[1]");
        assertBadRequest("{\"input\":[101,2023,102]}", "input", "token ids");
        assertBadRequest("{\"input\":[[101,102]]}", "input", "token ids");
        assertBadRequest("{\"input\":\"a\",\"encoding_format\":\"int8\"}", "encoding_format", "float or base64");
        assertBadRequest("{\"input\":\"a\",\"dimensions\":128}", "dimensions", "384");
        assertBadRequest("{\"input\":\"a\",\"model\":7}", "model", "a string");
        String tooMany = "{\"input\":" + Json.MAPPER.writeValueAsString(Collections.nCopies(Embeddings.MAX_INPUTS + 1, "a")) + "}";
        assertBadRequest(tooMany, "input", "at most " + Embeddings.MAX_INPUTS);

        BadRequestException e = assertThrows(BadRequestException.class, () -> client.embeddings().create(
                EmbeddingCreateParams.builder().model(ID).inputOfArrayOfStrings(List.of()).build()));
        assertEquals(400, e.statusCode());
    }

    @Test
    void generatingEndpointsSayTheModelDoesNotGenerate() throws Exception {
        for (String path : List.of("/v1/chat/completions", "/v1/completions")) {
            HttpResponse<String> r = http.post(path, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"prompt\":\"hi\"}");
            assertEquals(400, r.statusCode(), r.body());
            assertTrue(r.body().contains("embedding model") && r.body().contains("does not generate"), r.body());
        }
        try (java.net.http.HttpClient c = java.net.http.HttpClient.newHttpClient()) {
            HttpResponse<String> health = c.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + server.port() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode());
        }
    }

    @Test
    void aGeneratingModelMakesNoEmbeddings() throws Exception {
        try (TestServer generating = TestServer.start(1, 4, null)) {
            HttpResponse<String> r = generating.post("/v1/embeddings", "{\"input\":\"hello\"}");
            assertEquals(400, r.statusCode(), r.body());
            assertTrue(r.body().contains("does not make embeddings"), r.body());
        }
    }

    @Test
    void serveDetectsTheEncoder() throws Exception {
        assertTrue(ServeCommand.isEmbeddingModel(Fixtures.require(MODEL)));
        assertTrue(!ServeCommand.isEmbeddingModel(TestServer.model()));
    }
}
