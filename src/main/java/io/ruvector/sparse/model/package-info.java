/**
 * Dense inference for llama-family models (architectures {@code llama}, {@code qwen2}, {@code qwen3}, {@code phi3},
 * {@code gemma3} and {@code gemma2}, each
 * described by how its block differs from llama's in {@link io.ruvector.sparse.model.Architecture}) read in
 * place from GGUF files.
 *
 * <p>Entry points: {@link io.ruvector.sparse.model.LanguageModel#open} maps a file and reads its
 * {@link io.ruvector.sparse.model.ModelConfig} and {@link io.ruvector.sparse.model.ModelWeights} (zero-copy
 * tensors); {@link io.ruvector.sparse.model.LanguageModel#newSession()} creates a
 * {@link io.ruvector.sparse.model.Session} with its own off-heap key/value cache (all sessions of a model share
 * its pool of threads), which evaluates
 * tokens and returns {@link io.ruvector.sparse.model.Logits}. The feed-forward block of each layer is a
 * pluggable {@link io.ruvector.sparse.model.FeedForward} strategy (dense by default; the sparse engine
 * supplies its own) and can be watched with an {@link io.ruvector.sparse.model.FfnObserver}.
 *
 * <p>Numerics: weights are decoded exactly. With {@link io.ruvector.sparse.model.ActivationPrecision#F32}
 * activations stay float32 and logits match a float64 reference of the same weights to ~2e-5. The default,
 * {@link io.ruvector.sparse.model.ActivationPrecision#AUTO}, rounds activations to int8 blocks as llama.cpp does
 * where the int8 kernel is the faster one (single-token products with Q8_0 and Q4_0 weights, Q4_0 prompt
 * batches of 33 tokens or more at 512 bits); {@code INT8} rounds every product as ggml-cpu does (not its fp16
 * table of GELU, which Gemma's feed-forward blocks go through in llama.cpp: their GELU stays exact). Results
 * never depend on the thread count.
 */
package io.ruvector.sparse.model;
