package io.ruvector.sparse.spark;

/**
 * A model or sidecar file is missing or cannot be opened: the message is one line naming the file and carrying
 * the engine's own words (the byte offset of a corrupt GGUF field, an unsupported architecture or tensor type).
 * It fails the job: no row of it could be generated.
 */
public final class ModelLoadException extends RuntimeException {

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
