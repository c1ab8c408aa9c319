package io.ruvector.sparse.spark;

import io.ruvector.sparse.model.LanguageModel;

/** The engine a dense model runs rows with. */
final class Engines {

    private Engines() {}

    /** Rows of every task of the executor generated with per-task sessions on the model's shared pool. */
    static CompletionEngine dense(LanguageModel model, int threads) {
        return new SessionEngine(model::newSession);
    }
}
