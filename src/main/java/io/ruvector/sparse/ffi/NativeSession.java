package io.ruvector.sparse.ffi;

import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.model.Session;

/** What an {@code si_session} handle stands for: a session, and the generation running on it, if any. */
final class NativeSession {

    final NativeModel owner;
    final Session session;
    /** The running generation's flag, so cancel() from another thread can reach it; null when idle. */
    volatile Cancellation running;

    NativeSession(NativeModel owner, Session session) {
        this.owner = owner;
        this.session = session;
    }

    int vocabSize() { return session.model().config().vocabSize(); }
}
