package io.ruvector.sparse.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.output.FinishReason;
import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.ChatTemplate;
import io.ruvector.sparse.generation.ContinuousBatcher;
import io.ruvector.sparse.generation.GenerationOptions;
import io.ruvector.sparse.generation.GenerationResult;
import io.ruvector.sparse.generation.TokenListener;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.sampling.SamplerConfig;
import io.ruvector.sparse.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One model in this process, shared by {@link SparseChatModel} and {@link SparseStreamingChatModel}: the engine's
 * model, its chat template, and the engine's {@link ContinuousBatcher}, so concurrent calls decode together in one
 * pass over the weights per token instead of one pass each.
 *
 * <pre>{@code
 * try (SparseEngine engine = SparseEngine.open(Path.of("model.gguf"))) {
 *     ChatModel chat = SparseChatModel.builder().engine(engine).build();
 *     System.out.println(chat.chat("Hello!"));
 * }
 * }</pre>
 */
public final class SparseEngine implements AutoCloseable {

    /** Requests decoded together by default. */
    public static final int DEFAULT_PARALLEL = 4;
    /** Requests that may wait for a slot by default; more fail with a RejectedExecutionException. */
    public static final int DEFAULT_QUEUE = 64;

    private static final List<String> FALLBACK_STOPS = List.of("\nUser:");

    private final LanguageModel model;
    private final ChatTemplate template;
    private final ContinuousBatcher batcher;
    private final String modelName;

    private SparseEngine(LanguageModel model, ChatTemplate template, String modelName, int parallel, int queue) {
        this.model = Objects.requireNonNull(model, "model");
        this.template = Objects.requireNonNull(template, "template");
        this.modelName = Objects.requireNonNull(modelName, "modelName");
        this.batcher = new ContinuousBatcher(model, parallel, queue);
    }

    /** Opens a GGUF model with the engine's default options and {@link #DEFAULT_PARALLEL} slots. */
    public static SparseEngine open(Path gguf) throws IOException {
        return open(gguf, ModelOptions.defaults(), DEFAULT_PARALLEL);
    }

    /**
     * Opens a GGUF model.
     *
     * @param options  threads, context length per slot, ...
     * @param parallel requests decoded together (>= 1)
     */
    public static SparseEngine open(Path gguf, ModelOptions options, int parallel) throws IOException {
        LanguageModel model = LanguageModel.open(gguf, options);
        try {
            return of(model, parallel);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Serves an open model (closed with this engine), with its own chat template or, without one, a plain
     * "User:/Assistant:" transcript.
     */
    public static SparseEngine of(LanguageModel model, int parallel) {
        Tokenizer tokenizer = model.tokenizer();
        ChatTemplate template = ChatTemplate.fromGguf(model.gguf(), tokenizer).orElseGet(ChatTemplate::fallback);
        String name = model.gguf().path() != null
                ? model.gguf().path().getFileName().toString().replaceFirst("(?i)\\.gguf$", "") : "sparse-infer";
        return new SparseEngine(model, template, name, parallel, DEFAULT_QUEUE);
    }

    /** The model's name in responses: its file name without {@code .gguf}. */
    public String modelName() { return modelName; }

    /** The underlying engine model. */
    public LanguageModel model() { return model; }

    /** A request ready for the batcher. */
    record Prepared(int[] prompt, GenerationOptions options) {}

    /**
     * Renders the request's messages with the chat template and turns its parameters into generation options.
     *
     * @throws UnsupportedFeatureException for tools, JSON response formats and non-text content
     * @throws IllegalArgumentException    for values out of range, or a prompt that does not fit in the context
     */
    Prepared prepare(ChatRequest request, Long seed) {
        ChatRequestParameters p = request.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("tools are not supported by the sparse-infer chat model");
        }
        ResponseFormat format = p.responseFormat();
        if (format != null && format.type() != ResponseFormatType.TEXT) {
            throw new UnsupportedFeatureException("response format " + format.type() + " is not supported: text only");
        }
        List<io.ruvector.sparse.generation.ChatMessage> messages = new ArrayList<>();
        for (ChatMessage m : request.messages()) messages.add(convert(m));
        String rendered;
        synchronized (template) {
            rendered = template.render(messages, true);
        }
        int[] prompt = encode(rendered);
        int context = model.sessionContextLength();
        if (prompt.length >= context) {
            throw new IllegalArgumentException("the prompt is " + prompt.length + " tokens and the context holds " + context);
        }
        SamplerConfig sampling = new SamplerConfig(
                p.temperature() != null ? p.temperature().floatValue() : SamplerConfig.DEFAULT_TEMPERATURE,
                p.topK() != null ? p.topK() : SamplerConfig.DEFAULT_TOP_K,
                p.topP() != null ? p.topP().floatValue() : SamplerConfig.DEFAULT_TOP_P,
                SamplerConfig.DEFAULT_MIN_P, 1f, SamplerConfig.DEFAULT_REPEAT_LAST_N,
                p.frequencyPenalty() != null ? p.frequencyPenalty().floatValue() : 0f,
                p.presencePenalty() != null ? p.presencePenalty().floatValue() : 0f,
                seed != null ? seed : ThreadLocalRandom.current().nextLong() & 0xFFFF_FFFFL);
        int maxTokens = p.maxOutputTokens() != null ? p.maxOutputTokens() : GenerationOptions.UNLIMITED;
        List<String> stops = new ArrayList<>();
        if (p.stopSequences() != null) for (String s : p.stopSequences()) if (s != null && !s.isEmpty()) stops.add(s);
        if (template.isFallback()) stops.addAll(FALLBACK_STOPS);
        return new Prepared(prompt, new GenerationOptions(sampling, maxTokens, stops));
    }

    CompletableFuture<GenerationResult> submit(Prepared prepared, TokenListener listener, Cancellation cancellation) {
        return batcher.submit(prepared.prompt(), prepared.options(), listener, cancellation);
    }

    static FinishReason finishReason(GenerationResult r) {
        return switch (r.stopReason()) {
            case END_OF_GENERATION, STOP_STRING -> FinishReason.STOP;
            case MAX_TOKENS, CONTEXT_FULL -> FinishReason.LENGTH;
            case CANCELLED -> FinishReason.OTHER;
        };
    }

    private int[] encode(String text) {
        Tokenizer t = model.tokenizer();
        int[] ids = t.encode(text, false, false, true);
        int bos = t.bosId();
        if (!t.addBosByDefault() || bos == Tokenizer.NO_TOKEN || (ids.length > 0 && ids[0] == bos)) return ids;
        int[] withBos = new int[ids.length + 1];
        withBos[0] = bos;
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        return withBos;
    }

    private static io.ruvector.sparse.generation.ChatMessage convert(ChatMessage m) {
        return switch (m) {
            case SystemMessage s -> io.ruvector.sparse.generation.ChatMessage.system(s.text());
            case UserMessage u -> io.ruvector.sparse.generation.ChatMessage.user(text(u));
            case AiMessage a -> {
                if (a.hasToolExecutionRequests()) throw new UnsupportedFeatureException("tool calls are not supported");
                yield io.ruvector.sparse.generation.ChatMessage.assistant(a.text() == null ? "" : a.text());
            }
            default -> throw new UnsupportedFeatureException(m.type() + " messages are not supported");
        };
    }

    private static String text(UserMessage u) {
        StringBuilder sb = new StringBuilder();
        for (Content c : u.contents()) {
            if (!(c instanceof TextContent t)) throw new UnsupportedFeatureException(c.type() + " content is not supported: text only");
            sb.append(t.text());
        }
        return sb.toString();
    }

    /** Cancels running requests, then closes the model. */
    @Override
    public void close() {
        try {
            batcher.close();
        } finally {
            model.close();
        }
    }
}
