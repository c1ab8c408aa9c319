package io.ruvector.sparse.model;

/** What the activation operand of a weight matrix product is rounded to. */
public enum ActivationPrecision {
    /** Activations stay float32; weights are decoded exactly (the reference numerics). */
    F32,
    /**
     * Activations are rounded to 8-bit blocks before each product with quantized weights, as ggml-cpu does
     * ({@code vec_dot_type}: Q8_0/Q8_1 blocks multiplied in integers for the Q4_0..Q8_0 family, Q8_K blocks for
     * K-quant weights, F16/BF16 for those weights), in prompt batches and decoding alike, so logits come close
     * to llama.cpp's and further from the exact forward pass. Weights of other types keep float activations.
     * For fidelity to llama.cpp; speed is {@link #AUTO}'s concern.
     */
    INT8,
    /**
     * The fast default: products whose int8 kernel beats the float one quantize the activation to int8 blocks
     * as ggml-cpu does: single-token products (decoding) with Q8_0 weights
     * ({@link io.ruvector.sparse.quant.Int8DotProduct#preferredForSingleVectors()}; ~17% faster decode) and with
     * Q4_0 weights when {@link ModelOptions#repack} gives them interleaved copies (about twice as fast), with
     * Q2_K..Q6_K weights from their interleaved copies (Q8_K activations as ggml-cpu's; several times
     * the float kernel's speed), and
     * prompt batches of more than half a tile of tokens (33 or more at 512 bits) with Q4_0 weights (a 16-bit
     * integer GEMM, +25% on full tiles of 64). All other products stay float32, as in {@link #F32}. Those
     * logits therefore carry the int8 rounding (~1e-2 relative per dot product, like llama.cpp's own), while
     * other products are exact: use {@link #F32} when a token must get the same logits whichever path
     * evaluates it.
     */
    AUTO;

    /** The precision named {@code auto}, {@code f32} or {@code int8} (any case), as the CLI options spell them. */
    public static ActivationPrecision parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> AUTO;
            case "f32" -> F32;
            case "int8" -> INT8;
            default -> throw new IllegalArgumentException("--activations must be auto, f32 or int8, not '" + name + "'");
        };
    }
}
