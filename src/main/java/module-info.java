/**
 * ruvector-sparse-inference: language models from GGUF files on the JVM, with activation sparsity.
 *
 * <p>The API is what this module exports: reading GGUF files ({@code gguf}), models and sessions
 * ({@code model}), sentence embeddings ({@code embedding}), text generation and chat ({@code generation}), sampling, tokenizers, and the sparse engine's
 * entry points ({@code sparse}) and requantizing model files ({@code quantize}). Kernels, tensor types, tensors, memory tiers and the CPU helpers are internal:
 * they change with the engine's speed work and are not for users.
 *
 * <p>The launcher and the C host run the engine from the class path; this descriptor matters to programs that
 * put the jar on the module path, and it keeps the internal packages internal to javac.
 */
module io.ruvector.sparse {
    requires jdk.incubator.vector;
    requires jdk.management;    // bench: per-thread allocation counters (com.sun.management)
    requires java.net.http;     // the CLI downloads the demo model once
    requires info.picocli;
    requires jinjava;

    exports io.ruvector.sparse.gguf;
    exports io.ruvector.sparse.model;
    exports io.ruvector.sparse.embedding;
    exports io.ruvector.sparse.generation;
    exports io.ruvector.sparse.sampling;
    exports io.ruvector.sparse.tokenizer;
    exports io.ruvector.sparse.sparse;
    exports io.ruvector.sparse.quantize;

    // picocli fills the commands' option fields reflectively.
    opens io.ruvector.sparse.cli to info.picocli;
}
