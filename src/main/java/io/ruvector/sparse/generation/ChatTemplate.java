package io.ruvector.sparse.generation;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.tokenizer.Tokenizer;

import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model's chat template ({@code tokenizer.chat_template}, Jinja) that turns a conversation into the
 * prompt text the model was trained on.
 *
 * <p>Rendered with Jinjava the way Hugging Face renders it ({@code trim_blocks} and {@code lstrip_blocks}
 * on), with the variables {@code messages}, {@code add_generation_prompt}, {@code bos_token} and
 * {@code eos_token} (and any a caller adds with {@link #withVariable}, such as Qwen3's {@code enable_thinking}),
 * the functions {@code raise_exception(msg)} and {@code strftime_now(fmt)}, and {@code tojson} as Python's
 * {@code json.dumps}. The Python string methods templates call are mapped to their Java twins
 * ({@code startswith}, {@code upper}, ...) or to filters that behave as Python does ({@code split}, {@code strip},
 * {@code lstrip}, {@code rstrip} with or without characters), and the reversing slice {@code [::-1]} to
 * {@code reverse}. Models without a template can use {@link #fallback()}.
 */
public final class ChatTemplate {

    /** A plain transcript for models that carry no template: "User: ...", "Assistant: ...". */
    private static final String FALLBACK = """
            {% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] }}

            {% elif message['role'] == 'user' %}User: {{ message['content'] }}
            {% else %}Assistant: {{ message['content'] }}
            {% endif %}{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}""";

    /** Python string methods and the Java methods that do the same. */
    private static final Map<String, String> PYTHON_METHODS = Map.of(
            ".startswith(", ".startsWith(",
            ".endswith(", ".endsWith(",
            ".upper()", ".toUpperCase()",
            ".lower()", ".toLowerCase()");
    /** Python string methods whose Java namesakes differ (or are missing): called as the filter {@code py_<name>}. */
    private static final List<String> PYTHON_FILTER_METHODS = List.of("split", "strip", "lstrip", "rstrip");
    private static final Pattern STRIP_BEFORE_EXPRESSION = Pattern.compile("\\s*\\{\\{-");
    private static final Pattern STRIP_AFTER_EXPRESSION = Pattern.compile("-}}\\s*");
    private static final Pattern TAG = Pattern.compile("\\{[{%].*?[%}]}", Pattern.DOTALL);
    /** Guards against templates that would produce runaway output. */
    private static final long MAX_OUTPUT_CHARS = 16L << 20;

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final boolean isFallback;
    private final Map<String, Object> variables;
    private final Jinjava jinjava;

    private ChatTemplate(String source, String bosToken, String eosToken, boolean isFallback, Map<String, Object> variables) {
        this.source = source;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.isFallback = isFallback;
        this.variables = Map.copyOf(variables);
        // Jinjava logs through SLF4J; without a provider SLF4J would print a warning on first use.
        if (System.getProperty("slf4j.internal.verbosity") == null) System.setProperty("slf4j.internal.verbosity", "ERROR");
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                ChatTemplate.class, "strftimeNow", String.class));
        for (Filter f : PythonStrings.FILTERS) jinjava.getGlobalContext().registerFilter(f);
    }

    /**
     * This template with one more variable for the template to read, e.g. {@code enable_thinking = false} for
     * Qwen3 (an empty think block then opens the reply).
     */
    public ChatTemplate withVariable(String name, Object value) {
        if (name == null || name.isBlank() || value == null) throw new IllegalArgumentException("template variable needs a name and a value");
        Map<String, Object> more = new HashMap<>(variables);
        more.put(name, value);
        return new ChatTemplate(source, bosToken, eosToken, isFallback, more);
    }

    /** The variables added with {@link #withVariable}. */
    public Map<String, Object> variables() { return variables; }

    /**
     * A template from its Jinja source.
     *
     * @param bosToken the text of the model's BOS token ({@code bos_token} in the template), may be empty
     * @param eosToken the text of the model's EOS token ({@code eos_token}), may be empty
     */
    public static ChatTemplate of(String source, String bosToken, String eosToken) {
        if (source == null || source.isBlank()) throw new IllegalArgumentException("chat template is empty");
        return new ChatTemplate(source, bosToken, eosToken, false, Map.of());
    }

    /**
     * The template a GGUF file carries in {@code tokenizer.chat_template}, with {@code bos_token} and
     * {@code eos_token} taken from its tokenizer; empty when the file has none.
     */
    public static Optional<ChatTemplate> fromGguf(GgufFile gguf, Tokenizer tokenizer) {
        String source = gguf.getString("tokenizer.chat_template", null);
        if (source == null || source.isBlank()) return Optional.empty();
        return Optional.of(of(source, tokenText(tokenizer, tokenizer.bosId()), tokenText(tokenizer, tokenizer.eosId())));
    }

    private static String tokenText(Tokenizer tokenizer, int id) {
        return id == Tokenizer.NO_TOKEN ? "" : tokenizer.tokenText(id);
    }

    /** The plain "User: / Assistant:" transcript used for models without a template. */
    public static ChatTemplate fallback() {
        return new ChatTemplate(FALLBACK, "", "", true, Map.of());
    }

    /** True for {@link #fallback()}. */
    public boolean isFallback() { return isFallback; }

    /** The Jinja source. */
    public String source() { return source; }

    /**
     * Renders a conversation.
     *
     * @param addGenerationPrompt end with the start of an assistant turn, for the model to continue
     * @throws IllegalArgumentException when the template fails (e.g. it calls {@code raise_exception}
     *                                  because the roles do not alternate), with its message
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) list.add(Map.of("role", m.role(), "content", m.content()));
        Map<String, Object> context = new HashMap<>(variables);
        context.put("messages", list);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result = jinjava.renderForResult(javaMethods(source), context);
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                for (Throwable c = e.getException(); c != null; c = c.getCause()) {
                    if (c instanceof RaisedByTemplate raised) {
                        throw new IllegalArgumentException("the chat template rejects the conversation: " + raised.getMessage());
                    }
                }
                throw new IllegalArgumentException("chat template failed at line " + e.getLineno() + ": " + e.getMessage());
            }
        }
        return result.getOutput();
    }

    /**
     * Rewrites the Python used inside tags into what Jinjava runs: string methods to their Java names or to
     * {@link PythonStrings} filters ({@code x.split(a)} becomes {@code (x|py_split(a))}), {@code x[::-1]} to
     * {@code (x|reverse)}.
     */
    static String javaMethods(String template) {
        // Jinjava honours {%- and -%} but prints the whitespace around {{- and -}}: it is removed here instead
        template = STRIP_BEFORE_EXPRESSION.matcher(template).replaceAll("{{");
        template = STRIP_AFTER_EXPRESSION.matcher(template).replaceAll("}}");
        Matcher m = TAG.matcher(template);
        StringBuilder out = new StringBuilder(template.length());
        while (m.find()) {
            String tag = m.group();
            for (var e : PYTHON_METHODS.entrySet()) tag = tag.replace(e.getKey(), e.getValue());
            for (String method : PYTHON_FILTER_METHODS) tag = methodToFilter(tag, "." + method + "(", "py_" + method);
            tag = reversingSlices(tag);
            tag = namespaceValuesParenthesized(tag);
            m.appendReplacement(out, Matcher.quoteReplacement(tag));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** {@code receiver.name(args)} becomes {@code (receiver|filter(args))}, outside string literals, until none is left. */
    private static String methodToFilter(String tag, String call, String filter) {
        for (int at = find(tag, call, 0); at >= 0; at = find(tag, call, 0)) {
            int start = receiverStart(tag, at);
            int open = at + call.length() - 1;
            int close = matchingClose(tag, open);
            if (start == at || close < 0) return tag;   // not a method call we understand: left for Jinjava to report
            tag = tag.substring(0, start) + "(" + tag.substring(start, at) + "|" + filter + "("
                    + tag.substring(open + 1, close) + "))" + tag.substring(close + 1);
        }
        return tag;
    }

    /**
     * {@code namespace(a=x|length - 1)}: Jinjava would take {@code a=x|length} as the argument and subtract 1 from
     * it, so every keyword value is parenthesized, {@code namespace(a=(x|length - 1))}.
     */
    private static String namespaceValuesParenthesized(String tag) {
        String call = "namespace(";
        for (int at = find(tag, call, 0); at >= 0; at = find(tag, call, at + 1)) {
            int open = at + call.length() - 1;
            int close = matchingClose(tag, open);
            if (close < 0) return tag;
            StringBuilder args = new StringBuilder();
            int from = open + 1;
            for (int comma : topLevelCommas(tag, open, close)) {
                args.append(keywordValueParenthesized(tag.substring(from, comma))).append(',');
                from = comma + 1;
            }
            args.append(keywordValueParenthesized(tag.substring(from, close)));
            tag = tag.substring(0, open + 1) + args + tag.substring(close);
        }
        return tag;
    }

    private static final Pattern KEYWORD = Pattern.compile("(\\s*[A-Za-z_][A-Za-z0-9_]*\\s*=)(?!=)(.*)", Pattern.DOTALL);

    private static String keywordValueParenthesized(String arg) {
        Matcher m = KEYWORD.matcher(arg);
        return m.matches() ? m.group(1) + "(" + m.group(2) + ")" : arg;
    }

    /** Positions of the commas directly inside the brackets at {@code open .. close}. */
    private static List<Integer> topLevelCommas(String s, int open, int close) {
        List<Integer> commas = new ArrayList<>();
        int depth = 0;
        char quote = 0;
        for (int i = open + 1; i < close; i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                commas.add(i);
            }
        }
        return commas;
    }

    private static String reversingSlices(String tag) {
        for (int at = find(tag, "[::-1]", 0); at >= 0; at = find(tag, "[::-1]", 0)) {
            int start = receiverStart(tag, at);
            if (start == at) return tag;
            tag = tag.substring(0, start) + "(" + tag.substring(start, at) + "|reverse)" + tag.substring(at + "[::-1]".length());
        }
        return tag;
    }

    /** The first {@code needle} at or after {@code from} outside string literals, or -1. */
    private static int find(String s, String needle, int from) {
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (i >= from && s.startsWith(needle, i)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Where the expression ending just before {@code end} begins: a chain of names, attribute accesses,
     * subscripts and calls ({@code messages[0].content}, {@code (x|f(a))[-1]}) or a string literal.
     */
    private static int receiverStart(String s, int end) {
        int i = end;
        while (i > 0) {
            char c = s.charAt(i - 1);
            if (c == ')' || c == ']') {
                int open = matchingOpen(s, i - 1);
                if (open < 0) return end;
                i = open;
            } else if (c == '\'' || c == '"') {
                int open = s.lastIndexOf(c, i - 2);
                return open < 0 ? end : open;
            } else if (Character.isLetterOrDigit(c) || c == '_') {
                while (i > 0 && (Character.isLetterOrDigit(s.charAt(i - 1)) || s.charAt(i - 1) == '_')) i--;
                if (i > 0 && s.charAt(i - 1) == '.') i--;
                else return i;
            } else {
                return i;
            }
        }
        return i;
    }

    /** The bracket opening the one closed at {@code close}, skipping string literals; -1 if unbalanced. */
    private static int matchingOpen(String s, int close) {
        int depth = 0;
        for (int i = close; i >= 0; i--) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = s.lastIndexOf(c, i - 1);
                if (i < 0) return -1;
            } else if (c == ')' || c == ']') {
                depth++;
            } else if ((c == '(' || c == '[') && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    /** The bracket closing the one opened at {@code open}, skipping string literals; -1 if unbalanced. */
    private static int matchingClose(String s, int open) {
        int depth = 0;
        char quote = 0;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[') {
                depth++;
            } else if ((c == ')' || c == ']') && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    /** {@code raise_exception(message)}: templates call it to reject a conversation. */
    public static String raiseException(String message) {
        throw new RaisedByTemplate(message);
    }

    /** What {@code raise_exception} throws, told apart from Jinjava's own errors. */
    private static final class RaisedByTemplate extends RuntimeException {
        RaisedByTemplate(String message) { super(message, null, false, false); }
    }

    /** {@code strftime_now(format)}: today's date, with the common strftime fields. */
    public static String strftimeNow(String format) {
        LocalDate today = LocalDate.now();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char f = format.charAt(++i);
            out.append(switch (f) {
                case 'd' -> String.format("%02d", today.getDayOfMonth());
                case 'm' -> String.format("%02d", today.getMonthValue());
                case 'Y' -> String.valueOf(today.getYear());
                case 'y' -> String.format("%02d", today.getYear() % 100);
                case 'b' -> today.format(DateTimeFormatter.ofPattern("MMM", Locale.ENGLISH));
                case 'B' -> today.format(DateTimeFormatter.ofPattern("MMMM", Locale.ENGLISH));
                case 'a' -> today.format(DateTimeFormatter.ofPattern("EEE", Locale.ENGLISH));
                case 'A' -> today.format(DateTimeFormatter.ofPattern("EEEE", Locale.ENGLISH));
                case '%' -> "%";
                default -> "%" + f;
            });
        }
        return out.toString();
    }
}
