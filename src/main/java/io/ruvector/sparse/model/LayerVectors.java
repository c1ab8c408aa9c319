package io.ruvector.sparse.model;

/** A layer's small per-channel weights decoded once to floats: norms and optional biases (null when absent). */
record LayerVectors(float[] attnNorm, float[] ffnNorm, float[] bq, float[] bk, float[] bv) {

    static LayerVectors of(LayerWeights w) {
        return new LayerVectors(w.attnNorm().toFloatArray(), w.ffnNorm().toFloatArray(),
                w.bq() == null ? null : w.bq().toFloatArray(),
                w.bk() == null ? null : w.bk().toFloatArray(),
                w.bv() == null ? null : w.bv().toFloatArray());
    }
}
