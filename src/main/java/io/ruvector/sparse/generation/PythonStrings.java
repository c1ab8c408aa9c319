package io.ruvector.sparse.generation;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The Python behaviour chat templates rely on that Jinjava lacks, as filters the template rewriter
 * ({@link ChatTemplate#javaMethods}) calls: {@code str.split}, {@code str.strip} / {@code lstrip} / {@code rstrip}
 * with or without the characters to strip, and {@code tojson} as Hugging Face renders it (Python's
 * {@code json.dumps}: ", " and ": " separators, non-ASCII kept).
 */
final class PythonStrings {

    private PythonStrings() {}

    static final List<Filter> FILTERS = List.of(
            filter("py_split", (s, args) -> split(s, arg(args, 0))),
            filter("py_strip", (s, args) -> rstrip(lstrip(s, arg(args, 0)), arg(args, 0))),
            filter("py_lstrip", (s, args) -> lstrip(s, arg(args, 0))),
            filter("py_rstrip", (s, args) -> rstrip(s, arg(args, 0))),
            new Filter() {
                @Override
                public String getName() { return "tojson"; }

                @Override
                public Object filter(Object var, JinjavaInterpreter interpreter, String... args) { return toJson(var); }

                @Override
                public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
                    return toJson(var);
                }
            });

    private interface StringFunction {
        Object apply(String s, Object[] args);
    }

    private static Filter filter(String name, StringFunction f) {
        return new Filter() {
            @Override
            public String getName() { return name; }

            @Override
            public Object filter(Object var, JinjavaInterpreter interpreter, String... args) { return f.apply(text(var), args); }

            @Override
            public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
                return f.apply(text(var), args);
            }
        };
    }

    private static String text(Object var) { return var == null ? "" : var.toString(); }

    /** The i-th argument as a string, or null when absent or None (Python's "no argument"). */
    private static String arg(Object[] args, int i) {
        return args == null || args.length <= i || args[i] == null ? null : args[i].toString();
    }

    /** Python's {@code s.split(sep)}: every piece, the empty ones at the ends too; no sep splits on whitespace runs. */
    static List<String> split(String s, String sep) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            for (String p : s.strip().split("\\s+")) if (!p.isEmpty()) out.add(p);
            return out;
        }
        if (sep.isEmpty()) throw new IllegalArgumentException("empty separator");
        int from = 0;
        for (int at; (at = s.indexOf(sep, from)) >= 0; from = at + sep.length()) out.add(s.substring(from, at));
        out.add(s.substring(from));
        return out;
    }

    /** Python's {@code s.lstrip(chars)}: leading characters in {@code chars} removed (whitespace when null). */
    static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strips(s.charAt(i), chars)) i++;
        return s.substring(i);
    }

    static String rstrip(String s, String chars) {
        int i = s.length();
        while (i > 0 && strips(s.charAt(i - 1), chars)) i--;
        return s.substring(0, i);
    }

    private static boolean strips(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
    }

    /** Python's {@code json.dumps(x, ensure_ascii=False)}. */
    static String toJson(Object v) {
        StringBuilder out = new StringBuilder();
        json(v, out);
        return out.toString();
    }

    private static void json(Object v, StringBuilder out) {
        switch (v) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case Number n -> out.append(n);
            case Map<?, ?> m -> {
                out.append('{');
                boolean first = true;
                for (var e : m.entrySet()) {
                    if (!first) out.append(", ");
                    first = false;
                    string(String.valueOf(e.getKey()), out);
                    out.append(": ");
                    json(e.getValue(), out);
                }
                out.append('}');
            }
            case Collection<?> c -> {
                out.append('[');
                boolean first = true;
                for (Object o : c) {
                    if (!first) out.append(", ");
                    first = false;
                    json(o, out);
                }
                out.append(']');
            }
            default -> string(v.toString(), out);
        }
    }

    private static void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
            }
        }
        out.append('"');
    }
}
