package io.ruvector.sparse.quant;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.cpu.Parallel;

import java.lang.foreign.Arena;

/**
 * A K-quant matrix repacked for single-vector products with Q8_K activations ({@link Q8KActivation}), the
 * K-quant counterpart of {@link InterleavedQ4_0}: rows interleaved in groups of {@link #GROUP}, one row per
 * vector lane, so that each activation code is one broadcast multiply-add over 32 rows in 16-bit lanes, and the
 * per-row work (sub-block scales, mins, int-to-float conversion) is paid once per 32 rows and 16 or 32 values.
 * A last partial group is padded with zero rows (never written out).
 *
 * <p>Results: the integer sum of each super-block is exact, and the float accumulation runs super-block by
 * super-block in a fixed order, so every output equals the type's scalar twin ({@link #dotQ8KScalar}) bit for
 * bit, at every vector width and thread count. The arithmetic is ggml-cpu's {@code vec_dot_qX_K_q8_K}
 * (integer sub-block sums scaled by the integer sub-block scales, one float product per super-block), up to the
 * float summation order.
 */
public sealed interface InterleavedKQuant permits InterleavedQ2_K, InterleavedQ3_K, InterleavedQ4_K, InterleavedQ5_K, InterleavedQ6_K {

    /** Rows per group: one lane each in a 512-bit vector of shorts. */
    int GROUP = 32;

    String name();

    int rows();

    int cols();

    /** Groups of {@link #GROUP} rows, the last one possibly partial: {@code ceil(rows / GROUP)}. */
    default int groups() { return (rows() + GROUP - 1) / GROUP; }

    /** Bytes of the repacked copy. */
    long byteSize();

    /**
     * {@code out[outOffset + r] = row r . x} for the rows of groups {@code [groupFrom, groupTo)}, with {@code x}
     * quantized over at least {@link #cols()} values.
     */
    void dotQ8K(Q8KActivation x, float[] out, int outOffset, int groupFrom, int groupTo);

    /** Scalar reference of {@link #dotQ8K}: the repacked layout read one row and one value at a time. */
    void dotQ8KScalar(Q8KActivation x, float[] out, int outOffset, int groupFrom, int groupTo);

    /** Whether {@code w} has an interleaved layout: Q2_K, Q3_K, Q4_K, Q5_K or Q6_K. */
    public static boolean supports(QuantMatrix w) { return supports(w.ggmlType(), w.rows(), w.cols()); }

    /** Whether a {@code rows x cols} matrix of {@code t} can be interleaved (no allocation: asked per product). */
    public static boolean supports(GgmlType t, int rows, int cols) {
        return (t == GgmlType.Q2_K || t == GgmlType.Q3_K || t == GgmlType.Q4_K || t == GgmlType.Q5_K || t == GgmlType.Q6_K)
                && rows > 0 && cols % Q8KActivation.BLOCK == 0;
    }

    /**
     * Repacks {@code w} into memory of {@code arena}, groups spread over {@code pool}; null when a super-block
     * scale is infinite or NaN (the kernels' fp16 widening assumes finite ones; such a matrix is left to the
     * per-row kernels, which handle any value).
     *
     * @throws IllegalArgumentException when {@code w} is not {@link #supports supported}
     */
    public static InterleavedKQuant repack(QuantMatrix w, Arena arena, Parallel pool) {
        if (!supports(w)) {
            throw new IllegalArgumentException("cannot interleave " + w.name() + " (" + w.ggmlType() + ", "
                    + w.rows() + "x" + w.cols() + "): needs K-quant (Q2_K..Q6_K) rows of whole 256-value blocks");
        }
        return switch (w.ggmlType()) {
            case Q2_K -> InterleavedQ2_K.repack(w, arena, pool);
            case Q3_K -> InterleavedQ3_K.repack(w, arena, pool);
            case Q4_K -> InterleavedQ4_K.repack(w, arena, pool);
            case Q5_K -> InterleavedQ5_K.repack(w, arena, pool);
            case Q6_K -> InterleavedQ6_K.repack(w, arena, pool);
            default -> throw new AssertionError(w.ggmlType());
        };
    }

    /** Argument checks shared by the kernels. */
    static void check(InterleavedKQuant m, Q8KActivation x, float[] out, int outOffset, int groupFrom, int groupTo) {
        if (groupFrom < 0 || groupTo > m.groups() || groupFrom > groupTo) {
            throw new IndexOutOfBoundsException("groups [" + groupFrom + ", " + groupTo + ") of " + m.groups());
        }
        if (x.length() < m.cols() || outOffset < 0 || out.length < outOffset + (long) Math.min(m.rows(), groupTo * GROUP)) {
            throw new IllegalArgumentException(m.name() + ": activation of " + x.length() + " values, out["
                    + out.length + "] from " + outOffset + " for groups up to " + groupTo);
        }
    }

    /** Whether an fp16 value's exponent field is all ones (infinite or NaN). */
    static boolean nonFinite(short half) { return (half & 0x7C00) == 0x7C00; }
}
