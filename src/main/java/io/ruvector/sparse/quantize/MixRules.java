package io.ruvector.sparse.quantize;

import io.ruvector.sparse.gguf.GgmlType;

import static io.ruvector.sparse.gguf.GgmlType.Q3_K;
import static io.ruvector.sparse.gguf.GgmlType.Q4_K;
import static io.ruvector.sparse.gguf.GgmlType.Q5_K;
import static io.ruvector.sparse.gguf.GgmlType.Q6_K;
import static io.ruvector.sparse.gguf.GgmlType.Q8_0;

/**
 * The per-tensor choices of llama-quantize's mixes (llama.cpp's {@code llama_tensor_get_type}), restated for
 * the mixes of {@link QuantMix}: which weights get more bits than the mix's default type.
 *
 * <p>The idea behind every rule: a few tensors hurt quality far more than their size when coarsely quantized
 * (the output projection, attn_v, ffn_down, and the first and last layers), so a mix spends extra bits there.
 *
 * <p>Stateful, like llama.cpp: attn_v and ffn_down are numbered in the order they are asked about, so
 * {@link #choose} must be called once per quantizable weight, in llama-quantize's tensor order (by layer,
 * then name; see {@link QuantizePlan}). Only called for mixes whose default type is block-quantized, and not
 * for {@code --pure}.
 */
final class MixRules {

    private final QuantMix mix;
    private final ModelShape shape;
    private final int attentionValueCount;
    private final boolean tiedEmbeddings;
    private final GgmlType outputOverride;
    private int attentionValueIndex;
    private int ffnDownIndex;

    /**
     * @param attentionValueCount how many attn_v-like tensors the model has (all of them, quantized or not)
     * @param tiedEmbeddings      true when there is no {@code output.weight}: token_embd then doubles as the
     *                            output projection and is treated like it
     * @param outputOverride      the type asked for the output ({@code --output-tensor-type}), or null; a tied
     *                            token_embd gets it too
     */
    MixRules(QuantMix mix, ModelShape shape, int attentionValueCount, boolean tiedEmbeddings, GgmlType outputOverride) {
        this.mix = mix;
        this.shape = shape;
        this.attentionValueCount = attentionValueCount;
        this.tiedEmbeddings = tiedEmbeddings;
        this.outputOverride = outputOverride;
    }

    /**
     * llama.cpp's layer spread for extra bits: the first and last eighth of the layers, and every third layer
     * in between.
     */
    static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /** The type for weight {@code name} of the given category and row length, before the shape fallback. */
    GgmlType choose(String name, TensorCategory category, long rowLength) {
        GgmlType type = mix.defaultType();
        if (category == TensorCategory.OUTPUT || (tiedEmbeddings && category == TensorCategory.TOKEN_EMBD)) {
            return outputOverride != null ? outputOverride : output(type, rowLength);
        }
        if (category == TensorCategory.TOKEN_EMBD) return type; // an untied embedding is only looked up, never multiplied
        if (category.isAttentionValue()) return attentionValue(type);
        return switch (category) {
            case ATTENTION_K -> shape.experts() == 8 ? Q8_0 : type; // Mixtral: attention is a small share of the model
            case FFN_DOWN -> ffnDown(type, name);
            case ATTENTION_OUTPUT -> attentionOutput(type);
            default -> type;
        };
    }

    /**
     * The output projection decides every logit: Q6_K for all mixes but Q8_0 (which keeps Q8_0), and Q8_0
     * for Falcon or when its rows do not fit the default type's blocks.
     */
    private GgmlType output(GgmlType type, long rowLength) {
        if (shape.isFalcon() || rowLength % type.blockSize() != 0) return Q8_0;
        return type == Q8_0 ? Q8_0 : Q6_K;
    }

    private GgmlType attentionValue(GgmlType type) {
        int i = attentionValueIndex++;
        switch (mix) {
            // Grouped-query attention shares each value head among several query heads: attn_v is small.
            case Q2_K -> type = shape.gqa() >= 4 ? Q4_K : Q3_K;
            case Q3_K_M -> type = i < 2 ? Q5_K : Q4_K;
            case Q3_K_L -> type = Q5_K;
            case IQ4_NL -> type = shape.gqa() >= 4 ? Q5_K : type;
            case Q4_K_M, Q5_K_M -> type = useMoreBits(i, attentionValueCount) ? Q6_K : type;
            case Q4_K_S -> type = i < 4 ? Q5_K : type;
            default -> { }
        }
        if (shape.isLlama70B() && (type == Q3_K || type == Q4_K)) type = Q5_K;
        if (shape.experts() == 8) type = Q8_0; // Mixtral: costs ~128 MB, attention is a small share there
        return type;
    }

    private GgmlType ffnDown(GgmlType type, String name) {
        int layers = shape.layers();
        // Dense models count ffn_down tensors (one per layer, in layer order); in MoE files expert tensors
        // can come in any order, so the layer is read from the name.
        int layer = shape.experts() > 1 ? layerFromName(name, layers) : ffnDownIndex;
        ffnDownIndex++;
        boolean falcon = shape.isFalcon();
        return switch (mix) {
            case Q2_K -> Q3_K;
            case Q3_K_M -> layer < layers / 16 ? Q5_K : !falcon || useMoreBits(layer, layers) ? Q4_K : Q3_K;
            case Q3_K_L -> falcon ? Q4_K : Q5_K;
            case Q4_K_M -> falcon
                    ? (layer < layers / 16 ? Q6_K : useMoreBits(layer, layers) ? Q5_K : Q4_K)
                    : (useMoreBits(layer, layers) ? Q6_K : type);
            case IQ4_NL -> layer < layers / 8 ? Q5_K : type; // without an importance matrix, as here
            case Q5_K_M -> useMoreBits(layer, layers) ? Q6_K : type;
            case Q4_K_S -> !falcon && layer < layers / 8 ? Q5_K : type;
            default -> type;
        };
    }

    private GgmlType attentionOutput(GgmlType type) {
        if (shape.isFalcon()) return mix == QuantMix.Q3_K_L ? Q4_K : type;
        if (shape.experts() == 8) {
            return switch (mix) {
                case Q2_K, Q3_K_S, Q3_K_M, IQ4_NL, Q4_K_S, Q4_K_M -> Q5_K;
                default -> type;
            };
        }
        return switch (mix) {
            case Q2_K -> Q3_K;
            case Q3_K_M -> Q4_K;
            case Q3_K_L -> Q5_K;
            default -> type;
        };
    }

    /** The N of a {@code blk.N.} name. */
    private static int layerFromName(String name, int layers) {
        int layer = QuantizePlan.layerOf(name);
        if (layer < 0) throw new IllegalArgumentException("cannot tell the layer of tensor '" + name + "'");
        if (layer >= layers) {
            throw new IllegalArgumentException("tensor '" + name + "' is in layer " + layer + " of a " + layers + "-layer model");
        }
        return layer;
    }
}
