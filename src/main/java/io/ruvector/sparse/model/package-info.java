/**
 * Dense inference for llama-family models (architectures {@code llama} and {@code qwen2}) read in place from
 * GGUF files.
 *
 * <p>Entry points: {@link io.ruvector.sparse.model.LanguageModel#open} maps a file and reads its
 * {@link io.ruvector.sparse.model.ModelConfig} and {@link io.ruvector.sparse.model.ModelWeights} (zero-copy
 * tensors); {@link io.ruvector.sparse.model.LanguageModel#newSession()} creates a
 * {@link io.ruvector.sparse.model.Session} with its own off-heap key/value cache and threads, which evaluates
 * tokens and returns {@link io.ruvector.sparse.model.Logits}. The feed-forward block of each layer is a
 * pluggable {@link io.ruvector.sparse.model.FeedForward} strategy (dense by default; the sparse engine
 * supplies its own) and can be watched with an {@link io.ruvector.sparse.model.FfnObserver}.
 *
 * <p>Numerics: activations stay float32 and weights are decoded exactly, so logits match a float64
 * reference of the same weights to ~1e-5; results do not depend on the thread count.
 */
package io.ruvector.sparse.model;
