package io.ruvector.sparse.quant;

import java.lang.foreign.MemorySegment;

/**
 * A tensor type that can multiply its blocks with an int8-quantized activation ({@link Q8Activation}),
 * ggml-cpu's {@code vec_dot} with Q8_0/Q8_1 on the activation side: integer products within a block, then
 * one float multiply-add by the two block scales. This is what llama.cpp computes (the activation rounding
 * costs ~1e-2 relative per dot product), so it brings logits close to llama.cpp's. Whether it is also faster
 * than the float path depends on the type ({@link #preferredForSingleVectors()}): the Vector API has no byte
 * dot-product instruction ({@code vpdpbusd}), so products are made in 16-bit lanes and each block still needs
 * an int-to-float conversion; Q8_0 gains (its float path widens every byte to a float), 4-bit types do not.
 *
 * <p>Per block the result is {@code (d_w * d_x) * sum_j(w_j * q_j)}, plus {@code m_w * s_x} for formats with a
 * min (Q4_1, Q5_1), where {@code w_j} are the stored integer codes, {@code q_j} the activation codes.
 * {@code xOffset} and {@code n} count values and must be whole blocks of 32.
 */
public interface Int8DotProduct {

    /** Scalar reference of {@link #dotQ8}, block by block as ggml's generic code. */
    float dotQ8Scalar(MemorySegment src, long offset, Q8Activation x, int xOffset, int n);

    /** Vector API kernel: the same sum, accumulated in vector lanes. */
    float dotQ8(MemorySegment src, long offset, Q8Activation x, int xOffset, int n);

    /**
     * One row times several activations, each whole from value 0: {@code out[outIndex + t * outStride] =
     * dotQ8(src, offset, xs[t], 0, n)} for {@code t < count}, the same bits. Types that override it read and
     * decode each weight block once for several columns; each column's arithmetic stays that of {@link #dotQ8}.
     * {@code codes[t]} holds {@code xs[t]}'s codes as floats ({@link Q8Activation#codesTo}), for kernels that
     * multiply in float lanes; others ignore it.
     */
    default void dotQ8Columns(MemorySegment src, long offset, Q8Activation[] xs, float[][] codes, int count, int n,
                              float[] out, int outIndex, int outStride) {
        for (int t = 0; t < count; t++) out[outIndex + t * outStride] = dotQ8(src, offset, xs[t], 0, n);
    }

    /**
     * Whether single-vector products (decoding) of this type run faster through {@link #dotQ8} than through the
     * float kernel, end to end: what {@code ActivationPrecision.AUTO} goes by. False unless measured.
     */
    default boolean preferredForSingleVectors() { return false; }
}
