/**
 * Sentence embeddings from BERT-family encoders in GGUF files ({@code bert}, {@code nomic-bert}):
 * {@link io.ruvector.sparse.embedding.EmbeddingModel} tokenizes, runs the encoder over batches of texts and pools
 * each text to one unit vector. It sits beside the language models, on the same tensors, kernels and pool.
 */
package io.ruvector.sparse.embedding;
