package io.ruvector.sparse.embedding;

import io.ruvector.sparse.gguf.GgufFile;

import java.util.List;

/**
 * The shape of a BERT-family encoder, read from GGUF metadata with llama.cpp's keys and defaults.
 *
 * @param architecture  {@code general.architecture}: {@code bert} or {@code nomic-bert}
 * @param dim           embedding width ({@code <arch>.embedding_length})
 * @param layers        encoder blocks ({@code <arch>.block_count})
 * @param ffnDim        hidden width of the feed-forward block ({@code <arch>.feed_forward_length})
 * @param heads         attention heads ({@code <arch>.attention.head_count}); key/value heads are the same
 * @param contextLength positions the model has ({@code <arch>.context_length}): the most tokens a text can have
 * @param vocabSize     rows of {@code token_embd.weight}
 * @param normEps       LayerNorm epsilon ({@code <arch>.attention.layer_norm_epsilon})
 * @param pooling       {@code <arch>.pooling_type}, none when absent
 * @param rotary        nomic-bert: RoPE on queries and keys (NeoX halves), no position embeddings, and a SwiGLU
 *                      feed-forward block without biases; bert: learned absolute positions and a GELU
 *                      feed-forward block with biases
 * @param ropeBase      {@code <arch>.rope.freq_base} (default 10000), used when {@code rotary}
 */
record BertConfig(String architecture, int dim, int layers, int ffnDim, int heads, int contextLength, int vocabSize,
                  float normEps, Pooling pooling, boolean rotary, double ropeBase) {

    static final List<String> SUPPORTED = List.of("bert", "nomic-bert");

    BertConfig {
        if (dim <= 0 || layers <= 0 || ffnDim <= 0 || heads <= 0 || contextLength <= 0 || vocabSize <= 0) {
            throw new IllegalArgumentException(architecture + ": non-positive shape (dim " + dim + ", layers " + layers
                    + ", ffn " + ffnDim + ", heads " + heads + ", context " + contextLength + ", vocab " + vocabSize + ")");
        }
        if (dim % heads != 0) throw new IllegalArgumentException(architecture + ": embedding width " + dim + " is not a multiple of " + heads + " heads");
        if (rotary && (dim / heads) % 2 != 0) throw new IllegalArgumentException(architecture + ": RoPE needs an even head width, not " + dim / heads);
        if (!(normEps > 0) || !(ropeBase > 0)) throw new IllegalArgumentException(architecture + ": bad epsilon or RoPE base");
    }

    int headDim() { return dim / heads; }

    /**
     * Reads the configuration.
     *
     * @throws IllegalArgumentException naming the architecture, key or value when the file is not an encoder we
     *                                  run (a decoder, causal attention, grouped key/value heads)
     */
    static BertConfig fromGguf(GgufFile f) {
        String arch = f.getString("general.architecture", "");
        if (!SUPPORTED.contains(arch)) {
            throw new IllegalArgumentException("'" + arch + "' is not an embedding architecture we run (supported: "
                    + String.join(", ", SUPPORTED) + ")");
        }
        String p = arch + ".";
        for (String key : List.of("embedding_length", "block_count", "feed_forward_length", "attention.head_count",
                "attention.layer_norm_epsilon")) {
            if (!f.has(p + key)) throw new IllegalArgumentException(f.name() + ": metadata key '" + p + key + "' is missing");
        }
        if (f.getBoolean(p + "attention.causal", false)) {
            throw new IllegalArgumentException(f.name() + ": " + p + "attention.causal is true; an encoder attends both ways");
        }
        int heads = f.getInt(p + "attention.head_count");
        if (f.has(p + "attention.head_count_kv") && f.getInt(p + "attention.head_count_kv") != heads) {
            throw new IllegalArgumentException(f.name() + ": " + p + "attention.head_count_kv differs from head_count (not supported for encoders)");
        }
        if (f.getLong(p + "moe_every_n_layers", 0) != 0) {
            throw new IllegalArgumentException(f.name() + ": mixture-of-experts layers (" + p + "moe_every_n_layers) are not supported");
        }
        int vocab = (int) f.requireTensor("token_embd.weight").rows();
        Pooling pooling = Pooling.fromCode(f.getLong(p + "pooling_type", 0));
        return new BertConfig(arch, f.getInt(p + "embedding_length"), f.getInt(p + "block_count"),
                f.getInt(p + "feed_forward_length"), heads, f.getInt(p + "context_length", 512), vocab,
                f.getFloat(p + "attention.layer_norm_epsilon"), pooling, arch.equals("nomic-bert"),
                f.get(p + "rope.freq_base").map(v -> v.asDouble()).orElse(10000.0));
    }
}
