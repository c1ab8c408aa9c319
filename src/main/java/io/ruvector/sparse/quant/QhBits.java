package io.ruvector.sparse.quant;

/** Single-bit masks for the fifth bits of Q5_0/Q5_1 codes, as vector-loadable arrays (read-only). */
final class QhBits {

    /** {@code 1 << j} for j in [0, 32). */
    static final int[] INT = new int[32];
    /** {@code 1 << j} for j in [0, 16), as shorts (bit 15 is the sign bit). */
    static final short[] SHORT = new short[16];

    static {
        for (int j = 0; j < 32; j++) INT[j] = 1 << j;
        for (int j = 0; j < 16; j++) SHORT[j] = (short) (1 << j);
    }

    private QhBits() {}
}
