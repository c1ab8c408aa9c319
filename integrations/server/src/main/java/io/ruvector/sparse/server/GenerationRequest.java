package io.ruvector.sparse.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ruvector.sparse.generation.ChatMessage;
import io.ruvector.sparse.generation.GenerationOptions;
import io.ruvector.sparse.sampling.SamplerConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A checked {@code /v1/chat/completions} or {@code /v1/completions} request: the prompt as tokens, what to
 * generate, and how to answer. Every field is checked here, before anything is queued, so a bad request is a 400
 * naming its field.
 *
 * @param chat         a chat completion (else a text completion)
 * @param prompt       the prompt tokens, BOS included where the model wants it
 * @param options      sampling, token limit and stop strings
 * @param stream       answer as server-sent events
 * @param includeUsage with {@code stream}: a last event with the token counts
 */
record GenerationRequest(boolean chat, int[] prompt, GenerationOptions options, boolean stream, boolean includeUsage) {

    /** OpenAI's limit is 4 stop sequences; llama.cpp takes any number. Enough for both, and bounded. */
    static final int MAX_STOPS = 16;

    static GenerationRequest chat(Json.Body body, ServedModel model) {
        List<ChatMessage> messages = messages(body);
        String rendered;
        try {
            rendered = model.renderChat(messages);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("messages", "the chat template rejects these messages: " + e.getMessage());
        }
        int[] prompt = model.encode(rendered, true, true);
        List<String> stops = new ArrayList<>(stops(body));
        if (!model.hasChatTemplate()) stops.addAll(ServedModel.FALLBACK_STOPS);
        return build(true, body, model, prompt, "messages", stops);
    }

    static GenerationRequest completion(Json.Body body, ServedModel model) {
        if (Boolean.TRUE.equals(body.bool("echo"))) throw ApiError.badRequest("echo", "'echo' is not supported");
        body.integer("best_of", 1, 1);
        if (body.has("suffix")) throw ApiError.badRequest("suffix", "'suffix' is not supported");
        int[] prompt = completionPrompt(body, model);
        return build(false, body, model, prompt, "prompt", stops(body));
    }

    private static GenerationRequest build(boolean chat, Json.Body body, ServedModel model, int[] prompt,
                                           String promptField, List<String> stops) {
        body.string("model");   // any name: the server serves one model, as llama.cpp's does
        Long n = body.integer("n", Long.MIN_VALUE, Long.MAX_VALUE);
        if (n != null && n != 1) throw ApiError.badRequest("n", "'n' must be 1 (one choice per request), not " + n);
        // Chat requests say logprobs: true/false (top_logprobs: N); text completions logprobs: N.
        if (chat ? Boolean.TRUE.equals(body.bool("logprobs")) || body.has("top_logprobs") : body.has("logprobs")) {
            throw ApiError.badRequest("logprobs", "'logprobs' is not supported");
        }
        if (body.has("tools")) {
            JsonNode tools = body.get("tools");
            if (!tools.isArray()) throw body.wrongType("tools", "an array", tools);
            if (!tools.isEmpty()) throw ApiError.badRequest("tools", "'tools' are not supported: this server generates text only");
        }
        Json.Body format = body.object("response_format");
        if (format != null) {
            String type = format.string("type");
            if (type != null && !type.equals("text")) {
                throw ApiError.badRequest("response_format.type", "'response_format.type' " + type + " is not supported; only text");
            }
        }

        int context = model.contextLength();
        if (prompt.length >= context) {
            throw ApiError.contextExceeded(promptField, "the prompt is " + prompt.length + " tokens and the context holds "
                    + context + " (the prompt must leave room for at least one generated token)");
        }
        String maxField = body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        Long max = body.integer(maxField, 1, context);
        int maxTokens = max != null ? (int) (long) max : GenerationOptions.UNLIMITED;

        SamplerConfig sampling = sampling(body, model);
        boolean stream = Boolean.TRUE.equals(body.bool("stream"));
        Json.Body streamOptions = body.object("stream_options");
        boolean includeUsage = false;
        if (streamOptions != null) {
            if (!stream) throw ApiError.badRequest("stream_options", "'stream_options' is only allowed with 'stream': true");
            includeUsage = Boolean.TRUE.equals(streamOptions.bool("include_usage"));
        }
        List<String> nonEmpty = stops.stream().filter(s -> !s.isEmpty()).toList();
        return new GenerationRequest(chat, prompt, new GenerationOptions(sampling, maxTokens, nonEmpty), stream, includeUsage);
    }

    private static SamplerConfig sampling(Json.Body body, ServedModel model) {
        Double temperature = body.number("temperature", 0, 2);
        Double topP = body.number("top_p", 0, 1);
        if (topP != null && topP == 0) throw ApiError.badRequest("top_p", "'top_p' must be in (0, 1], not 0");
        Long topK = body.integer("top_k", 0, Integer.MAX_VALUE);
        Double minP = body.number("min_p", 0, 1);
        Double presence = body.number("presence_penalty", -2, 2);
        Double frequency = body.number("frequency_penalty", -2, 2);
        Double repeat = body.number("repeat_penalty", 0, 10);
        if (repeat != null && repeat == 0) throw ApiError.badRequest("repeat_penalty", "'repeat_penalty' must be > 0 (1 = off), not 0");
        Long seed = body.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE);
        return new SamplerConfig(
                temperature != null ? temperature.floatValue() : SamplerConfig.DEFAULT_TEMPERATURE,
                topK != null ? (int) (long) topK : SamplerConfig.DEFAULT_TOP_K,
                topP != null ? topP.floatValue() : SamplerConfig.DEFAULT_TOP_P,
                minP != null ? minP.floatValue() : SamplerConfig.DEFAULT_MIN_P,
                repeat != null ? repeat.floatValue() : 1f,
                SamplerConfig.DEFAULT_REPEAT_LAST_N,
                frequency != null ? frequency.floatValue() : 0f,
                presence != null ? presence.floatValue() : 0f,
                seed != null ? seed : ThreadLocalRandom.current().nextLong() & 0xFFFF_FFFFL);
    }

    private static List<String> stops(Json.Body body) {
        return body.strings("stop", MAX_STOPS);
    }

    private static List<ChatMessage> messages(Json.Body body) {
        JsonNode node = body.get("messages");
        if (node == null) throw ApiError.badRequest("messages", "'messages' is required");
        if (!node.isArray()) throw body.wrongType("messages", "an array of messages", node);
        if (node.isEmpty()) throw ApiError.badRequest("messages", "'messages' must hold at least one message");
        List<ChatMessage> out = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            String name = "messages[" + i + "]";
            JsonNode m = node.get(i);
            if (!m.isObject()) throw ApiError.badRequest(name, "'" + name + "' must be an object, not " + Json.kind(m));
            Json.Body message = new Json.Body((ObjectNode) m, name + ".");
            String role = message.string("role");
            if (role == null) throw ApiError.badRequest(name + ".role", "'" + name + ".role' is required");
            role = role.toLowerCase(Locale.ROOT);
            if (role.equals("developer")) role = "system";   // OpenAI's newer name for the system message
            if (!role.equals("system") && !role.equals("user") && !role.equals("assistant")) {
                throw ApiError.badRequest(name + ".role", "'" + name + ".role' must be system, developer, user or assistant, not '" + role + "'");
            }
            out.add(new ChatMessage(role, content(message, name + ".content")));
        }
        return out;
    }

    /** A message's text: a string, or an array of text parts (joined); other part types are refused. */
    private static String content(Json.Body message, String name) {
        JsonNode c = message.get("content");
        if (c == null) return "";
        if (c.isTextual()) return c.textValue();
        if (!c.isArray()) throw message.wrongType("content", "a string or an array of content parts", c);
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < c.size(); j++) {
            String partName = name + "[" + j + "]";
            JsonNode part = c.get(j);
            if (!part.isObject()) throw ApiError.badRequest(partName, "'" + partName + "' must be an object, not " + Json.kind(part));
            Json.Body p = new Json.Body((ObjectNode) part, partName + ".");
            String type = p.string("type");
            if (!"text".equals(type)) {
                throw ApiError.badRequest(partName + ".type", "'" + partName + ".type' must be text (this model reads text only), not "
                        + (type == null ? "missing" : "'" + type + "'"));
            }
            String t = p.string("text");
            if (t == null) throw ApiError.badRequest(partName + ".text", "'" + partName + ".text' is required");
            text.append(t);
        }
        return text.toString();
    }

    /** A completion prompt: a string, an array of one string, or an array of token ids. */
    private static int[] completionPrompt(Json.Body body, ServedModel model) {
        JsonNode p = body.get("prompt");
        if (p == null) throw ApiError.badRequest("prompt", "'prompt' is required");
        if (p.isTextual()) return promptTokens(p.textValue(), model);
        if (!p.isArray()) throw body.wrongType("prompt", "a string or an array of token ids", p);
        if (p.size() == 1 && p.get(0).isTextual()) return promptTokens(p.get(0).textValue(), model);
        if (p.isEmpty()) throw ApiError.badRequest("prompt", "'prompt' has no tokens");
        int vocab = model.vocabSize();
        int[] tokens = new int[p.size()];
        for (int i = 0; i < tokens.length; i++) {
            JsonNode t = p.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.intValue() < 0 || t.intValue() >= vocab) {
                throw ApiError.badRequest("prompt", "'prompt[" + i + "]' must be a token id in [0, " + vocab + "), not "
                        + (t.isNumber() ? t.asText() : Json.kind(t)) + " (a prompt is a string or an array of token ids;"
                        + " several prompts per request are not supported)");
            }
            tokens[i] = t.intValue();
        }
        return tokens;
    }

    private static int[] promptTokens(String text, ServedModel model) {
        int[] tokens = model.encode(text, true, true);
        if (tokens.length == 0) throw ApiError.badRequest("prompt", "'prompt' is empty and the model has no start token to begin from");
        return tokens;
    }
}
