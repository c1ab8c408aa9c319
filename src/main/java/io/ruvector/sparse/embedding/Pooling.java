package io.ruvector.sparse.embedding;

/**
 * How the per-token outputs of an encoder become one vector per text: {@code <arch>.pooling_type} in GGUF
 * metadata, numbered as llama.cpp numbers it.
 */
public enum Pooling {
    /** No pooling (0): the model gives per-token vectors, which {@link EmbeddingModel} does not return. */
    NONE,
    /** The mean of every token's vector, [CLS] and [SEP] included (1), as sentence-transformers computes it. */
    MEAN,
    /** The first token's vector, [CLS] (2). */
    CLS,
    /** The last token's vector (3). */
    LAST;

    /**
     * The pooling with GGUF code {@code code}.
     *
     * @throws IllegalArgumentException naming the code when it is not one of the above (4 is a reranker's
     *                                  classification head, which is not an embedding)
     */
    public static Pooling fromCode(long code) {
        return switch ((int) code) {
            case 0 -> NONE;
            case 1 -> MEAN;
            case 2 -> CLS;
            case 3 -> LAST;
            case 4 -> throw new IllegalArgumentException("pooling_type 4 (rank: a reranker's classification head) is not supported");
            default -> throw new IllegalArgumentException("unknown pooling_type " + code + " (known: 0 none, 1 mean, 2 cls, 3 last)");
        };
    }

    /** The GGUF code of this pooling. */
    public int code() { return ordinal(); }
}
