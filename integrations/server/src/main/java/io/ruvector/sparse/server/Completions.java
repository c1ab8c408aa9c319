package io.ruvector.sparse.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.GenerationResult;
import io.ruvector.sparse.generation.StopReason;
import io.ruvector.sparse.generation.TokenListener;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Runs one checked generation request on the model's batcher and answers it: one JSON object, or server-sent events
 * (a chunk per piece of text, a last chunk with the finish reason, optionally one with the usage, then
 * {@code data: [DONE]}).
 *
 * <p>The batcher calls the token listener on its scheduler thread, which must not wait for a client: the listener
 * only queues the text, and the exchange's own thread writes it. When a write fails the client is gone, and the
 * generation is cancelled, which frees its slot at the batcher's next step.
 */
final class Completions {

    /** While no text comes (queued, long prompt), an SSE comment this often keeps the connection and finds a gone client. */
    static final long KEEP_ALIVE_MILLIS = 1000;

    private final ServerMetrics metrics;

    Completions(ServerMetrics metrics) { this.metrics = metrics; }

    /** What the exchange's thread takes from the generation: text, or the end. */
    private sealed interface Event permits Text, End {}

    private record Text(String text) implements Event {}

    private record End(GenerationResult result, Throwable failure) implements Event {}

    int answer(HttpExchange ex, ServedModel model, GenerationRequest request) {
        String id = (request.chat() ? "chatcmpl-" : "cmpl-") + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        long created = System.currentTimeMillis() / 1000;
        Cancellation cancellation = new Cancellation();
        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        TokenListener listener = request.stream()
                ? (token, text) -> {
                    metrics.generated();
                    if (!text.isEmpty()) events.add(new Text(text));
                }
                : (token, text) -> metrics.generated();
        CompletableFuture<GenerationResult> future;
        try {
            future = model.submit(request.prompt(), request.options(), listener, cancellation);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest(request.chat() ? "messages" : "prompt", e.getMessage());
        } catch (IllegalStateException e) {
            throw ApiError.unavailable("the server is shutting down");
        }
        if (future.isCompletedExceptionally()) failure(future);   // a full queue is known at once

        if (!request.stream()) {
            GenerationResult result;
            try {
                result = future.get();
            } catch (InterruptedException e) {
                cancellation.cancel();
                Thread.currentThread().interrupt();
                throw ApiError.unavailable("the server is shutting down");
            } catch (ExecutionException | CancellationException e) {
                throw failure(future);
            }
            if (result.stopReason() == StopReason.CANCELLED) throw ApiError.unavailable("the server is shutting down");
            return OpenAiServer.Exchanges.sendJson(ex, 200, whole(id, created, model, request, result));
        }

        future.whenComplete((r, t) -> events.add(new End(r, t)));
        try {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            if (request.chat()) {
                ObjectNode first = chunk(id, created, model, request);
                first.withArray("choices").addObject().put("index", 0)
                        .<ObjectNode>set("delta", Json.object().put("role", "assistant").put("content", ""))
                        .putNull("logprobs").putNull("finish_reason");
                event(out, Json.string(first));
            }
            while (true) {
                Event e = events.poll(KEEP_ALIVE_MILLIS, TimeUnit.MILLISECONDS);
                if (e == null) {
                    out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } else if (e instanceof Text t) {
                    event(out, Json.string(textChunk(id, created, model, request, t.text())));
                } else if (e instanceof End end) {
                    finish(out, id, created, model, request, end);
                    return 200;
                }
            }
        } catch (IOException e) {
            // The client disconnected: stop its generation, which frees its slot at the batcher's next step.
            cancellation.cancel();
            metrics.cancelled();
            return 499;   // nginx's "client closed request", for the metrics only
        } catch (InterruptedException e) {
            cancellation.cancel();
            Thread.currentThread().interrupt();
            return 503;
        }
    }

    private void finish(OutputStream out, String id, long created, ServedModel model, GenerationRequest request, End end)
            throws IOException {
        if (end.failure() != null || end.result().stopReason() == StopReason.CANCELLED) {
            ApiError error = end.failure() != null ? describe(end.failure()) : ApiError.unavailable("the server is shutting down");
            event(out, Json.string(Json.error(error)));
            return;
        }
        GenerationResult r = end.result();
        ObjectNode last = chunk(id, created, model, request);
        ObjectNode choice = last.withArray("choices").addObject().put("index", 0);
        if (request.chat()) choice.set("delta", Json.object());
        else choice.put("text", "");
        choice.putNull("logprobs").put("finish_reason", finishReason(r));
        last.set("timings", timings(r));
        event(out, Json.string(last));
        if (request.includeUsage()) {
            ObjectNode usage = chunk(id, created, model, request);
            usage.putArray("choices");
            usage.set("usage", usage(r));
            event(out, Json.string(usage));
        }
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void event(OutputStream out, String json) throws IOException {
        out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static ObjectNode chunk(String id, long created, ServedModel model, GenerationRequest request) {
        return Json.object().put("id", id).put("object", request.chat() ? "chat.completion.chunk" : "text_completion")
                .put("created", created).put("model", model.id()).put("system_fingerprint", "sparse-infer");
    }

    private static ObjectNode textChunk(String id, long created, ServedModel model, GenerationRequest request, String text) {
        ObjectNode c = chunk(id, created, model, request);
        ObjectNode choice = c.withArray("choices").addObject().put("index", 0);
        if (request.chat()) choice.set("delta", Json.object().put("content", text));
        else choice.put("text", text);
        choice.putNull("logprobs").putNull("finish_reason");
        return c;
    }

    /** The whole answer of a request without streaming. */
    private static ObjectNode whole(String id, long created, ServedModel model, GenerationRequest request, GenerationResult r) {
        ObjectNode root = Json.object().put("id", id).put("object", request.chat() ? "chat.completion" : "text_completion")
                .put("created", created).put("model", model.id()).put("system_fingerprint", "sparse-infer");
        ObjectNode choice = root.putArray("choices").addObject().put("index", 0);
        if (request.chat()) {
            choice.putObject("message").put("role", "assistant").put("content", r.text()).putNull("refusal");
        } else {
            choice.put("text", r.text());
        }
        choice.putNull("logprobs").put("finish_reason", finishReason(r));
        root.set("usage", usage(r));
        root.set("timings", timings(r));
        return root;
    }

    /** OpenAI's finish reasons: {@code stop} at an end-of-generation token or a stop string, {@code length} at a limit. */
    static String finishReason(GenerationResult r) {
        return switch (r.stopReason()) {
            case END_OF_GENERATION, STOP_STRING -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
            case CANCELLED -> "stop";   // not sent: a cancelled client is gone
        };
    }

    private static ObjectNode usage(GenerationResult r) {
        return Json.object().put("prompt_tokens", r.promptTokens()).put("completion_tokens", r.generatedTokens())
                .put("total_tokens", r.promptTokens() + r.generatedTokens());
    }

    /** llama.cpp's timings object, which the chat page shows as tokens/s. */
    private static ObjectNode timings(GenerationResult r) {
        return Json.object().put("prompt_n", r.promptTokens()).put("prompt_ms", r.promptNanos() / 1e6)
                .put("prompt_per_second", r.promptTokensPerSecond())
                .put("predicted_n", r.generatedTokens()).put("predicted_ms", r.generationNanos() / 1e6)
                .put("predicted_per_second", r.generationTokensPerSecond());
    }

    /** The error a failed future stands for; also counts rejections. */
    private ApiError failure(CompletableFuture<GenerationResult> future) {
        try {
            future.join();
            return ApiError.internal("the generation failed");
        } catch (CompletionException | CancellationException e) {
            ApiError error = describe(e instanceof CompletionException ? e.getCause() : e);
            throw error;
        }
    }

    private ApiError describe(Throwable t) {
        if (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
        if (t instanceof RejectedExecutionException) {
            metrics.rejected();
            return ApiError.unavailable("the server is busy: " + t.getMessage() + "; try again later");
        }
        if (t instanceof IllegalArgumentException) return ApiError.badRequest(null, t.getMessage());
        if (t instanceof CancellationException || t instanceof IllegalStateException) {
            return ApiError.unavailable("the server is shutting down");
        }
        return ApiError.internal("the generation failed: " + t.getClass().getSimpleName()
                + (t.getMessage() != null ? ": " + t.getMessage().lines().findFirst().orElse("") : ""));
    }
}
