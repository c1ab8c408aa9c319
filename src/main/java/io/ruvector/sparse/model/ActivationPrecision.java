package io.ruvector.sparse.model;

/** What the activation operand of a weight matrix product is rounded to. */
public enum ActivationPrecision {
    /** Activations stay float32; weights are decoded exactly (the reference numerics). */
    F32,
    /**
     * Activations are rounded to 8-bit blocks before each product with quantized weights, as ggml-cpu does
     * ({@code vec_dot_type}: Q8_K blocks for K-quant weights), so logits come close to llama.cpp's and
     * further from the exact forward pass. Weights of other types keep float activations. Not faster: the
     * rounding is for fidelity to llama.cpp.
     */
    INT8
}
