package io.ruvector.sparse.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;

/**
 * {@code POST /v1/embeddings} in OpenAI's shape: {@code input} (a string or an array of strings), {@code model},
 * {@code encoding_format} ({@code float} or {@code base64}: the little-endian float32 bytes, as OpenAI sends them),
 * {@code dimensions} (only the model's own) to {@code {"object": "list", "data": [{"object": "embedding", "index",
 * "embedding"}], "model", "usage": {"prompt_tokens", "total_tokens"}}}. The vectors are the engine's, unit length.
 */
final class Embeddings {

    /** Inputs of one request at most, as OpenAI's limit. */
    static final int MAX_INPUTS = 2048;

    private Embeddings() {}

    static ObjectNode answer(Json.Body body, ServedEmbedder m) {
        body.string("model");   // any name: the server serves one model, as for the other endpoints
        body.string("user");
        List<String> inputs = inputs(body);
        boolean base64 = base64(body);
        Long dimensions = body.integer("dimensions", 1, Integer.MAX_VALUE);
        if (dimensions != null && dimensions != m.dimension()) {
            throw ApiError.badRequest("dimensions", "'dimensions' must be the model's " + m.dimension() + " (vectors are not shortened), not " + dimensions);
        }

        long tokens = 0;
        for (String s : inputs) tokens += m.tokenCount(s);
        List<float[]> vectors = m.embedAll(inputs);

        ObjectNode root = Json.object().put("object", "list");
        ArrayNode data = root.putArray("data");
        for (int i = 0; i < vectors.size(); i++) {
            ObjectNode e = data.addObject().put("object", "embedding").put("index", i);
            float[] v = vectors.get(i);
            if (base64) {
                ByteBuffer b = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                e.put("embedding", Base64.getEncoder().encodeToString(b.array()));
            } else {
                ArrayNode a = e.putArray("embedding");
                for (float x : v) a.add(x);
            }
        }
        root.put("model", m.id());
        root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        return root;
    }

    private static List<String> inputs(Json.Body body) {
        JsonNode input = body.get("input");
        if (input == null) throw ApiError.badRequest("input", "'input' is required");
        if (input.isArray() && !input.isEmpty() && (input.get(0).isNumber() || input.get(0).isArray())) {
            throw ApiError.badRequest("input", "'input' as token ids is not supported; send a string or an array of strings");
        }
        List<String> inputs = body.strings("input", MAX_INPUTS);
        if (inputs.isEmpty()) throw ApiError.badRequest("input", "'input' is an empty array; send at least one string");
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).isEmpty()) {
                throw ApiError.badRequest("input", "'input" + (input.isArray() ? "[" + i + "]" : "") + "' is an empty string");
            }
        }
        return inputs;
    }

    private static boolean base64(Json.Body body) {
        String format = body.string("encoding_format");
        if (format == null || format.equals("float")) return false;
        if (format.equals("base64")) return true;
        throw ApiError.badRequest("encoding_format", "'encoding_format' must be float or base64, not '" + format + "'");
    }
}
