package io.ruvector.sparse.langchain4j;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.request.EmbeddingInput;
import dev.langchain4j.model.embedding.request.EmbeddingRequest;
import dev.langchain4j.model.embedding.response.EmbeddingResponse;
import dev.langchain4j.model.embedding.response.EmbeddingResponseMetadata;
import dev.langchain4j.model.output.TokenUsage;
import io.ruvector.sparse.embedding.EmbeddingOptions;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A LangChain4j {@link EmbeddingModel} running a sentence-embedding GGUF ({@code bert}, {@code nomic-bert}) in this
 * process (no HTTP), over the engine's {@link io.ruvector.sparse.embedding.EmbeddingModel}: unit-length vectors,
 * and the texts of one {@code embedAll} call share passes over the weights.
 *
 * <pre>{@code
 * try (SparseEmbeddingModel embeddings = SparseEmbeddingModel.open(Path.of("all-minilm-l6-v2.F32.gguf"))) {
 *     Response<List<Embedding>> r = embeddings.embedAll(List.of(TextSegment.from("A cat."), TextSegment.from("A dog.")));
 * }
 * }</pre>
 *
 * <p>It implements {@link #doEmbed}, so LangChain4j's {@code embed}/{@code embedAll} run its listeners around it;
 * {@link TokenUsage} counts the tokens embedded ([CLS] and [SEP] included, long texts cut at the model's limit).
 * Thread-safe. Use after {@link #close()} throws {@link IllegalStateException}.
 */
public final class SparseEmbeddingModel implements EmbeddingModel, AutoCloseable {

    private final io.ruvector.sparse.embedding.EmbeddingModel model;
    private final String modelName;

    private SparseEmbeddingModel(io.ruvector.sparse.embedding.EmbeddingModel model, String modelName) {
        this.model = Objects.requireNonNull(model, "model");
        this.modelName = Objects.requireNonNull(modelName, "modelName");
    }

    /** Opens {@code gguf} with the engine's default options (all processors, the model's own token limit). */
    public static SparseEmbeddingModel open(Path gguf) throws IOException {
        return open(gguf, EmbeddingOptions.defaults());
    }

    /**
     * Opens {@code gguf}; its model name is the file name without {@code .gguf}.
     *
     * @throws IllegalArgumentException when the file is not an embedding model the engine runs
     */
    public static SparseEmbeddingModel open(Path gguf, EmbeddingOptions options) throws IOException {
        String name = gguf.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
        return new SparseEmbeddingModel(io.ruvector.sparse.embedding.EmbeddingModel.open(gguf, options), name);
    }

    @Override
    public EmbeddingResponse doEmbed(EmbeddingRequest request) {
        List<String> texts = new ArrayList<>(request.inputs().size());
        for (EmbeddingInput input : request.inputs()) texts.add(Objects.requireNonNull(input.text(), "text of an embedding input"));
        int tokens = 0;
        for (String t : texts) tokens += model.tokenize(t).length;
        List<float[]> vectors = model.embedAll(texts);
        List<Embedding> embeddings = new ArrayList<>(vectors.size());
        for (float[] v : vectors) embeddings.add(Embedding.from(v));
        return EmbeddingResponse.builder().embeddings(embeddings)
                .metadata(EmbeddingResponseMetadata.builder().modelName(modelName).tokenUsage(new TokenUsage(tokens)).build())
                .build();
    }

    /** The width of the vectors, from the model's metadata (no text is embedded to learn it). */
    @Override
    public int dimension() { return model.dimension(); }

    @Override
    public String modelName() { return modelName; }

    @Override
    public ModelProvider provider() { return ModelProvider.OTHER; }

    /** Waits for calls in flight, then releases the model's threads and file. */
    @Override
    public void close() { model.close(); }
}
