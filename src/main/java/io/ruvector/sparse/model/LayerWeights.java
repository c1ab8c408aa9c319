package io.ruvector.sparse.model;

import io.ruvector.sparse.tensor.Tensor;

/**
 * The tensors of one transformer block, zero-copy views of the mapped file. Matrices have one row per
 * output value ({@code rows} outputs of {@code cols} inputs). Optional tensors are {@code null}.
 *
 * @param attnNorm  RMSNorm weight before attention [dim]
 * @param wq        query projection [qDim x dim]
 * @param wk        key projection [kvDim x dim]
 * @param wv        value projection [kvDim x dim]
 * @param wo        attention output projection [dim x qDim]
 * @param bq        query bias [qDim] or null
 * @param bk        key bias [kvDim] or null
 * @param bv        value bias [kvDim] or null
 * @param qNorm     per-head RMSNorm weight of the queries [headDim] (qwen3, gemma3) or null
 * @param kNorm     per-head RMSNorm weight of the keys [headDim] (qwen3, gemma3) or null
 * @param ffnNorm   RMSNorm weight before the feed-forward block [dim]
 * @param gate      gate projection [ffnDim x dim], null for an ungated feed-forward block
 * @param up        up projection [ffnDim x dim]
 * @param down      down projection [dim x ffnDim], or null when the file stores it transposed only ({@code downT})
 * @param postAttnNorm RMSNorm weight of the attention output before the residual add [dim] (gemma) or null
 * @param postFfnNorm  RMSNorm weight of the feed-forward output before the residual add [dim] (gemma) or null
 * @param downT     the down projection transposed [ffnDim x dim] (one row per neuron), as PowerInfer's files store
 *                  it instead of {@code down}; null when the file has {@code down}
 */
public record LayerWeights(Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                           Tensor bq, Tensor bk, Tensor bv, Tensor qNorm, Tensor kNorm,
                           Tensor ffnNorm, Tensor gate, Tensor up, Tensor down,
                           Tensor postAttnNorm, Tensor postFfnNorm, Tensor downT) {

    public LayerWeights {
        if ((down == null) == (downT == null)) {
            throw new IllegalArgumentException("a block needs exactly one of the down projection and its transpose");
        }
    }

    /** A block with its down projection stored as usual. */
    public LayerWeights(Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo, Tensor bq, Tensor bk, Tensor bv,
                        Tensor qNorm, Tensor kNorm, Tensor ffnNorm, Tensor gate, Tensor up, Tensor down,
                        Tensor postAttnNorm, Tensor postFfnNorm) {
        this(attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, gate, up, down, postAttnNorm, postFfnNorm, null);
    }

    /** A block without post norms. */
    public LayerWeights(Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo, Tensor bq, Tensor bk, Tensor bv,
                        Tensor qNorm, Tensor kNorm, Tensor ffnNorm, Tensor gate, Tensor up, Tensor down) {
        this(attnNorm, wq, wk, wv, wo, bq, bk, bv, qNorm, kNorm, ffnNorm, gate, up, down, null, null, null);
    }
}
