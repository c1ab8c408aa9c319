package io.ruvector.sparse.server;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** A server-sent event stream as the tests read it: every data event parsed, the stream checked to end in [DONE]. */
record Sse(List<JsonNode> events) {

    /** Parses a whole stream; fails unless every event is JSON and the last one is {@code data: [DONE]}. */
    static Sse parse(String body) throws IOException {
        List<JsonNode> events = new ArrayList<>();
        boolean done = false;
        for (String block : body.split("\n\n")) {
            if (block.isBlank()) continue;
            for (String line : block.split("\n")) {
                if (line.startsWith(":")) continue;   // comments: keep-alives
                assertTrue(line.startsWith("data: "), "an SSE data line: " + line);
                assertTrue(!done, "nothing after [DONE]: " + line);
                String data = line.substring("data: ".length());
                if (data.equals("[DONE]")) done = true;
                else events.add(Json.MAPPER.readTree(data));
            }
        }
        if (!done) fail("the stream does not end with data: [DONE]:\n" + body);
        return new Sse(events);
    }

    /** The generated text: every choice's delta content (chat) or text (completion), in order. */
    String text() {
        StringBuilder sb = new StringBuilder();
        for (JsonNode e : events) {
            for (JsonNode c : e.path("choices")) {
                if (c.has("delta")) sb.append(c.path("delta").path("content").asText(""));
                else sb.append(c.path("text").asText(""));
            }
        }
        return sb.toString();
    }

    /** The one finish reason, checked to come once, on the last choice chunk. */
    String finishReason() {
        String reason = null;
        for (JsonNode e : events) {
            for (JsonNode c : e.path("choices")) {
                JsonNode f = c.get("finish_reason");
                if (f != null && !f.isNull()) {
                    assertEquals(null, reason, "one finish reason");
                    reason = f.asText();
                }
            }
        }
        return reason;
    }

    /** The usage object of the last event, or null. */
    JsonNode usage() {
        JsonNode last = events.getLast();
        return last.has("usage") && !last.get("usage").isNull() ? last.get("usage") : null;
    }
}
