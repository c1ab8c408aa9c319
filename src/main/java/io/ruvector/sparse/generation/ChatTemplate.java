package io.ruvector.sparse.generation;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
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
 * {@code eos_token}, and the functions {@code raise_exception(msg)} and {@code strftime_now(fmt)}. The
 * Python string methods templates call ({@code startswith}, {@code upper}, {@code lstrip}, ...) are mapped
 * to their Java twins. Models without a template can use {@link #fallback()}.
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
            ".lower()", ".toLowerCase()",
            ".lstrip()", ".stripLeading()",
            ".rstrip()", ".stripTrailing()");
    private static final Pattern TAG = Pattern.compile("\\{[{%].*?[%}]}", Pattern.DOTALL);
    /** Guards against templates that would produce runaway output. */
    private static final long MAX_OUTPUT_CHARS = 16L << 20;

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final boolean isFallback;
    private final Jinjava jinjava;

    private ChatTemplate(String source, String bosToken, String eosToken, boolean isFallback) {
        this.source = source;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.isFallback = isFallback;
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
    }

    /**
     * A template from its Jinja source.
     *
     * @param bosToken the text of the model's BOS token ({@code bos_token} in the template), may be empty
     * @param eosToken the text of the model's EOS token ({@code eos_token}), may be empty
     */
    public static ChatTemplate of(String source, String bosToken, String eosToken) {
        if (source == null || source.isBlank()) throw new IllegalArgumentException("chat template is empty");
        return new ChatTemplate(source, bosToken, eosToken, false);
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
        return new ChatTemplate(FALLBACK, "", "", true);
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
        Map<String, Object> context = new HashMap<>();
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

    /** Rewrites the Python string methods used inside tags to their Java names. */
    static String javaMethods(String template) {
        Matcher m = TAG.matcher(template);
        StringBuilder out = new StringBuilder(template.length());
        while (m.find()) {
            String tag = m.group();
            for (var e : PYTHON_METHODS.entrySet()) tag = tag.replace(e.getKey(), e.getValue());
            m.appendReplacement(out, Matcher.quoteReplacement(tag));
        }
        m.appendTail(out);
        return out.toString();
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
