package io.ruvector.sparse.generation;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chat templates of Qwen3, Gemma 2, Phi-3.5 and Phi-4-mini, as their GGUF files carry them, rendered
 * into the prompt formats their model cards document. The expected texts are written here from those formats.
 *
 * <p>Sources of the template resources (test data only): {@code qwen3.jinja}, {@code gemma2.jinja},
 * {@code phi3.5.jinja} and {@code phi4-mini.jinja} are llama.cpp's {@code models/templates/Qwen-Qwen3-0.6B.jinja},
 * {@code google-gemma-2-2b-it.jinja}, {@code microsoft-Phi-3.5-mini-instruct.jinja} and
 * {@code llama-cpp-microsoft-Phi-4-mini-instruct.jinja} (github.com/ggml-org/llama.cpp, MIT licence). Gemma 3's
 * template (not in that folder, and under Google's own terms) is left out: it differs from Gemma 2's in where the
 * system message goes, which the Gemma 2 and Phi tests' features already cover.
 */
class ModelFamilyChatTemplatesTest {

    private static final List<ChatMessage> WITH_SYSTEM = List.of(ChatMessage.system("You are terse."),
            ChatMessage.user("Hi there"), ChatMessage.assistant(" Hello! "), ChatMessage.user("Why is the sky blue?"));
    private static final List<ChatMessage> WITHOUT_SYSTEM = List.of(ChatMessage.user("!  shout"),
            ChatMessage.assistant("ok?  "), ChatMessage.user("Ünïcode ✓"));

    private static ChatTemplate template(String name, String bos, String eos) throws IOException {
        try (InputStream in = ModelFamilyChatTemplatesTest.class.getResourceAsStream("chat-templates/" + name + ".jinja")) {
            if (in == null) throw new IOException("missing test resource " + name);
            return ChatTemplate.of(new String(in.readAllBytes(), StandardCharsets.UTF_8), bos, eos);
        }
    }

    /** ChatML turns; the reasoning of earlier turns is dropped, the last reply's kept; an empty think block when asked. */
    @Test
    void qwen3() throws IOException {
        ChatTemplate t = template("qwen3", "", "<|im_end|>");
        assertEquals("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                + "<|im_start|>assistant\n Hello! <|im_end|>\n<|im_start|>user\nWhy is the sky blue?<|im_end|>\n"
                + "<|im_start|>assistant\n", t.render(WITH_SYSTEM, true));
        assertEquals("<|im_start|>user\n!  shout<|im_end|>\n<|im_start|>assistant\nok?  <|im_end|>\n"
                + "<|im_start|>user\nÜnïcode ✓<|im_end|>\n", t.render(WITHOUT_SYSTEM, false));

        List<ChatMessage> thought = List.of(ChatMessage.user("2+2?"), ChatMessage.assistant("<think>\nadd them\n</think>\n\n4"),
                ChatMessage.user("and 3+3?"));
        ChatTemplate noThinking = t.withVariable("enable_thinking", false);
        assertEquals("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
                + "<|im_start|>user\nand 3+3?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
                noThinking.render(thought, true));
        assertEquals("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
                + "<|im_start|>user\nand 3+3?<|im_end|>\n<|im_start|>assistant\n",
                t.withVariable("enable_thinking", true).render(thought, true), "enable_thinking true adds nothing");
        assertEquals("<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nadd them\n</think>\n\n4<|im_end|>\n",
                t.render(thought.subList(0, 2), false), "the reply after the last question keeps its reasoning");

        // A tool response is not a question: the reply before it is after the last query and keeps its reasoning.
        List<ChatMessage> tool = List.of(ChatMessage.user("q"), ChatMessage.assistant("<think>\nr\n</think>\n\na"),
                ChatMessage.user("<tool_response>x</tool_response>"));
        assertEquals("<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\na<|im_end|>\n"
                + "<|im_start|>user\n<tool_response>x</tool_response><|im_end|>\n", t.render(tool, false));
    }

    /** Turns of user and model, contents trimmed; no system role; roles must alternate. */
    @Test
    void gemma2() throws IOException {
        ChatTemplate t = template("gemma2", "<bos>", "<eos>");
        assertEquals("<bos><start_of_turn>user\n!  shout<end_of_turn>\n<start_of_turn>model\nok?<end_of_turn>\n"
                + "<start_of_turn>user\nÜnïcode ✓<end_of_turn>\n<start_of_turn>model\n", t.render(WITHOUT_SYSTEM, true));
        assertEquals("<bos><start_of_turn>user\n!  shout<end_of_turn>\n<start_of_turn>model\nok?<end_of_turn>\n"
                + "<start_of_turn>user\nÜnïcode ✓<end_of_turn>\n", t.render(WITHOUT_SYSTEM, false));
        var system = assertThrows(IllegalArgumentException.class, () -> t.render(WITH_SYSTEM, true));
        assertTrue(system.getMessage().contains("System role not supported"), system.getMessage());
        var order = assertThrows(IllegalArgumentException.class,
                () -> t.render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true));
        assertTrue(order.getMessage().contains("must alternate"), order.getMessage());
    }

    /** Phi-3.5: a tag line per turn, each closed by end; the end-of-text token closes a finished conversation. */
    @Test
    void phi3() throws IOException {
        ChatTemplate t = template("phi3.5", "<s>", "<|endoftext|>");
        assertEquals("<|system|>\nYou are terse.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\n Hello! <|end|>\n"
                + "<|user|>\nWhy is the sky blue?<|end|>\n<|assistant|>\n", t.render(WITH_SYSTEM, true));
        assertEquals("<|user|>\n!  shout<|end|>\n<|assistant|>\nok?  <|end|>\n<|user|>\nÜnïcode ✓<|end|>\n<|endoftext|>",
                t.render(WITHOUT_SYSTEM, false));
    }

    /** Phi-4-mini: the same tags without newlines, the system message first. */
    @Test
    void phi4Mini() throws IOException {
        ChatTemplate t = template("phi4-mini", "", "<|endoftext|>");
        assertEquals("<|system|>You are terse.<|end|><|user|>Hi there<|end|><|assistant|> Hello! <|end|>"
                + "<|user|>Why is the sky blue?<|end|><|assistant|>", t.render(WITH_SYSTEM, true));
        assertEquals("<|user|>!  shout<|end|><|assistant|>ok?  <|end|><|user|>Ünïcode ✓<|end|><|endoftext|>",
                t.render(WITHOUT_SYSTEM, false));
    }

    @Test
    void pythonStringMethodsBehaveAsInPython() {
        ChatTemplate t = ChatTemplate.of("{% set c = messages[0].content %}[{{ c.split('</think>')[-1].lstrip('\\n') }}]"
                + "[{{ c.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}][{{ c.strip() }}]"
                + "[{{ 'a,,b,'.split(',')|length }}][{{ ' x  y '.split()|join('|') }}][{{ '--x-'.strip('-') }}]"
                + "{% for m in messages[::-1] %}{{ m.role }}{% endfor %}[{{ {'k': [1, 'é\"'], 'n': none} | tojson }}]", "", "");
        assertEquals("[4][add them][<think>\nadd them\n</think>\n\n4][4][x|y][x]assistantuser[{\"k\": [1, \"é\\\"\"], \"n\": null}]",
                t.render(List.of(ChatMessage.user(" <think>\nadd them\n</think>\n\n4 ".strip()), ChatMessage.assistant("x")), true));
    }
}
