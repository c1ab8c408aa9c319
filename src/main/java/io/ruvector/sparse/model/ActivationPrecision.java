package io.ruvector.sparse.model;

/** What the activation operand of a weight matrix product is rounded to. */
public enum ActivationPrecision {
    /** Activations stay float32; weights are decoded exactly (the reference numerics). */
    F32,
    /**
     * Activations are quantized to 8-bit blocks before each product, as ggml-cpu does (faster integer dot
     * products on quantized weights, logits closer to llama.cpp's, further from the exact forward pass).
     */
    INT8
}
