package io.ruvector.sparse.quant;

/** Argument checks shared by the block formats: kernels take whole blocks only. */
final class Blocks {

    private Blocks() {}

    /** Number of blocks in {@code n} values; throws when {@code n} is not a whole, non-negative number of blocks. */
    static int count(int n, int blockSize, String type) {
        if (n < 0 || n % blockSize != 0) {
            throw new IllegalArgumentException(type + " works on whole blocks of " + blockSize + " values, not " + n);
        }
        return n / blockSize;
    }
}
