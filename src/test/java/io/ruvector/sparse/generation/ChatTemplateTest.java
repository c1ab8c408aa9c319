package io.ruvector.sparse.generation;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chat templates in the styles models ship, rendered as Python's Jinja2 renders them. */
class ChatTemplateTest {

    private static final Map<String, List<ChatMessage>> CONVERSATIONS = Map.of(
            "four", List.of(ChatMessage.system("You are terse."), ChatMessage.user("Hi there"),
                    ChatMessage.assistant(" Hello! "), ChatMessage.user("Why is the sky blue?")),
            "three", List.of(ChatMessage.user("!  shout"), ChatMessage.assistant("ok?  "), ChatMessage.user("Ünïcode ✓")));

    private static String resource(String name) throws IOException {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("chat-templates/" + name)) {
            if (in == null) throw new IOException("missing test resource " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String unescape(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char n = s.charAt(++i);
            out.append(switch (n) {
                case 'n' -> '\n';
                case 't' -> '\t';
                default -> n;
            });
        }
        return out.toString();
    }

    @Test
    void rendersLikeJinja2() throws IOException {
        int cases = 0;
        for (String line : resource("rendered-by-jinja2.tsv").split("\n")) {
            if (line.startsWith("#") || line.isBlank()) continue;
            String[] f = line.split("\t", -1);
            ChatTemplate t = ChatTemplate.of(resource(f[0] + ".jinja"), "<s>", "</s>");
            String got = t.render(CONVERSATIONS.get(f[1]), Boolean.parseBoolean(f[2]));
            assertEquals(unescape(f[3]), got, f[0] + " / " + f[1] + " / add_generation_prompt=" + f[2]);
            cases++;
        }
        assertEquals(20, cases);
    }

    @Test
    void raiseExceptionRejectsTheConversationWithTheTemplatesMessage() throws IOException {
        ChatTemplate llama2 = ChatTemplate.of(resource("llama2.jinja"), "<s>", "</s>");
        var e = assertThrows(IllegalArgumentException.class,
                () -> llama2.render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true));
        assertTrue(e.getMessage().contains("must alternate"), e.getMessage());
    }

    @Test
    void aBrokenTemplateIsReportedNotRenderedHalfway() {
        ChatTemplate t = ChatTemplate.of("{{ messages[0].content.nosuchmethod() }}", "", "");
        assertThrows(IllegalArgumentException.class, () -> t.render(List.of(ChatMessage.user("x")), true));
        assertThrows(IllegalArgumentException.class, () -> ChatTemplate.of(" ", "", ""));
    }

    @Test
    void fallbackIsAPlainTranscript() {
        ChatTemplate f = ChatTemplate.fallback();
        assertTrue(f.isFallback());
        assertFalse(ChatTemplate.of("x", "", "").isFallback());
        assertEquals("Be brief.\n\nUser: Hi\nAssistant: Hello\nUser: Bye\nAssistant:",
                f.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant("Hello"),
                        ChatMessage.user("Bye")), true));
    }

    @Test
    void pythonMethodsAreRewrittenOnlyInsideTags() {
        assertEquals("a.upper() {{ x.toUpperCase() }} {% if y.startsWith('z') %}",
                ChatTemplate.javaMethods("a.upper() {{ x.upper() }} {% if y.startswith('z') %}"));
        assertTrue(ChatTemplate.strftimeNow("%d %b %Y").matches("\\d\\d [A-Z][a-z]{2} \\d{4}"));
    }
}
