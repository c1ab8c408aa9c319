package io.ruvector.sparse.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * JSON in and out: requests are read as trees and their fields checked one by one ({@link Body}), so a wrong type
 * or value is answered with a 400 that names the field; replies are built as trees and written compactly.
 */
final class Json {

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private Json() {}

    static ObjectNode object() { return MAPPER.createObjectNode(); }

    static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);   // a tree of our own always serializes
        }
    }

    static String string(JsonNode node) { return new String(bytes(node), StandardCharsets.UTF_8); }

    /** OpenAI's error body. */
    static ObjectNode error(ApiError e) {
        ObjectNode root = object();
        ObjectNode error = root.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type);
        if (e.param != null) error.put("param", e.param); else error.putNull("param");
        if (e.code != null) error.put("code", e.code); else error.putNull("code");
        return root;
    }

    /** Parses a request body that must be one JSON object. */
    static Body parseObject(byte[] body) {
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            String where = at != null && at.getLineNr() > 0 ? " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")" : "";
            throw ApiError.badRequest(null, "malformed JSON in the request body: " + firstLine(e.getOriginalMessage()) + where);
        } catch (IOException e) {
            throw ApiError.badRequest(null, "unreadable request body: " + e.getMessage());
        }
        if (node == null || node.isMissingNode()) throw ApiError.badRequest(null, "the request body is empty: a JSON object is expected");
        if (!node.isObject()) throw ApiError.badRequest(null, "the request body must be a JSON object, not " + kind(node));
        return new Body((ObjectNode) node, "");
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** "a string", "an array", ...: what a JSON value is, for messages. */
    static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> n.isIntegralNumber() ? "an integer" : "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> "a " + n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /**
     * A JSON object of a request with typed, checked access to its fields; {@code prefix} makes nested names such
     * as {@code messages[2].content} or {@code stream_options.include_usage}. An absent field and a JSON null are
     * the same: not given.
     */
    record Body(ObjectNode node, String prefix) {

        String name(String field) { return prefix + field; }

        boolean has(String field) {
            JsonNode n = node.get(field);
            return n != null && !n.isNull();
        }

        JsonNode get(String field) {
            JsonNode n = node.get(field);
            return n == null || n.isNull() ? null : n;
        }

        ApiError wrongType(String field, String expected, JsonNode got) {
            return ApiError.badRequest(name(field), "'" + name(field) + "' must be " + expected + ", not " + kind(got));
        }

        Boolean bool(String field) {
            JsonNode n = get(field);
            if (n == null) return null;
            if (!n.isBoolean()) throw wrongType(field, "a boolean", n);
            return n.booleanValue();
        }

        String string(String field) {
            JsonNode n = get(field);
            if (n == null) return null;
            if (!n.isTextual()) throw wrongType(field, "a string", n);
            return n.textValue();
        }

        /** An integer in [min, max], or null. */
        Long integer(String field, long min, long max) {
            JsonNode n = get(field);
            if (n == null) return null;
            long v;
            if (n.isIntegralNumber() && n.canConvertToLong()) v = n.longValue();
            else if (n.isFloatingPointNumber() && n.doubleValue() == Math.rint(n.doubleValue()) && Math.abs(n.doubleValue()) < 0x1p53) v = (long) n.doubleValue();
            else throw n.isNumber() ? ApiError.badRequest(name(field), "'" + name(field) + "' must be an integer, not " + n.asText())
                    : wrongType(field, "an integer", n);
            if (v < min || v > max) {
                throw ApiError.badRequest(name(field), "'" + name(field) + "' must be in [" + min + ", " + max + "], not " + v);
            }
            return v;
        }

        /** A finite number in [min, max], or null. */
        Double number(String field, double min, double max) {
            JsonNode n = get(field);
            if (n == null) return null;
            if (!n.isNumber()) throw wrongType(field, "a number", n);
            double v = n.doubleValue();
            if (!(v >= min && v <= max)) {
                throw ApiError.badRequest(name(field), "'" + name(field) + "' must be in [" + fmt(min) + ", " + fmt(max) + "], not " + n.asText());
            }
            return v;
        }

        Body object(String field) {
            JsonNode n = get(field);
            if (n == null) return null;
            if (!n.isObject()) throw wrongType(field, "an object", n);
            return new Body((ObjectNode) n, name(field) + ".");
        }

        /** A string or an array of strings, as a list (empty when not given). */
        List<String> strings(String field, int maxCount) {
            JsonNode n = get(field);
            List<String> out = new ArrayList<>();
            if (n == null) return out;
            if (n.isTextual()) {
                out.add(n.textValue());
            } else if (n.isArray()) {
                for (int i = 0; i < n.size(); i++) {
                    JsonNode e = n.get(i);
                    if (!e.isTextual()) {
                        throw ApiError.badRequest(name(field), "'" + name(field) + "[" + i + "]' must be a string, not " + kind(e));
                    }
                    out.add(e.textValue());
                }
            } else {
                throw wrongType(field, "a string or an array of strings", n);
            }
            if (out.size() > maxCount) {
                throw ApiError.badRequest(name(field), "'" + name(field) + "' has " + out.size() + " entries, at most " + maxCount + " are allowed");
            }
            return out;
        }

        private static String fmt(double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
        }
    }
}
