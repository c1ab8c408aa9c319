package io.ruvector.sparse.model;

import io.ruvector.sparse.tensor.Tensor;

/**
 * A layer's small per-channel weights decoded once to floats: norms, optional biases and optional per-head
 * q/k norms (null when absent).
 */
record LayerVectors(float[] attnNorm, float[] ffnNorm, float[] bq, float[] bk, float[] bv, float[] qNorm, float[] kNorm) {

    static LayerVectors of(LayerWeights w) {
        return new LayerVectors(w.attnNorm().toFloatArray(), w.ffnNorm().toFloatArray(),
                floats(w.bq()), floats(w.bk()), floats(w.bv()), floats(w.qNorm()), floats(w.kNorm()));
    }

    private static float[] floats(Tensor t) { return t == null ? null : t.toFloatArray(); }
}
