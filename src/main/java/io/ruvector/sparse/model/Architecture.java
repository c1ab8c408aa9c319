package io.ruvector.sparse.model;

import io.ruvector.sparse.kernels.ActivationType;

import java.util.List;
import java.util.Locale;

/**
 * How one architecture's transformer block differs from llama's, as data the loader and {@link Forward} consult
 * instead of a forward pass per model. A new architecture whose block is llama's plus some of these differences
 * is one more constant here.
 *
 * <p>What a file says for itself (head width, biases present, tied output, RoPE base and scaling) is read by
 * {@link ModelConfig}; what is fixed per architecture (the conventions llama.cpp hard-codes for it) is here.
 *
 * @param name      {@code general.architecture}
 * @param ropeStyle which pairs of a head RoPE rotates together
 * @param qkNorm    per-head RMSNorm of queries and keys after the projection and before RoPE
 *                  ({@code attn_q_norm} / {@code attn_k_norm}, one weight of head width shared by all heads)
 * @param fusedQkv  q, k and v may come as one matrix {@code attn_qkv} with rows [q | k | v] (separate
 *                  {@code attn_q/k/v} are accepted too)
 * @param fusedGateUp the gated feed-forward block may come as one {@code ffn_up} of 2 x ffn rows, gate first,
 *                  with no {@code ffn_gate}
 * @param longRope  LongRoPE frequency factors may be present ({@code rope_factors_long} / {@code _short}): the
 *                  long ones when a session's context exceeds {@code rope.scaling.original_context_length}
 * @param activation the feed-forward activation llama.cpp fixes for the architecture, or null to read
 *                  {@code feed_forward_activation} (default SiLU)
 * @param scaledEmbedding token embeddings are multiplied by sqrt(embedding width) before the first block
 * @param postNorms RMSNorms of the attention output ({@code post_attention_norm}) and of the feed-forward output
 *                  ({@code post_ffw_norm}) before each is added to the residual stream
 * @param alwaysTied logits always come from {@code token_embd.weight}; an {@code output.weight} is refused
 * @param attention how the attention settings beyond llama's (sliding windows, soft-capping, query scale) are
 *                  read from the metadata
 */
public record Architecture(String name, RopeStyle ropeStyle, boolean qkNorm, boolean fusedQkv, boolean fusedGateUp,
                           boolean longRope, ActivationType activation, boolean scaledEmbedding, boolean postNorms,
                           boolean alwaysTied, AttentionRules attention) {

    /** A llama-like block: the file's activation, unscaled embeddings, no post norms, llama's attention. */
    public Architecture(String name, RopeStyle ropeStyle, boolean qkNorm, boolean fusedQkv, boolean fusedGateUp,
                        boolean longRope) {
        this(name, ropeStyle, qkNorm, fusedQkv, fusedGateUp, longRope, null, false, false, false, AttentionRules.LLAMA);
    }

    /** Meta's Llama (and the many models converted to its layout): interleaved RoPE pairs. */
    public static final Architecture LLAMA = new Architecture("llama", RopeStyle.INTERLEAVED, false, false, false, false);

    /** Qwen2 / Qwen2.5: llama with NeoX RoPE; its q/k/v biases are read from the file. */
    public static final Architecture QWEN2 = new Architecture("qwen2", RopeStyle.NEOX, false, false, false, false);

    /**
     * Qwen3 (dense): NeoX RoPE, RMSNorm of each query and key head before RoPE, head width from
     * {@code attention.key_length} independent of the embedding width, no biases.
     */
    public static final Architecture QWEN3 = new Architecture("qwen3", RopeStyle.NEOX, true, false, false, false);

    /** Phi-3 / Phi-4-mini: NeoX RoPE, fused qkv and fused gate|up projections, LongRoPE factors where present. */
    public static final Architecture PHI3 = new Architecture("phi3", RopeStyle.NEOX, false, true, true, true);

    /**
     * Gemma 3: NeoX RoPE, embeddings scaled by sqrt(width), q/k head norms, post-attention and post-FFN norms,
     * GeGLU (tanh GELU), sliding-window attention on five layers of six with their own RoPE base.
     */
    public static final Architecture GEMMA3 = new Architecture("gemma3", RopeStyle.NEOX, true, false, false, false,
            ActivationType.GELU_TANH, true, true, false, AttentionRules.GEMMA3);

    /**
     * Gemma 2: as Gemma 3 without q/k norms, with soft-capped attention and final logits, sliding windows on
     * every other layer, and an output that is always the token embedding.
     */
    public static final Architecture GEMMA2 = new Architecture("gemma2", RopeStyle.NEOX, false, false, false, false,
            ActivationType.GELU_TANH, true, true, true, AttentionRules.GEMMA2);

    static final List<Architecture> SUPPORTED = List.of(LLAMA, QWEN2, QWEN3, PHI3, GEMMA3, GEMMA2);

    public Architecture {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("architecture needs a name");
        if (ropeStyle == null) throw new IllegalArgumentException("architecture " + name + " needs a RoPE style");
        if (attention == null) throw new IllegalArgumentException("architecture " + name + " needs attention rules");
    }

    /**
     * The architecture called {@code name} in GGUF metadata.
     *
     * @throws IllegalArgumentException naming it when it is not supported
     */
    public static Architecture named(String name) {
        for (Architecture a : SUPPORTED) if (a.name.equals(name)) return a;
        throw new IllegalArgumentException("unsupported architecture '" + name + "' (supported: " + supportedNames() + ")");
    }

    static String supportedNames() {
        return String.join(", ", SUPPORTED.stream().map(Architecture::name).toList()).toLowerCase(Locale.ROOT);
    }
}
