package io.ruvector.sparse.server;

import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.ChatMessage;
import io.ruvector.sparse.generation.ChatTemplate;
import io.ruvector.sparse.generation.ContinuousBatcher;
import io.ruvector.sparse.generation.GenerationOptions;
import io.ruvector.sparse.generation.GenerationResult;
import io.ruvector.sparse.generation.TokenListener;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.sparse.SparseModel;
import io.ruvector.sparse.tokenizer.Tokenizer;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The model a server serves: the engine model (and its sparse attachment), its tokenizer and chat template, and
 * the engine's {@link ContinuousBatcher} that schedules every generation request on it.
 */
final class ServedModel implements AutoCloseable {

    /** Stops a reply in the plain transcript of a model without a chat template, where the user's part would start. */
    static final List<String> FALLBACK_STOPS = List.of("\nUser:");

    private final LanguageModel model;
    private final SparseModel sparse;
    private final ContinuousBatcher batcher;
    private final ChatTemplate template;
    private final String id;
    private final long created = System.currentTimeMillis() / 1000;

    /**
     * @param model    the open model; closed with this
     * @param sparse   its sparse attachment, or null; closed with this
     * @param template how chat messages become a prompt
     * @param id       the model's name in the API ({@code model} of replies, {@code /v1/models})
     * @param slots    requests decoded together
     * @param queue    requests that may wait for a slot
     */
    ServedModel(LanguageModel model, SparseModel sparse, ChatTemplate template, String id, int slots, int queue) {
        this.model = Objects.requireNonNull(model, "model");
        this.sparse = sparse;
        this.template = Objects.requireNonNull(template, "template");
        this.id = Objects.requireNonNull(id, "id");
        this.batcher = sparse != null ? new ContinuousBatcher(model, sparse.feedForward(), slots, queue)
                : new ContinuousBatcher(model, slots, queue);
    }

    String id() { return id; }

    long created() { return created; }

    int slots() { return batcher.slots(); }

    /** Positions each request's session holds: prompt plus generated tokens. */
    int contextLength() { return model.sessionContextLength(); }

    int vocabSize() { return model.tokenizer().vocabSize(); }

    Tokenizer tokenizer() { return model.tokenizer(); }

    boolean hasChatTemplate() { return !template.isFallback(); }

    /**
     * Tokenizes as the engine's generator tokenizes a prompt: special-token text parsed when asked, the model's
     * BOS in front when {@code addSpecial} and its metadata asks for one (and the text does not start with it).
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        Tokenizer t = model.tokenizer();
        int[] ids = t.encode(text, false, false, parseSpecial);
        int bos = t.bosId();
        if (!addSpecial || !t.addBosByDefault() || bos == Tokenizer.NO_TOKEN || (ids.length > 0 && ids[0] == bos)) return ids;
        int[] withBos = new int[ids.length + 1];
        withBos[0] = bos;
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    /** The conversation rendered with the chat template, ready for the assistant's reply. */
    String renderChat(List<ChatMessage> messages) {
        synchronized (template) {   // one Jinja render at a time: cheap next to generation, and no sharing questions
            return template.render(messages, true);
        }
    }

    CompletableFuture<GenerationResult> submit(int[] prompt, GenerationOptions options, TokenListener listener,
                                               Cancellation cancellation) {
        return batcher.submit(prompt, options, listener, cancellation);
    }

    ContinuousBatcher.Stats stats() { return batcher.stats(); }

    @Override
    public void close() {
        try {
            batcher.close();
        } finally {
            try {
                if (sparse != null) sparse.close();
            } finally {
                model.close();
            }
        }
    }
}
