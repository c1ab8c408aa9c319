package io.ruvector.sparse.quant;

/**
 * The two float-to-int roundings ggml's reference quantizers use; using the same one matters for
 * byte-identical output.
 */
public final class Rounding {

    private Rounding() {}

    /**
     * C's {@code roundf}: nearest integer, halfway cases away from zero (ggml's Q8_0/Q8_1 quantizers).
     * Exact for every float: the addition is done in double, where it cannot round.
     */
    public static int roundHalfAway(float x) {
        double r = Math.floor(Math.abs((double) x) + 0.5);
        return (int) (x < 0 ? -r : r);
    }

    /**
     * ggml's {@code nearest_int}: nearest integer, halfway cases to even (the K-quant and IQ quantizers).
     * ggml requires |x| < 2^22; {@link Math#rint} agrees with it there.
     */
    public static int nearestInt(float x) {
        return (int) Math.rint(x);
    }
}
