package io.ruvector.sparse.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * An OpenAI-compatible HTTP server over one {@link ServedModel}, on the JDK's {@code com.sun.net.httpserver} (one
 * virtual thread per exchange; generation itself runs on the model's batcher).
 *
 * <p>It listens as soon as it is started, before the model is loaded: {@code /health} answers 503 until
 * {@link #ready(ServedModel)}, then 200, as llama.cpp's server does. Endpoints: {@code POST /v1/chat/completions},
 * {@code POST /v1/completions}, {@code GET /v1/models}, {@code GET /health}, {@code POST /tokenize},
 * {@code POST /detokenize}, {@code GET /metrics} and the chat page at {@code /}; over an embedding model
 * ({@link #ready(ServedEmbedder)}) {@code POST /v1/embeddings} instead of the generating endpoints, which then
 * answer 400. With an API key every endpoint but
 * {@code /health} and the page needs {@code Authorization: Bearer KEY}. Errors are OpenAI's JSON error objects;
 * nothing answers with a stack trace.
 */
final class OpenAiServer implements AutoCloseable {

    /** Request bodies larger than this are refused (413): a prompt longer than any context still fits. */
    static final int MAX_BODY_BYTES = 8 << 20;

    private final HttpServer http;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final byte[] apiKey;
    private final PrintWriter log;
    private final ServerMetrics metrics = new ServerMetrics();
    private final Completions completions;
    private volatile ServedModel model;
    private volatile ServedEmbedder embedder;
    private volatile boolean closed;

    /**
     * Binds (without serving yet).
     *
     * @param apiKey the key clients must send, or null for none
     * @param log    where problems of the server itself are reported, one line each
     * @throws IOException when the address cannot be bound (in use, not local)
     */
    OpenAiServer(InetSocketAddress address, String apiKey, PrintWriter log) throws IOException {
        this.apiKey = apiKey == null ? null : apiKey.getBytes(StandardCharsets.UTF_8);
        this.log = Objects.requireNonNull(log, "log");
        this.http = HttpServer.create(address, 128);
        this.completions = new Completions(metrics);
        http.setExecutor(executor);
        http.createContext("/", this::handle);
    }

    void start() { http.start(); }

    /** The port listened on (the bound one when 0 was asked for). */
    int port() { return http.getAddress().getPort(); }

    String host() { return http.getAddress().getHostString(); }

    /** Starts serving {@code loaded}; the server closes it when it closes. */
    void ready(ServedModel loaded) {
        if (closed) {
            loaded.close();
            throw new IllegalStateException("the server is closed");
        }
        this.model = loaded;
    }

    /** Starts serving the embedding model {@code loaded}; the server closes it when it closes. */
    void ready(ServedEmbedder loaded) {
        if (closed) {
            loaded.close();
            throw new IllegalStateException("the server is closed");
        }
        this.embedder = loaded;
    }

    ServerMetrics metrics() { return metrics; }

    /** Stops listening, ends open exchanges, cancels running generations and closes the model. */
    @Override
    public void close() {
        closed = true;
        http.stop(0);
        ServedModel m = model;
        model = null;
        if (m != null) m.close();
        ServedEmbedder em = embedder;
        embedder = null;
        if (em != null) em.close();
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void handle(HttpExchange ex) {
        String path = ex.getRequestURI().getPath();
        String endpoint = endpointName(path);
        int status;
        try {
            status = route(ex, path);
        } catch (ApiError e) {
            status = Exchanges.sendError(ex, e);
        } catch (RuntimeException | Error e) {
            // A fault of ours: the client gets a 500 without details, the log one line.
            log.println("sparse-infer serve: " + ex.getRequestMethod() + " " + path + " failed: " + e);
            log.flush();
            status = Exchanges.sendError(ex, ApiError.internal("internal server error while handling the request"));
        } finally {
            ex.close();
        }
        metrics.request(endpoint, status);
    }

    /** Answers the exchange; returns the status code sent. */
    private int route(HttpExchange ex, String path) throws ApiError {
        String method = ex.getRequestMethod().toUpperCase(Locale.ROOT);
        switch (path) {
            case "/", "/index.html" -> {
                requireMethod(method, "GET");
                return Exchanges.sendResource(ex, "chat.html", "text/html; charset=utf-8");
            }
            case "/health", "/v1/health" -> {
                requireMethod(method, "GET");
                if (model == null && embedder == null) throw ApiError.unavailable("Loading model");
                ObjectNode ok = Json.object().put("status", "ok");
                return Exchanges.sendJson(ex, 200, ok);
            }
            default -> { }
        }
        authorize(ex);
        switch (path) {
            case "/v1/models", "/models" -> {
                requireMethod(method, "GET");
                ServedEmbedder e = embedder;
                return Exchanges.sendJson(ex, 200, e != null ? models(e) : models(loaded()));
            }
            case "/v1/chat/completions", "/chat/completions" -> {
                requireMethod(method, "POST");
                Json.Body body = Json.parseObject(Exchanges.readBody(ex, MAX_BODY_BYTES));
                ServedModel m = loaded();
                return completions.answer(ex, m, GenerationRequest.chat(body, m));
            }
            case "/v1/completions", "/completions" -> {
                requireMethod(method, "POST");
                Json.Body body = Json.parseObject(Exchanges.readBody(ex, MAX_BODY_BYTES));
                ServedModel m = loaded();
                return completions.answer(ex, m, GenerationRequest.completion(body, m));
            }
            case "/tokenize" -> {
                requireMethod(method, "POST");
                Json.Body body = Json.parseObject(Exchanges.readBody(ex, MAX_BODY_BYTES));
                return Exchanges.sendJson(ex, 200, tokenize(body, loaded()));
            }
            case "/detokenize" -> {
                requireMethod(method, "POST");
                Json.Body body = Json.parseObject(Exchanges.readBody(ex, MAX_BODY_BYTES));
                return Exchanges.sendJson(ex, 200, detokenize(body, loaded()));
            }
            case "/v1/embeddings", "/embeddings" -> {
                requireMethod(method, "POST");
                Json.Body body = Json.parseObject(Exchanges.readBody(ex, MAX_BODY_BYTES));
                return Exchanges.sendJson(ex, 200, Embeddings.answer(body, loadedEmbedder()));
            }
            case "/metrics" -> {
                requireMethod(method, "GET");
                return Exchanges.sendText(ex, 200, "text/plain; version=0.0.4; charset=utf-8",
                        metrics.render(model, model != null || embedder != null));
            }
            default -> throw ApiError.notFound("no endpoint " + path);
        }
    }

    private static String endpointName(String path) {
        return switch (path) {
            case "/", "/index.html" -> "/";
            case "/health", "/v1/health" -> "/health";
            case "/v1/models", "/models" -> "/v1/models";
            case "/v1/chat/completions", "/chat/completions" -> "/v1/chat/completions";
            case "/v1/completions", "/completions" -> "/v1/completions";
            case "/v1/embeddings", "/embeddings" -> "/v1/embeddings";
            case "/tokenize", "/detokenize", "/metrics" -> path;
            default -> "other";
        };
    }

    /** The generating model; a 400 when the server serves an embedding model. */
    private ServedModel loaded() {
        ServedModel m = model;
        ServedEmbedder e = embedder;
        if (m == null && e != null) {
            throw ApiError.badRequest("model", "model '" + e.id() + "' is an embedding model and does not generate text; use /v1/embeddings");
        }
        if (m == null) throw ApiError.unavailable(closed ? "the server is shutting down" : "Loading model");
        return m;
    }

    /** The embedding model; a 400 when the server serves a generating model. */
    private ServedEmbedder loadedEmbedder() {
        ServedEmbedder e = embedder;
        ServedModel m = model;
        if (e == null && m != null) {
            throw ApiError.badRequest("model", "model '" + m.id() + "' generates text and does not make embeddings; "
                    + "serve an embedding model (bert, nomic-bert) for /v1/embeddings");
        }
        if (e == null) throw ApiError.unavailable(closed ? "the server is shutting down" : "Loading model");
        return e;
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) throw ApiError.methodNotAllowed("method " + method + " is not allowed here; use " + allowed);
    }

    /** With an API key: {@code Authorization: Bearer KEY} (or {@code X-Api-Key: KEY}), compared in constant time. */
    private void authorize(HttpExchange ex) {
        if (apiKey == null) return;
        String given = null;
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) given = auth.substring(7).strip();
        if (given == null) given = ex.getRequestHeaders().getFirst("X-Api-Key");
        if (given == null) throw ApiError.unauthorized("missing API key: send 'Authorization: Bearer KEY'");
        if (!MessageDigest.isEqual(apiKey, given.getBytes(StandardCharsets.UTF_8))) throw ApiError.unauthorized("invalid API key");
    }

    private static ObjectNode models(ServedModel m) {
        ObjectNode root = Json.object().put("object", "list");
        ObjectNode entry = root.putArray("data").addObject();
        entry.put("id", m.id()).put("object", "model").put("created", m.created()).put("owned_by", "sparse-infer");
        entry.putObject("meta").put("n_ctx", m.contextLength()).put("n_vocab", m.vocabSize()).put("slots", m.slots());
        return root;
    }

    private static ObjectNode models(ServedEmbedder e) {
        ObjectNode root = Json.object().put("object", "list");
        ObjectNode entry = root.putArray("data").addObject();
        entry.put("id", e.id()).put("object", "model").put("created", e.created()).put("owned_by", "sparse-infer");
        entry.putObject("meta").put("n_ctx", e.maxTokens()).put("n_vocab", e.vocabSize()).put("n_embd", e.dimension())
                .put("embedding", true);
        return root;
    }

    /** llama.cpp's shape: {@code {"content", "add_special", "with_pieces"}} to {@code {"tokens": [...]}}. */
    private static ObjectNode tokenize(Json.Body body, ServedModel m) {
        String content = body.string("content");
        if (content == null) throw ApiError.badRequest("content", "'content' is required");
        boolean addSpecial = Boolean.TRUE.equals(body.bool("add_special"));
        boolean parseSpecial = !Boolean.FALSE.equals(body.bool("parse_special"));
        boolean withPieces = Boolean.TRUE.equals(body.bool("with_pieces"));
        int[] tokens = m.encode(content, addSpecial, parseSpecial);
        ObjectNode root = Json.object();
        ArrayNode out = root.putArray("tokens");
        for (int t : tokens) {
            if (withPieces) out.addObject().put("id", t).put("piece", m.tokenizer().tokenPiece(t));
            else out.add(t);
        }
        return root;
    }

    private static ObjectNode detokenize(Json.Body body, ServedModel m) {
        JsonNode tokens = body.get("tokens");
        if (tokens == null) throw ApiError.badRequest("tokens", "'tokens' is required");
        if (!tokens.isArray()) throw body.wrongType("tokens", "an array of token ids", tokens);
        int vocab = m.vocabSize();
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = tokens.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.intValue() < 0 || t.intValue() >= vocab) {
                throw ApiError.badRequest("tokens", "'tokens[" + i + "]' must be a token id in [0, " + vocab + "), not "
                        + (t.isNumber() ? t.asText() : Json.kind(t)));
            }
            ids[i] = t.intValue();
        }
        return Json.object().put("content", m.tokenizer().decode(ids));
    }

    /** Static helpers writing one exchange's answer. */
    static final class Exchanges {
        private Exchanges() {}

        static byte[] readBody(HttpExchange ex, int max) {
            try (InputStream in = ex.getRequestBody()) {
                byte[] b = in.readNBytes(max + 1);
                if (b.length > max) throw ApiError.tooLarge("the request body is larger than " + (max >> 20) + " MiB");
                return b;
            } catch (IOException e) {
                throw ApiError.badRequest(null, "the request body could not be read: " + e.getMessage());
            }
        }

        static int sendJson(HttpExchange ex, int status, JsonNode body) {
            return send(ex, status, "application/json; charset=utf-8", Json.bytes(body));
        }

        static int sendText(HttpExchange ex, int status, String type, String text) {
            return send(ex, status, type, text.getBytes(StandardCharsets.UTF_8));
        }

        static int sendError(HttpExchange ex, ApiError e) {
            if (e.status == 401) ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            return sendJson(ex, e.status, Json.error(e));
        }

        static int sendResource(HttpExchange ex, String name, String type) {
            try (InputStream in = OpenAiServer.class.getResourceAsStream(name)) {
                if (in == null) throw ApiError.notFound("no page " + name);
                return send(ex, 200, type, in.readAllBytes());
            } catch (IOException e) {
                throw ApiError.internal("the page could not be read");
            }
        }

        static int send(HttpExchange ex, int status, String type, byte[] body) {
            try {
                ex.getResponseHeaders().set("Content-Type", type);
                ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
                if (body.length > 0) ex.getResponseBody().write(body);
            } catch (IOException | IllegalStateException e) {
                // The client went away (or headers were already sent): nothing more to tell it.
            }
            return status;
        }
    }
}
