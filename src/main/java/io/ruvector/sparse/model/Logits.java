package io.ruvector.sparse.model;

/**
 * A read-only view of the logits a session computed last: one score per vocabulary entry.
 *
 * <p>The view is reused: it shows the result of the session's most recent {@code evaluate} and changes
 * with the next one. Copy with {@link #copyTo} or {@link #toArray()} to keep values.
 */
public final class Logits {

    private final float[] values;

    Logits(float[] values) { this.values = values; }

    /** Vocabulary size. */
    public int size() { return values.length; }

    /** The logit of token {@code id}. */
    public float get(int id) { return values[id]; }

    /** Copies all logits into {@code dst[0 .. size())}. */
    public void copyTo(float[] dst) { System.arraycopy(values, 0, dst, 0, values.length); }

    /** A copy of all logits. */
    public float[] toArray() { return values.clone(); }

    /** The id with the largest logit (the lowest id on ties). */
    public int argmax() { return io.ruvector.sparse.cpu.VectorMath.argmax(values, 0, values.length); }
}
