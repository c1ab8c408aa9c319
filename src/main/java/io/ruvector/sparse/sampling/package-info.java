/**
 * Choosing the next token from logits.
 *
 * <p>{@link io.ruvector.sparse.sampling.SamplerConfig} holds the settings (greedy, temperature, top-k, top-p,
 * min-p, repetition/frequency/presence penalties, seed) with llama.cpp's defaults;
 * {@link io.ruvector.sparse.sampling.Sampler} applies them in llama.cpp's order with buffers allocated once,
 * and draws from a fixed, named random algorithm so a seed always gives the same tokens.
 */
package io.ruvector.sparse.sampling;
