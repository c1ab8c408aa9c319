package io.ruvector.sparse.generation;

import io.ruvector.sparse.model.Session;

/** A {@link LogitsSource} over an engine {@link Session}, copying each result into one reused array. */
final class SessionLogits implements LogitsSource {

    private final Session session;
    private final float[] logits;

    SessionLogits(Session session) {
        this.session = session;
        this.logits = new float[session.model().config().vocabSize()];
    }

    @Override
    public float[] evaluate(int[] tokens) {
        session.evaluate(tokens).copyTo(logits);
        return logits;
    }

    @Override
    public int position() { return session.position(); }

    @Override
    public void rewind(int position) { session.rewind(position); }

    @Override
    public int contextLength() { return session.contextLength(); }

    @Override
    public int vocabSize() { return logits.length; }
}
