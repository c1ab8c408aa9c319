package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;

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
 *
 * <p>The kernels widen bytes with sign-extending conversions ({@code B2S}, {@code B2I}) and mask what they need,
 * never with {@code ZERO_EXTEND_*}, and name the target species of every conversion ({@code convertShape(op,
 * species, part)}, not {@code convert} or {@code viewAsFloatingLanes}): those forms run through checks and type
 * profiles in JDK code shared by every kernel, and after a prompt batch's kernels had used them with other shapes
 * C2 compiled the decode kernels with their vectors boxed, intermittently, at two thirds of the speed
 * (docs/PERFORMANCE.md, "Decode after a prompt"; {@code DecodeKernelConversionsTest} keeps the rule).
 */
public abstract sealed class InterleavedKQuant permits InterleavedQ2_K, InterleavedQ3_K, InterleavedQ4_K, InterleavedQ5_K, InterleavedQ6_K {

    /** Rows per group: one lane each in a 512-bit vector of shorts. */
    public static final int GROUP = 32;

    /** Values per super-block. */
    static final int QK = Q8KActivation.BLOCK;

    // The kernels cover a group in chunks of as many rows as a vector of shorts has lanes (32 at 512 bits).
    static final VectorSpecies<Short> S = Simd.S;
    static final int LS = S.length();
    static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(LS * 8));
    static final VectorSpecies<Float> F = Simd.F;
    static final VectorSpecies<Integer> I = Simd.I;
    static final int LF = F.length();
    private static final int CHUNKS = GROUP / LS;

    final String name;
    final int rows;
    final int cols;
    /** Super-blocks per row. */
    final int blocks;
    /** The groups, one after another, each super-block in the layout of the subclass. */
    final MemorySegment data;

    InterleavedKQuant(String name, int rows, int cols, MemorySegment data) {
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / Q8KActivation.BLOCK;
        this.data = data;
    }

    /** Bytes of one super-block of a group (32 rows) in the layout of {@code t}, a K-quant {@link #supports supported}. */
    private static int packedBytes(GgmlType t) {
        return switch (t) {
            case Q2_K -> InterleavedQ2_K.SB;
            case Q3_K -> InterleavedQ3_K.SB;
            case Q4_K -> InterleavedQ4_K.SB;
            case Q5_K -> InterleavedQ5_K.SB;
            case Q6_K -> InterleavedQ6_K.SB;
            default -> throw new IllegalArgumentException(t + " has no interleaved layout");
        };
    }

    /** Bytes of the copy of a {@code rows x cols} matrix of {@code t} ({@link #supports supported}), padding rows included. */
    public static long byteSize(GgmlType t, int rows, int cols) {
        return (long) ((rows + GROUP - 1) / GROUP) * (cols / Q8KActivation.BLOCK) * packedBytes(t);
    }

    /**
     * The interleaved copy of {@code t} matrix {@code name} whose bytes {@code data} already hold (zero-copy: e.g.
     * a slice of a mapped cache file written from {@link #bytes()} of an earlier copy).
     *
     * @throws IllegalArgumentException when the type and shape are not {@link #supports supported} or {@code data}
     *                                  is not {@link #byteSize(GgmlType, int, int)} bytes
     */
    public static InterleavedKQuant wrap(GgmlType t, String name, int rows, int cols, MemorySegment data) {
        if (!supports(t, rows, cols) || cols <= 0) {
            throw new IllegalArgumentException(name + ": " + t + " " + rows + "x" + cols + " has no interleaved layout");
        }
        long size = byteSize(t, rows, cols);
        if (data.byteSize() != size) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes, not the " + size
                    + " of an interleaved " + rows + "x" + cols + " " + t + " matrix");
        }
        return switch (t) {
            case Q2_K -> new InterleavedQ2_K(name, rows, cols, data);
            case Q3_K -> new InterleavedQ3_K(name, rows, cols, data);
            case Q4_K -> new InterleavedQ4_K(name, rows, cols, data);
            case Q5_K -> new InterleavedQ5_K(name, rows, cols, data);
            case Q6_K -> new InterleavedQ6_K(name, rows, cols, data);
            default -> throw new AssertionError(t);
        };
    }

    /** The K-quant type this copy holds. */
    public abstract GgmlType ggmlType();

    /** The copy's bytes, read-only (to store them, e.g. in a cache file). */
    public final MemorySegment bytes() { return data.asReadOnly(); }

    /** Whether the copy lives in a mapped file (a cache file, or a file in RAM) rather than anonymous memory. */
    public final boolean isMapped() { return data.isMapped(); }

    public final String name() { return name; }

    public final int rows() { return rows; }

    public final int cols() { return cols; }

    /** Groups of {@link #GROUP} rows, the last one possibly partial: {@code ceil(rows / GROUP)}. */
    public final int groups() { return (rows + GROUP - 1) / GROUP; }

    /** Bytes of the repacked copy. */
    public final long byteSize() { return data.byteSize(); }

    /**
     * {@code out[outOffset + r] = row r . x} for the rows of groups {@code [groupFrom, groupTo)}, with {@code x}
     * quantized over at least {@link #cols()} values.
     */
    public final void dotQ8K(Q8KActivation x, float[] out, int outOffset, int groupFrom, int groupTo) {
        check(this, x, out, outOffset, groupFrom, groupTo);
        for (int g = groupFrom; g < groupTo; g++) {
            for (int c = 0; c < CHUNKS; c++) chunk(x, out, outOffset, g, c);
        }
    }

    /** The vector kernel: the rows of chunk {@code c} of group {@code g}, one per lane. */
    abstract void chunk(Q8KActivation x, float[] out, int outOffset, int g, int c);

    /** Scalar reference of {@link #dotQ8K}: the repacked layout read one row and one value at a time. */
    public abstract void dotQ8KScalar(Q8KActivation x, float[] out, int outOffset, int groupFrom, int groupTo);

    /** Whether {@code w} has an interleaved layout: Q2_K, Q3_K, Q4_K, Q5_K or Q6_K. */
    public static boolean supports(QuantMatrix w) { return supports(w.ggmlType(), w.rows(), w.cols()); }

    /** Whether a {@code rows x cols} matrix of {@code t} can be interleaved (no allocation: asked per product). */
    public static boolean supports(GgmlType t, int rows, int cols) {
        return (t == GgmlType.Q2_K || t == GgmlType.Q3_K || t == GgmlType.Q4_K || t == GgmlType.Q5_K || t == GgmlType.Q6_K)
                && rows > 0 && cols % Q8KActivation.BLOCK == 0;
    }

    /**
     * Repacks {@code w} into memory from {@code memory}, groups spread over {@code pool}; null when a super-block
     * scale is infinite or NaN (the kernels' fp16 widening assumes finite ones; such a matrix is left to the
     * per-row kernels, which handle any value).
     *
     * @throws IllegalArgumentException when {@code w} is not {@link #supports supported}
     */
    public static InterleavedKQuant repack(QuantMatrix w, SegmentAllocator memory, Parallel pool) {
        if (!supports(w)) {
            throw new IllegalArgumentException("cannot interleave " + w.name() + " (" + w.ggmlType() + ", "
                    + w.rows() + "x" + w.cols() + "): needs K-quant (Q2_K..Q6_K) rows of whole 256-value blocks");
        }
        return switch (w.ggmlType()) {
            case Q2_K -> InterleavedQ2_K.copyOf(w, memory, pool);
            case Q3_K -> InterleavedQ3_K.copyOf(w, memory, pool);
            case Q4_K -> InterleavedQ4_K.copyOf(w, memory, pool);
            case Q5_K -> InterleavedQ5_K.copyOf(w, memory, pool);
            case Q6_K -> InterleavedQ6_K.copyOf(w, memory, pool);
            default -> throw new AssertionError(w.ggmlType());
        };
    }

    /** Packs one row's super-block {@code in} (the file's bytes) into lane {@code i} of its group's super-block {@code out}. */
    @FunctionalInterface
    interface RowPacker {
        void pack(byte[] in, byte[] out, int i);
    }

    /**
     * The copy every layout makes the same way: null when the fp16 scale at any of {@code scaleOffsets} of any
     * super-block is infinite or NaN; else the groups of {@link #GROUP} rows (the last padded with zero rows),
     * each super-block of {@code packedBytes} filled row by row by {@code packer}, groups spread over {@code pool}.
     */
    static MemorySegment interleave(QuantMatrix w, SegmentAllocator memory, Parallel pool, int blockBytes, int packedBytes,
                                    int[] scaleOffsets, RowPacker packer) {
        MemorySegment src = w.data();
        long rowBytes = w.rowBytes();
        int blocks = w.cols() / Q8KActivation.BLOCK;
        for (long r = 0; r < w.rows(); r++) {
            for (int b = 0; b < blocks; b++) {
                long blk = r * rowBytes + (long) b * blockBytes;
                for (int at : scaleOffsets) if (nonFinite(src.get(Layouts.SHORT_LE, blk + at))) return null;
            }
        }
        int groups = (w.rows() + GROUP - 1) / GROUP;
        MemorySegment dst = memory.allocate((long) groups * blocks * packedBytes, 64);
        pool.forRange(groups, (long) groups * GROUP * w.cols(), (from, to) -> {
            byte[] in = new byte[blockBytes];
            byte[] out = new byte[packedBytes];
            for (int g = from; g < to; g++) {
                for (int b = 0; b < blocks; b++) {
                    java.util.Arrays.fill(out, (byte) 0);
                    for (int i = 0; i < GROUP; i++) {
                        int r = g * GROUP + i;
                        if (r >= w.rows()) break;   // padding rows stay zero
                        MemorySegment.copy(src, ValueLayout.JAVA_BYTE, r * rowBytes + (long) b * blockBytes, in, 0, blockBytes);
                        packer.pack(in, out, i);
                    }
                    MemorySegment.copy(out, 0, dst, ValueLayout.JAVA_BYTE, ((long) g * blocks + b) * packedBytes, packedBytes);
                }
            }
        });
        return dst;
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
