package io.ruvector.sparse.generation;

import io.ruvector.sparse.sampling.SamplerConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ChatTest {

    /** BOS=0, EOS=1, then: "U:"=2, "A:"=3, "hi"=4, "yo"=5, "\n"=6. */
    private static final FakeTokenText TEXT = FakeTokenText.of("U:", "A:", "hi", "yo", "\n");
    private static final String TEMPLATE =
            "{% for m in messages %}{{ 'U:' if m.role == 'user' else 'A:' }}{{ m.content }}\n{% endfor %}"
            + "{% if add_generation_prompt %}A:{% endif %}";

    /** Next token depends on the last one only: after "A:" comes "yo", after "yo" EOS, else "hi". */
    private static final class LastTokenModel implements LogitsSource {
        final List<Integer> held = new ArrayList<>();
        final List<Integer> callLengths = new ArrayList<>();
        final Map<Integer, Integer> next = Map.of(3, 5, 5, 1);
        final float[] logits = new float[7];

        @Override
        public float[] evaluate(int[] tokens) {
            callLengths.add(tokens.length);
            for (int t : tokens) held.add(t);
            java.util.Arrays.fill(logits, 0f);
            logits[next.getOrDefault(held.getLast(), 4)] = 10f;
            return logits;
        }

        @Override
        public int position() { return held.size(); }

        @Override
        public void rewind(int position) { while (held.size() > position) held.removeLast(); }

        @Override
        public int contextLength() { return 64; }

        @Override
        public int vocabSize() { return 7; }
    }

    @Test
    void eachTurnEvaluatesOnlyWhatTheSessionDoesNotHold() {
        LastTokenModel m = new LastTokenModel();
        Chat chat = new Chat(new Generator(m, TEXT), ChatTemplate.of(TEMPLATE, "", ""));
        GenerationOptions o = GenerationOptions.of(SamplerConfig.greedy(), 10);

        GenerationResult first = chat.send("hi", o, TokenListener.NONE, new Cancellation());
        assertEquals("yo", first.text());
        assertEquals(StopReason.END_OF_GENERATION, first.stopReason());
        assertEquals(List.of(5, 1), m.callLengths, "BOS U: hi \\n A:, then yo");

        GenerationResult second = chat.send("hi", o, TokenListener.NONE, new Cancellation());
        assertEquals("yo", second.text());
        // The session held BOS U: hi \n A: yo; the new prompt adds \n U: hi \n A:.
        assertEquals(List.of(5, 1, 5, 1), m.callLengths);
        assertEquals(List.of(0, 2, 4, 6, 3, 5, 6, 2, 4, 6, 3, 5), m.held);
        assertEquals(List.of(ChatMessage.user("hi"), ChatMessage.assistant("yo"), ChatMessage.user("hi"),
                ChatMessage.assistant("yo")), chat.messages());
    }

    @Test
    void aRejectedConversationDoesNotKeepTheUserMessage() {
        LastTokenModel m = new LastTokenModel();
        Chat chat = new Chat(new Generator(m, TEXT),
                ChatTemplate.of("{% if messages | length > 1 %}{{ raise_exception('one message only') }}{% endif %}U:", "", ""));
        GenerationOptions o = GenerationOptions.of(SamplerConfig.greedy(), 3);
        chat.send("hi", o, TokenListener.NONE, new Cancellation());
        var e = assertThrows(IllegalArgumentException.class, () -> chat.send("hi", o, TokenListener.NONE, new Cancellation()));
        assertEquals("the chat template rejects the conversation: one message only", e.getMessage());
        assertEquals(2, chat.messages().size());
    }
}
