package io.ruvector.sparse.quant;

/** What the two ternary formats ({@link TQ1_0}, {@link TQ2_0}) share: the block scale and the rounding to a trit. */
final class Ternary {

    private Ternary() {}

    /** The largest magnitude of {@code n} values: the block scale of both ternary formats. */
    static float absMax(float[] x, int from, int n) {
        float amax = 0f;
        for (int i = 0; i < n; i++) amax = Math.max(amax, Math.abs(x[from + i]));
        return amax;
    }

    /** {@code x / d} rounded half away from zero (C's lroundf, as ggml), shifted from {-1, 0, 1} to {0, 1, 2}. */
    static int code(float x, float id) {
        return Rounding.roundHalfAway(x * id) + 1;
    }
}
