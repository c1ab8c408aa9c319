package io.ruvector.sparse.ffi;

import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.tokenizer.Tokenizer;

import java.lang.foreign.Arena;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What an {@code si_model} handle stands for: the model, its tokenizer, its sessions' handles, and for a
 * model read from host memory the arena that scopes Java's view of that memory.
 */
final class NativeModel {

    final LanguageModel model;
    final Tokenizer tokenizer;
    final Set<NativeSession> sessions = ConcurrentHashMap.newKeySet();
    private final Arena hostMemory; // null for a model opened from a path

    NativeModel(LanguageModel model, Tokenizer tokenizer, Arena hostMemory) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.hostMemory = hostMemory;
    }

    /**
     * Closes the model (and so its sessions), then ends Java's access to the host's memory: from here on
     * any stray access throws instead of reading memory the host may unmap.
     */
    void close() {
        try {
            model.close();
        } finally {
            if (hostMemory != null && hostMemory.scope().isAlive()) hostMemory.close();
        }
    }
}
