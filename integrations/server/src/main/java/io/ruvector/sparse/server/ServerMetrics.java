package io.ruvector.sparse.server;

import io.ruvector.sparse.generation.ContinuousBatcher;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The server's counters, written as Prometheus text by {@code GET /metrics}: HTTP requests by endpoint and status,
 * prompt and generated tokens, the generation rate over the last seconds, busy slots and the queue.
 */
final class ServerMetrics {

    /** The rate is the tokens generated in the last this many seconds, divided by them. */
    static final int RATE_WINDOW_SECONDS = 10;

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder cancelled = new LongAdder();
    // Tokens generated per second, in a ring of one-second buckets (second stamp, count).
    private final long[] bucketSecond = new long[RATE_WINDOW_SECONDS];
    private final long[] bucketCount = new long[RATE_WINDOW_SECONDS];

    /** One HTTP request answered. */
    void request(String endpoint, int status) {
        requests.computeIfAbsent(endpoint + "\u0000" + status, k -> new LongAdder()).increment();
    }

    /** A generation refused because the queue was full. */
    void rejected() { rejected.increment(); }

    /** A generation cancelled because its client went away. */
    void cancelled() { cancelled.increment(); }

    /** One token generated now (called on the batcher's thread, so it only adds). */
    void generated() {
        long second = System.nanoTime() / 1_000_000_000L;
        synchronized (bucketCount) {
            int i = (int) Math.floorMod(second, (long) RATE_WINDOW_SECONDS);
            if (bucketSecond[i] != second) {
                bucketSecond[i] = second;
                bucketCount[i] = 0;
            }
            bucketCount[i]++;
        }
    }

    /** Generated tokens per second over the last {@link #RATE_WINDOW_SECONDS} seconds. */
    double tokensPerSecond() {
        long now = System.nanoTime() / 1_000_000_000L;
        long sum = 0;
        synchronized (bucketCount) {
            for (int i = 0; i < RATE_WINDOW_SECONDS; i++) {
                if (now - bucketSecond[i] < RATE_WINDOW_SECONDS) sum += bucketCount[i];
            }
        }
        return (double) sum / RATE_WINDOW_SECONDS;
    }

    /**
     * The Prometheus text exposition; {@code model} null while the model is loading or when the server serves an
     * embedding model; {@code loaded} once either is loaded.
     */
    String render(ServedModel model, boolean loaded) {
        StringBuilder out = new StringBuilder(2048);
        out.append("# HELP sparse_infer_http_requests_total HTTP requests answered, by endpoint and status code.\n");
        out.append("# TYPE sparse_infer_http_requests_total counter\n");
        Map<String, Long> sorted = new TreeMap<>();
        requests.forEach((k, v) -> sorted.put(k, v.sum()));
        sorted.forEach((k, v) -> {
            int sep = k.indexOf('\u0000');
            out.append("sparse_infer_http_requests_total{endpoint=\"").append(k, 0, sep).append("\",status=\"")
                    .append(k, sep + 1, k.length()).append("\"} ").append(v).append('\n');
        });
        counter(out, "sparse_infer_requests_rejected_total", "Generation requests refused with 503 because the queue was full.", rejected.sum());
        counter(out, "sparse_infer_requests_cancelled_total", "Generations cancelled because their client disconnected.", cancelled.sum());
        ContinuousBatcher.Stats s = model != null ? model.stats() : new ContinuousBatcher.Stats(0, 0, 0, 0, 0);
        counter(out, "sparse_infer_requests_completed_total", "Generation requests that left their slot (finished, cancelled or failed).", s.requestsCompleted());
        counter(out, "sparse_infer_prompt_tokens_total", "Prompt tokens evaluated.", s.promptTokens());
        counter(out, "sparse_infer_tokens_generated_total", "Tokens generated.", s.generatedTokens());
        gauge(out, "sparse_infer_tokens_per_second", "Tokens generated per second over the last " + RATE_WINDOW_SECONDS + " seconds.",
                String.format(Locale.ROOT, "%.3f", tokensPerSecond()));
        gauge(out, "sparse_infer_slots_busy", "Slots decoding a request or evaluating its prompt.", Integer.toString(s.activeSlots()));
        gauge(out, "sparse_infer_slots_total", "Slots: requests decoded together at most.", Integer.toString(model != null ? model.slots() : 0));
        gauge(out, "sparse_infer_requests_queued", "Requests waiting for a slot.", Integer.toString(s.queuedRequests()));
        gauge(out, "sparse_infer_model_loaded", "1 once the model is loaded and requests are served.", loaded ? "1" : "0");
        return out.toString();
    }

    private static void counter(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" counter\n");
        out.append(name).append(' ').append(value).append('\n');
    }

    private static void gauge(StringBuilder out, String name, String help, String value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" gauge\n");
        out.append(name).append(' ').append(value).append('\n');
    }
}
