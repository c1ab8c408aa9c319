/**
 * Text generation and chat on top of a model session.
 *
 * <p>{@link io.ruvector.sparse.generation.Generator} evaluates a prompt and then samples, streams (to a
 * {@link io.ruvector.sparse.generation.TokenListener}) and feeds back one token at a time until an
 * end-of-generation token, a stop string, the token limit, a full context or a
 * {@link io.ruvector.sparse.generation.Cancellation}; it returns a
 * {@link io.ruvector.sparse.generation.GenerationResult} with the tokens, the text and the speed.
 * {@link io.ruvector.sparse.generation.Chat} keeps a conversation over one session, rendered with the model's
 * {@link io.ruvector.sparse.generation.ChatTemplate} (Jinja, via Jinjava).
 *
 * <p>The generator talks to the model through two small interfaces,
 * {@link io.ruvector.sparse.generation.LogitsSource} and {@link io.ruvector.sparse.generation.TokenText};
 * {@link io.ruvector.sparse.generation.Generator#of(io.ruvector.sparse.model.Session)} adapts the engine's
 * session and tokenizer, and tests plug in small fakes.
 */
package io.ruvector.sparse.generation;
