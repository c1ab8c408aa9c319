package io.ruvector.sparse.kernels;

/**
 * What the activation vector of a matrix-vector product is rounded to before the dot products.
 */
public enum ActivationPrecision {
    /**
     * Float activations, weights decoded in registers: the exact product of the stored weights with the
     * activations (matches a float64 reference to ~1e-6 relative per dot product).
     */
    F32,
    /**
     * Activations quantized once per product to int8 blocks (Q8_0/Q8_1) and multiplied in integers, as
     * ggml-cpu does: what llama.cpp computes (~1e-2 relative error per dot product), and faster for the
     * compute-bound 4/5-bit formats. Types without an int8 kernel fall back to {@link #F32}.
     */
    INT8
}
