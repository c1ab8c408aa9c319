/**
 * Requantizing whole models, as {@code llama-quantize} does: {@link io.ruvector.sparse.quantize.QuantMix} names
 * the mixes, {@link io.ruvector.sparse.quantize.QuantizePlan} decides every tensor's type with llama.cpp's
 * rules, and {@link io.ruvector.sparse.quantize.ModelQuantizer} streams the converted file to disk with the
 * per-type encoders of {@code io.ruvector.sparse.quant}.
 */
package io.ruvector.sparse.quantize;
