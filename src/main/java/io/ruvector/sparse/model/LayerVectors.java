package io.ruvector.sparse.model;

import io.ruvector.sparse.tensor.Tensor;

/**
 * A layer's small per-channel weights decoded once to floats: norms, optional biases, optional per-head
 * q/k norms and optional post norms (null when absent).
 */
record LayerVectors(float[] attnNorm, float[] ffnNorm, float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm,
                    float[] postAttnNorm, float[] postFfnNorm) {

    static LayerVectors of(LayerWeights w) {
        return new LayerVectors(w.attnNorm().toFloatArray(), w.ffnNorm().toFloatArray(),
                floats(w.bq()), floats(w.bk()), floats(w.bv()), floats(w.qNorm()), floats(w.kNorm()),
                floats(w.postAttnNorm()), floats(w.postFfnNorm()));
    }

    private static float[] floats(Tensor t) { return t == null ? null : t.toFloatArray(); }
}
