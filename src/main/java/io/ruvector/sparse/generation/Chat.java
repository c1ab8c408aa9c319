package io.ruvector.sparse.generation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A conversation with a model: the messages so far, rendered with the model's {@link ChatTemplate} into
 * one session.
 *
 * <p>Each turn renders the whole conversation, tokenizes it, and evaluates only what the session does not
 * hold yet: the session is rewound to the longest prefix it shares with the new tokens (the reply as
 * re-tokenized from text may differ from the tokens that were sampled), so a long conversation costs
 * only its new tokens per turn. The chat remembers what it put into the session, so the session must
 * not be used for anything else meanwhile; like the session, a chat serves one thread at a time.
 */
public final class Chat {

    private final Generator generator;
    private final ChatTemplate template;
    private final List<ChatMessage> messages = new ArrayList<>();
    /** The tokens the session holds, in order (its first {@code held.length} positions). */
    private int[] held = new int[0];

    /**
     * @param generator generates with the session this conversation uses (which should be empty)
     * @param template  the model's chat template (or {@link ChatTemplate#fallback()})
     */
    public Chat(Generator generator, ChatTemplate template) {
        this.generator = Objects.requireNonNull(generator, "generator");
        this.template = Objects.requireNonNull(template, "template");
    }

    /** Adds a message without generating, e.g. a system prompt. */
    public void add(ChatMessage message) { messages.add(Objects.requireNonNull(message, "message")); }

    /** The conversation so far. */
    public List<ChatMessage> messages() { return List.copyOf(messages); }

    public ChatTemplate template() { return template; }

    /**
     * Adds the user's message, generates the assistant's reply (streamed to {@code listener}) and adds it
     * to the conversation, without surrounding whitespace. A cancelled reply is kept as far as it got.
     *
     * @throws IllegalArgumentException when the template rejects the conversation or it no longer fits in
     *                                  the context (the user's message is then not kept)
     */
    public GenerationResult send(String userText, GenerationOptions options, TokenListener listener,
                                 Cancellation cancellation) {
        messages.add(ChatMessage.user(Objects.requireNonNull(userText, "user text")));
        try {
            String prompt = template.render(messages, true);
            int[] tokens = generator.tokenText().encode(prompt, true, true);
            LogitsSource session = generator.session();
            int common = commonPrefix(held, tokens, session.position());
            if (common == tokens.length) common--; // at least one token must be evaluated to get logits
            session.rewind(common);
            int[] fresh = Arrays.copyOfRange(tokens, common, tokens.length);
            GenerationResult result = generator.generate(fresh, options, listener, cancellation);
            // The session now holds the prompt and every generated token except the last.
            int[] generated = result.tokens();
            int[] now = Arrays.copyOf(tokens, tokens.length + Math.max(0, generated.length - 1));
            System.arraycopy(generated, 0, now, tokens.length, now.length - tokens.length);
            held = now;
            messages.add(ChatMessage.assistant(result.text().strip()));
            return result;
        } catch (RuntimeException e) {
            messages.removeLast();
            throw e;
        }
    }

    private static int commonPrefix(int[] a, int[] b, int limit) {
        int n = Math.min(limit, Math.min(a.length, b.length));
        int i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }
}
