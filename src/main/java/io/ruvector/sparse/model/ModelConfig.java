package io.ruvector.sparse.model;

import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufValue;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.kernels.ActivationType;

import java.util.Locale;
import java.util.Optional;

/**
 * The shape and numerics of a llama-family transformer, read from GGUF metadata.
 *
 * @param architecture    {@code general.architecture}, one of {@link Architecture#SUPPORTED} (or a test's name)
 * @param dim             embedding width ({@code <arch>.embedding_length})
 * @param layers          transformer blocks ({@code <arch>.block_count})
 * @param ffnDim          hidden width of the feed-forward block ({@code <arch>.feed_forward_length})
 * @param heads           query heads ({@code <arch>.attention.head_count})
 * @param kvHeads         key/value heads, dividing {@code heads} (GQA; 1 is MQA)
 * @param headDim         width of one head ({@code <arch>.attention.key_length}, else dim / heads)
 * @param ropeDims        leading dimensions of each head that RoPE rotates ({@code <arch>.rope.dimension_count})
 * @param ropeBase        {@code <arch>.rope.freq_base}, default 10000
 * @param ropeScale       linear RoPE scaling factor: positions are divided by it (1 = none)
 * @param block           how the architecture's block differs from llama's (RoPE layout, q/k norms, fused
 *                        projections)
 * @param hasRopeFreqs    true when a {@code rope_freqs.weight} tensor (Llama 3.1 frequency factors) divides the
 *                        per-pair frequencies
 * @param rmsEps          RMSNorm epsilon ({@code <arch>.attention.layer_norm_rms_epsilon})
 * @param contextLength   trained context ({@code <arch>.context_length})
 * @param vocabSize       rows of {@code token_embd.weight}
 * @param tiedOutput      true when {@code output.weight} is absent and logits use {@code token_embd.weight}
 * @param qkvBias         true when the attention projections have biases ({@code blk.N.attn_q.bias}, ...)
 * @param activation      feed-forward nonlinearity ({@code <arch>.feed_forward_activation}, default SiLU)
 * @param gatedFfn        true when the feed-forward block has a gate ({@code ffn_gate}); otherwise h = act(up . x)
 * @param ropeOriginalContext {@code <arch>.rope.scaling.original_context_length}, default the trained context:
 *                        sessions longer than this use LongRoPE's long factors
 * @param ropeAttnFactor  {@code <arch>.rope.scaling.attn_factor}, default 1: multiplies RoPE's cos and sin (LongRoPE's
 *                        attention scaling, as ggml's rope applies it)
 * @param attention       query scale, sliding windows and soft-capping ({@link AttentionSettings#standard} but for
 *                        the architectures whose {@link AttentionRules} read more)
 */
public record ModelConfig(
        String architecture,
        int dim,
        int layers,
        int ffnDim,
        int heads,
        int kvHeads,
        int headDim,
        int ropeDims,
        double ropeBase,
        double ropeScale,
        Architecture block,
        boolean hasRopeFreqs,
        float rmsEps,
        int contextLength,
        int vocabSize,
        boolean tiedOutput,
        boolean qkvBias,
        ActivationType activation,
        boolean gatedFfn,
        int ropeOriginalContext,
        double ropeAttnFactor,
        AttentionSettings attention) {

    /** A configuration without LongRoPE settings: original context = trained context, attention factor 1. */
    public ModelConfig(String architecture, int dim, int layers, int ffnDim, int heads, int kvHeads, int headDim,
                       int ropeDims, double ropeBase, double ropeScale, Architecture block, boolean hasRopeFreqs,
                       float rmsEps, int contextLength, int vocabSize, boolean tiedOutput, boolean qkvBias,
                       ActivationType activation, boolean gatedFfn) {
        this(architecture, dim, layers, ffnDim, heads, kvHeads, headDim, ropeDims, ropeBase, ropeScale, block,
                hasRopeFreqs, rmsEps, contextLength, vocabSize, tiedOutput, qkvBias, activation, gatedFfn, contextLength, 1.0);
    }

    /** A configuration with llama's attention ({@link AttentionSettings#standard}). */
    public ModelConfig(String architecture, int dim, int layers, int ffnDim, int heads, int kvHeads, int headDim,
                       int ropeDims, double ropeBase, double ropeScale, Architecture block, boolean hasRopeFreqs,
                       float rmsEps, int contextLength, int vocabSize, boolean tiedOutput, boolean qkvBias,
                       ActivationType activation, boolean gatedFfn, int ropeOriginalContext, double ropeAttnFactor) {
        this(architecture, dim, layers, ffnDim, heads, kvHeads, headDim, ropeDims, ropeBase, ropeScale, block,
                hasRopeFreqs, rmsEps, contextLength, vocabSize, tiedOutput, qkvBias, activation, gatedFfn,
                ropeOriginalContext, ropeAttnFactor, AttentionSettings.standard(headDim, ropeBase, ropeScale));
    }

    public ModelConfig {
        positive("dim", dim);
        positive("layers", layers);
        positive("ffnDim", ffnDim);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("headDim", headDim);
        positive("contextLength", contextLength);
        positive("vocabSize", vocabSize);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("head_count " + heads + " is not a multiple of head_count_kv " + kvHeads);
        }
        if (ropeDims <= 0 || ropeDims > headDim || ropeDims % 2 != 0) {
            throw new IllegalArgumentException("rope dimension count " + ropeDims + " must be even and in (0, " + headDim + "]");
        }
        if (block.qkNorm() && ropeDims != headDim) {
            throw new IllegalArgumentException("rope.dimension_count " + ropeDims + " must equal the head size "
                    + headDim + " for " + architecture);
        }
        positive("rope.scaling.original_context_length", ropeOriginalContext);
        if (!(ropeAttnFactor > 0)) throw new IllegalArgumentException("rope.scaling.attn_factor " + ropeAttnFactor + " must be positive");
        if (attention == null) throw new IllegalArgumentException("attention settings are required");
        if (!(ropeBase > 0) || !(ropeScale > 0) || !(rmsEps >= 0)) {
            throw new IllegalArgumentException("bad rope base " + ropeBase + ", rope scale " + ropeScale + " or rms eps " + rmsEps);
        }
    }

    /** Which pairs of a head RoPE rotates together. */
    public RopeStyle ropeStyle() { return block.ropeStyle(); }

    /** Width of all query heads together: heads * headDim. */
    public int qDim() { return heads * headDim; }

    /** Width of all key (or value) heads together: kvHeads * headDim. */
    public int kvDim() { return kvHeads * headDim; }

    /** Query heads sharing one key/value head. */
    public int groupSize() { return heads / kvHeads; }

    /**
     * Reads the configuration of a model of one of the {@linkplain Architecture#SUPPORTED supported architectures}.
     *
     * @throws IllegalArgumentException naming the architecture when it is not supported, or naming the
     *                                  missing / inconsistent key or tensor
     */
    public static ModelConfig fromGguf(GgufFile file) {
        String arch = file.getString("general.architecture", null);
        if (arch == null) throw new IllegalArgumentException(name(file) + ": no general.architecture in the metadata");
        Architecture block;
        try {
            block = Architecture.named(arch);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name(file) + ": " + e.getMessage(), e);
        }
        Keys k = new Keys(file, arch);

        int experts = k.intOr("expert_count", 0);
        if (experts > 0) {
            throw new IllegalArgumentException(name(file) + ": mixture-of-experts models (" + arch + ".expert_count = "
                    + experts + ") are not supported");
        }
        int dim = k.requireInt("embedding_length");
        int layers = k.requireInt("block_count");
        int ffnDim = k.requireInt("feed_forward_length");
        int heads = k.requireInt("attention.head_count");
        int kvHeads = k.intOr("attention.head_count_kv", heads);
        if (heads <= 0 || dim % heads != 0 && !file.has(arch + ".attention.key_length")) {
            throw new IllegalArgumentException(name(file) + ": embedding_length " + dim
                    + " is not a multiple of head_count " + heads + " and no attention.key_length is given");
        }
        int headDim = k.intOr("attention.key_length", dim / heads);
        int valueDim = k.intOr("attention.value_length", headDim);
        if (valueDim != headDim) {
            throw new IllegalArgumentException(name(file) + ": attention.value_length " + valueDim
                    + " differs from key_length " + headDim + " (not supported)");
        }
        int ropeDims = k.intOr("rope.dimension_count", headDim);
        double ropeBase = k.doubleOr("rope.freq_base", 10000.0);
        double ropeScale = ropeScale(file, k);
        float rmsEps = (float) k.doubleOr("attention.layer_norm_rms_epsilon", 1e-5);
        int contextLength = k.intOr("context_length", 2048);
        int ropeOriginalContext = k.intOr("rope.scaling.original_context_length", contextLength);
        double ropeAttnFactor = k.doubleOr("rope.scaling.attn_factor", 1.0);

        TensorInfo embd = file.requireTensor("token_embd.weight");
        if (embd.rowLength() != dim) {
            throw new IllegalArgumentException(name(file) + ": token_embd.weight rows are " + embd.rowLength()
                    + " long, embedding_length is " + dim);
        }
        int vocab = Math.toIntExact(embd.rows());
        // gemma2 always reads token_embd (an output.weight is then refused as a tensor it would not use)
        boolean tied = block.alwaysTied() || file.tensor("output.weight").isEmpty();
        boolean bias = file.tensor("blk.0.attn_q.bias").isPresent();
        boolean ropeFreqs = file.tensor("rope_freqs.weight").isPresent();
        // phi3's feed-forward block is always gated: by ffn_gate or by the gate half of a fused ffn_up
        boolean gated = file.tensor("blk.0.ffn_gate.weight").isPresent() || block.fusedGateUp();
        ActivationType act = block.activation() != null ? block.activation()
                : k.string("feed_forward_activation").map(ActivationType::fromName).orElse(ActivationType.SILU);

        try {
            AttentionSettings attention = block.attention().read(k, layers, dim, heads, headDim, ropeBase, ropeScale);
            return new ModelConfig(arch, dim, layers, ffnDim, heads, kvHeads, headDim, ropeDims, ropeBase, ropeScale,
                    block, ropeFreqs, rmsEps, contextLength, vocab, tied, bias, act, gated, ropeOriginalContext, ropeAttnFactor,
                    attention);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name(file) + ": " + e.getMessage(), e);
        }
    }

    /** Linear scaling factor; YaRN and other schemes change more than positions and are refused. */
    private static double ropeScale(GgufFile file, Keys k) {
        String type = k.string("rope.scaling.type").orElse(null);
        double factor = k.doubleOr("rope.scaling.factor", 0.0);
        if (type == null) {
            double legacy = k.doubleOr("rope.scale_linear", 1.0);
            return legacy > 0 ? legacy : 1.0;
        }
        return switch (type.toLowerCase(Locale.ROOT)) {
            case "none" -> 1.0;
            // LongRoPE: its factors are tensors (ModelWeights); a linear factor, if any, still divides positions
            case "linear", "longrope" -> factor > 0 ? factor : 1.0;
            default -> throw new IllegalArgumentException(name(file) + ": unsupported RoPE scaling type '" + type
                    + "' (supported: none, linear, longrope, and Llama 3 rope_freqs)");
        };
    }

    private static void positive(String what, int v) {
        if (v <= 0) throw new IllegalArgumentException(what + " must be positive, not " + v);
    }

    private static String name(GgufFile file) { return file.name(); }

    /** Typed access to {@code <arch>.*} keys with errors naming the key. */
    record Keys(GgufFile file, String arch) {
        Optional<GgufValue> get(String key) { return file.get(arch + "." + key); }

        int requireInt(String key) {
            return get(key).map(v -> asInt(key, v)).orElseThrow(
                    () -> new IllegalArgumentException(name(file) + ": missing metadata key '" + arch + "." + key + "'"));
        }

        int intOr(String key, int orElse) { return get(key).map(v -> asInt(key, v)).orElse(orElse); }

        double doubleOr(String key, double orElse) {
            return get(key).map(v -> {
                try {
                    return v.asDouble();
                } catch (IllegalStateException e) {
                    throw new IllegalArgumentException(name(file) + ": metadata key '" + arch + "." + key
                            + "' is not a number: " + v, e);
                }
            }).orElse(orElse);
        }

        Optional<String> string(String key) {
            return get(key).map(v -> {
                try {
                    return v.asString();
                } catch (IllegalStateException e) {
                    throw new IllegalArgumentException(name(file) + ": metadata key '" + arch + "." + key
                            + "' is not a string: " + v, e);
                }
            });
        }

        private int asInt(String key, GgufValue v) {
            try {
                return v.asInt();
            } catch (IllegalStateException e) {
                throw new IllegalArgumentException(name(file) + ": metadata key '" + arch + "." + key
                        + "' must be one integer (per-layer arrays are not supported): " + v, e);
            }
        }
    }
}
