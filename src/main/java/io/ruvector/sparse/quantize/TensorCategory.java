package io.ruvector.sparse.quantize;

/**
 * The broad role of a weight as llama-quantize's mixes see it, told from its GGUF name alone (the same
 * substrings for every architecture, so rules written for llama apply to the others).
 */
enum TensorCategory {
    TOKEN_EMBD,
    ATTENTION_Q,
    ATTENTION_K,
    ATTENTION_V,
    /** Fused q/k/v projection (falcon, phi, ...): as sensitive as attn_v, so treated like it. */
    ATTENTION_QKV,
    /** DeepSeek's compressed k/v up-projection: also treated like attn_v. */
    ATTENTION_KV_B,
    ATTENTION_OUTPUT,
    FFN_UP,
    FFN_GATE,
    FFN_DOWN,
    OUTPUT,
    OTHER;

    /** The category of the tensor named {@code name}; the order of the checks matters (first match wins). */
    static TensorCategory of(String name) {
        if (name.equals("output.weight")) return OUTPUT;
        if (name.equals("token_embd.weight") || name.equals("per_layer_token_embd.weight")) return TOKEN_EMBD;
        if (name.contains("attn_qkv.weight")) return ATTENTION_QKV;
        if (name.contains("attn_kv_b.weight")) return ATTENTION_KV_B;
        if (name.contains("attn_v.weight")) return ATTENTION_V;
        if (name.contains("attn_k.weight")) return ATTENTION_K;
        if (name.contains("attn_q.weight")) return ATTENTION_Q;
        if (name.contains("attn_output.weight")) return ATTENTION_OUTPUT;
        if (name.contains("ffn_up")) return FFN_UP;
        if (name.contains("ffn_gate")) return FFN_GATE;
        if (name.contains("ffn_down")) return FFN_DOWN;
        return OTHER;
    }

    /** The value-like projections, which lose the most from coarse quantization and get more bits. */
    boolean isAttentionValue() { return this == ATTENTION_V || this == ATTENTION_QKV || this == ATTENTION_KV_B; }
}
