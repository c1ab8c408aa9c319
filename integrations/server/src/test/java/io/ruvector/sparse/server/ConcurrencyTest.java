package io.ruvector.sparse.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Many clients at once, a full queue, and a client that goes away mid-stream. */
class ConcurrencyTest {

    static final String CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story about a frog.\"}],"
            + "\"max_tokens\":12,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
    static final String COMPLETION = "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0}";

    /**
     * 32 requests from 8 concurrent clients (streamed chats and whole completions, greedy) on 4 slots: every one
     * completes, is well formed, and has the text the same request gets alone.
     */
    @Test
    @Timeout(600)
    void thirtyTwoRequestsFromEightClients() throws Exception {
        try (TestServer server = TestServer.start(4, 32, null)) {
            Sse aloneChat = Sse.parse(server.post("/v1/chat/completions", CHAT).body());
            String aloneCompletion = Json.MAPPER.readTree(server.post("/v1/completions", COMPLETION).body())
                    .path("choices").get(0).path("text").asText();
            assertEquals(12, aloneChat.usage().path("completion_tokens").asInt());

            ExecutorService clients = Executors.newFixedThreadPool(8);
            try {
                List<Future<String>> results = new ArrayList<>();
                for (int i = 0; i < 32; i++) {
                    boolean chat = i % 2 == 0;
                    results.add(clients.submit(() -> {
                        HttpResponse<String> r = chat ? server.post("/v1/chat/completions", CHAT)
                                : server.post("/v1/completions", COMPLETION);
                        assertEquals(200, r.statusCode(), r.body());
                        if (chat) {
                            Sse sse = Sse.parse(r.body());
                            assertEquals("length", sse.finishReason());
                            assertEquals(12, sse.usage().path("completion_tokens").asInt());
                            JsonNode first = sse.events().getFirst();
                            assertEquals("chat.completion.chunk", first.path("object").asText());
                            assertEquals("assistant", first.path("choices").get(0).path("delta").path("role").asText());
                            return "chat:" + sse.text();
                        }
                        JsonNode body = Json.MAPPER.readTree(r.body());
                        assertEquals("text_completion", body.path("object").asText());
                        assertEquals("length", body.path("choices").get(0).path("finish_reason").asText());
                        assertEquals(12, body.path("usage").path("completion_tokens").asInt());
                        return "completion:" + body.path("choices").get(0).path("text").asText();
                    }));
                }
                for (int i = 0; i < results.size(); i++) {
                    String got = results.get(i).get(300, TimeUnit.SECONDS);
                    String want = i % 2 == 0 ? "chat:" + aloneChat.text() : "completion:" + aloneCompletion;
                    assertEquals(want, got, "request " + i);
                }
            } finally {
                clients.shutdownNow();
            }
            Map<String, Double> m = ServerProtocolTest.prometheus(server.get("/metrics").body());
            assertEquals(34.0, m.get("sparse_infer_requests_completed_total"));
            assertEquals(34.0 * 12, m.get("sparse_infer_tokens_generated_total"));
            assertEquals(0.0, m.get("sparse_infer_slots_busy"));
            assertEquals(200, server.get("/health").statusCode());
        }
    }

    /**
     * One slot, no queue: while a long stream runs a second request gets 503; when its client disconnects the
     * generation is cancelled and the slot is free again at once.
     */
    @Test
    @Timeout(600)
    void fullQueueIs503AndADisconnectFreesTheSlot() throws Exception {
        // The longest generation stories260K allows (its context is 2048), so that it is still running when the
        // client leaves even where decoding is fast.
        try (TestServer server = TestServer.start(1, 0, null, 2048)) {
            int maxTokens = 2000;
            String longRequest = longGeneration(server, maxTokens);
            double generatedBefore = metrics(server).get("sparse_infer_tokens_generated_total");

            try (Socket socket = new Socket("127.0.0.1", server.server.port())) {
                socket.setSoTimeout(60_000);
                byte[] body = longRequest.replace("}", ",\"stream\":true}").getBytes(StandardCharsets.UTF_8);
                OutputStream out = socket.getOutputStream();
                out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                out.write(body);
                out.flush();
                BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                int events = 0;
                for (String line; events < 3 && (line = in.readLine()) != null; ) {
                    if (line.contains("data: {")) events++;
                }
                assertEquals(3, events, "three chunks streamed before the client leaves");

                HttpResponse<String> busy = server.post("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":2}");
                assertEquals(503, busy.statusCode(), busy.body());
                assertEquals("unavailable_error", ServerProtocolTest.errorOf(busy).path("type").asText());
            }   // the client disconnects mid-stream

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            Map<String, Double> m;
            while ((m = metrics(server)).get("sparse_infer_slots_busy") != 0) {
                if (System.nanoTime() > deadline) fail("the slot is still busy 10 s after the client left");
                Thread.sleep(20);
            }
            assertEquals(1.0, m.get("sparse_infer_requests_cancelled_total"));
            double generated = m.get("sparse_infer_tokens_generated_total") - generatedBefore;
            assertTrue(generated < maxTokens, "cancelled early, not run to its " + maxTokens + " tokens: " + generated);

            HttpResponse<String> next = server.post("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":2}");
            assertEquals(200, next.statusCode(), next.body());
            assertEquals(200, server.get("/health").statusCode());
        }
    }

    /**
     * A sampled completion request that runs to its full {@code maxTokens} (checked by running it: results depend only
     * on the seed), so that only a cancellation can end it early. Sampling is hot so the end of a story is unlikely.
     */
    static String longGeneration(TestServer server, int maxTokens) throws Exception {
        for (int seed = 1; seed <= 20; seed++) {
            String request = "{\"prompt\":\"Once upon a time\",\"max_tokens\":" + maxTokens
                    + ",\"temperature\":1.5,\"top_k\":0,\"top_p\":1,\"min_p\":0,\"seed\":" + seed + "}";
            HttpResponse<String> r = server.post("/v1/completions", request);
            assertEquals(200, r.statusCode(), r.body());
            if (Json.MAPPER.readTree(r.body()).path("choices").get(0).path("finish_reason").asText().equals("length")) return request;
        }
        throw new AssertionError("no seed in 1..20 gives " + maxTokens + " tokens without an end of story");
    }

    static Map<String, Double> metrics(TestServer server) throws Exception {
        return ServerProtocolTest.prometheus(server.get("/metrics").body());
    }
}
