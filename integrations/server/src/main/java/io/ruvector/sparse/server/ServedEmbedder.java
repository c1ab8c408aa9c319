package io.ruvector.sparse.server;

import io.ruvector.sparse.embedding.EmbeddingModel;

import java.util.List;
import java.util.Objects;

/**
 * The embedding model a server serves instead of a generating one (a {@code bert} or {@code nomic-bert} GGUF):
 * {@code POST /v1/embeddings} only. The engine's {@link EmbeddingModel} is thread-safe and batches the texts of a
 * request through each weight matrix together, so requests go straight to it.
 */
final class ServedEmbedder implements AutoCloseable {

    private final EmbeddingModel model;
    private final String id;
    private final long created = System.currentTimeMillis() / 1000;

    /** @param model the open model; closed with this */
    ServedEmbedder(EmbeddingModel model, String id) {
        this.model = Objects.requireNonNull(model, "model");
        this.id = Objects.requireNonNull(id, "id");
    }

    String id() { return id; }

    long created() { return created; }

    int dimension() { return model.dimension(); }

    /** The most tokens of one input that are embedded; longer inputs are cut, as the engine does. */
    int maxTokens() { return model.maxTokens(); }

    int vocabSize() { return model.tokenizer().vocabSize(); }

    /** The tokens {@code text} is embedded from (cut to {@link #maxTokens()}): what {@code usage} counts. */
    int tokenCount(String text) { return model.tokenize(text).length; }

    List<float[]> embedAll(List<String> texts) { return model.embedAll(texts); }

    @Override
    public void close() { model.close(); }
}
