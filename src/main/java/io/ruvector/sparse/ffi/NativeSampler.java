package io.ruvector.sparse.ffi;

import io.ruvector.sparse.sampling.Sampler;

/** What an {@code si_sampler} handle stands for: a sampler and the buffer host logits are read into. */
final class NativeSampler {

    final Sampler sampler;
    final float[] logits;

    NativeSampler(Sampler sampler) {
        this.sampler = sampler;
        this.logits = new float[sampler.vocabSize()];
    }
}
