package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;

/**
 * A Q4_0 matrix repacked for single-vector products with int8 activations: rows interleaved in groups of
 * {@link #GROUP}, so that one vector lane holds one row and a block's 32 columns are 32 broadcast
 * multiply-adds instead of a horizontal dot product. The row-per-lane layout is what makes Q4_0 decoding
 * fast without a byte dot-product instruction (which the Vector API lacks): the per-row kernel
 * ({@link Q4_0#dotQ8}) must split, multiply and then convert every block to float on its own (about 2.4 ns a
 * block here), while here 32 rows share each activation broadcast and each int-to-float conversion
 * (about 1.2 ns a block, measured in a scratch benchmark on a 2048x5632 matrix). llama.cpp repacks Q4_0 in
 * the same spirit (rows interleaved by 8) on x86.
 *
 * <p>Layout, group {@code g} (rows {@code 32g .. 32g+31}), block {@code b} (columns {@code 32b .. 32b+31}),
 * 576 bytes at {@code (g * blocks + b) * 576}: the 32 rows' fp16 scales (64 bytes), then for each code byte
 * {@code k < 16} the 32 rows' byte {@code k} (512 bytes). Byte {@code k} holds column {@code k} in its low
 * nibble and column {@code k + 16} in its high nibble, as in {@code block_q4_0}: the repacking is a plain
 * transposition of bytes, and the copy is as large as the rows it covers (decoding is bound by memory
 * bandwidth once the arithmetic is this cheap, so scales stay 2 bytes and are widened in the kernel).
 * Matrices with an infinite or NaN scale are not repacked (the kernel's fp16 widening assumes finite ones).
 *
 * <p>Results: the integer sum of each block is exact, and the float accumulation runs block by block, so
 * every output equals {@link Q4_0#dotQ8Scalar} bit for bit, at every vector width and thread count.
 * Rows past the last whole group are not repacked; {@link #dotQ8} leaves them to the caller.
 */
public final class InterleavedQ4_0 {

    /** Rows per group: one lane each in a 512-bit vector of shorts. */
    public static final int GROUP = 32;

    private static final int QK = 32;
    private static final int SCALE_BYTES = GROUP * 2;
    private static final int BLOCK_BYTES = SCALE_BYTES + 16 * GROUP;

    // The kernel covers a group in chunks of as many rows as a vector of shorts has lanes (32 at 512 bits).
    private static final VectorSpecies<Short> S = Simd.S;
    private static final int LS = S.length();
    private static final VectorSpecies<Byte> CODES = VectorSpecies.of(byte.class, VectorShape.forBitSize(LS * 8));
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Integer> I = Simd.I;
    private static final int LF = F.length();
    private static final int CHUNKS = GROUP / LS;

    private final String name;
    private final int rows;
    private final int cols;
    private final int groups;
    private final int blocks;
    private final MemorySegment data;

    private InterleavedQ4_0(String name, int rows, int cols, MemorySegment data) {
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.groups = rows / GROUP;
        this.blocks = cols / QK;
        this.data = data;
    }

    /** Whether a {@code rows x cols} matrix of {@code type} can be repacked: Q4_0 with at least one whole group of rows. */
    public static boolean supports(GgmlType type, int rows, int cols) {
        return type == GgmlType.Q4_0 && rows >= GROUP && cols % QK == 0;
    }

    /** Whether every scale of the rows a copy would cover is finite (see {@link #repack}). */
    private static boolean finiteScales(int rows, int cols, MemorySegment src) {
        long blocks = (long) (rows / GROUP * GROUP) * (cols / QK);
        for (long b = 0; b < blocks; b++) {
            if ((src.get(ValueLayout.JAVA_SHORT_UNALIGNED, b * 18) & 0x7C00) == 0x7C00) return false;
        }
        return true;
    }

    /**
     * Repacks the whole groups of the Q4_0 matrix {@code src} into memory from {@code memory}, groups spread over {@code pool}; null
     * when a scale is infinite or NaN (such a matrix is left to the per-row kernel, which handles any value).
     *
     * @throws IllegalArgumentException when the shape is not {@link #supports supported} or {@code src} is too small
     */
    public static InterleavedQ4_0 repack(String name, int rows, int cols, MemorySegment src, SegmentAllocator memory, Parallel pool) {
        if (rows < GROUP || cols % QK != 0) {
            throw new IllegalArgumentException("cannot interleave " + name + " (" + rows + "x" + cols
                    + "): needs at least " + GROUP + " rows of whole Q4_0 blocks");
        }
        if (src.byteSize() < (long) rows * (cols / QK) * 18) {
            throw new IllegalArgumentException(name + ": " + src.byteSize() + " bytes cannot hold " + rows + "x" + cols + " Q4_0");
        }
        if (!finiteScales(rows, cols, src)) return null;
        int groups = rows / GROUP;
        int blocks = cols / QK;
        MemorySegment dst = memory.allocate((long) groups * blocks * BLOCK_BYTES, 64);
        long rowBytes = (long) blocks * 18;
        pool.forRange(groups, (long) groups * GROUP * cols, (from, to) -> {
            // A 32 x 16 byte transposition per group and block, eight bytes at a time: each row's 16 code bytes
            // are read as two longs, and each output long gathers byte k of eight rows (a byte-by-byte copy
            // through the segment's checked accessors took ~1.5 s for a 600 MB model on two threads).
            long[] codes = new long[2 * GROUP];
            for (int g = from; g < to; g++) {
                for (int b = 0; b < blocks; b++) {
                    long base = ((long) g * blocks + b) * BLOCK_BYTES;
                    for (int i = 0; i < GROUP; i++) {
                        long block = (long) (g * GROUP + i) * rowBytes + b * 18L;
                        dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2L * i, src.get(ValueLayout.JAVA_SHORT_UNALIGNED, block));
                        codes[2 * i] = src.get(ValueLayout.JAVA_LONG_UNALIGNED, block + 2);
                        codes[2 * i + 1] = src.get(ValueLayout.JAVA_LONG_UNALIGNED, block + 10);
                    }
                    for (int k = 0; k < 16; k++) {
                        int half = k >> 3;
                        int shift = (k & 7) * 8;
                        for (int q = 0; q < GROUP / 8; q++) {
                            long v = 0;
                            for (int r = 0; r < 8; r++) v |= ((codes[2 * (8 * q + r) + half] >>> shift) & 0xFF) << (8 * r);
                            dst.set(ValueLayout.JAVA_LONG_UNALIGNED, base + SCALE_BYTES + (long) k * GROUP + 8L * q, v);
                        }
                    }
                }
            }
        });
        return new InterleavedQ4_0(name, rows, cols, dst);
    }

    /** Bytes of the copy of a {@code rows x cols} matrix ({@link #supports supported} shape): its whole groups. */
    public static long byteSize(int rows, int cols) { return (long) (rows / GROUP) * (cols / QK) * BLOCK_BYTES; }

    /**
     * The interleaved copy of matrix {@code name} whose bytes {@code data} already hold (zero-copy: e.g. a slice
     * of a mapped cache file written from {@link #bytes()} of an earlier copy).
     *
     * @throws IllegalArgumentException when the shape is not {@link #supports supported} or {@code data} is not
     *                                  {@link #byteSize(int, int)} bytes
     */
    public static InterleavedQ4_0 wrap(String name, int rows, int cols, MemorySegment data) {
        if (rows < GROUP || cols % QK != 0 || cols <= 0) {
            throw new IllegalArgumentException(name + ": " + rows + "x" + cols + " has no interleaved Q4_0 layout");
        }
        if (data.byteSize() != byteSize(rows, cols)) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes, not the " + byteSize(rows, cols)
                    + " of an interleaved " + rows + "x" + cols + " Q4_0 matrix");
        }
        return new InterleavedQ4_0(name, rows, cols, data);
    }

    /** The copy's bytes, read-only (to store them, e.g. in a cache file). */
    public MemorySegment bytes() { return data.asReadOnly(); }

    /** Whether the copy lives in a mapped file (a cache file, or a file in RAM) rather than anonymous memory. */
    public boolean isMapped() { return data.isMapped(); }

    public String name() { return name; }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** Whole groups: rows {@code [0, groups() * GROUP)} are repacked. */
    public int groups() { return groups; }

    /** Bytes of the repacked copy. */
    public long byteSize() { return data.byteSize(); }

    private void check(Q8Activation x, float[] out, int outOffset, int groupFrom, int groupTo) {
        if (groupFrom < 0 || groupTo > groups || groupFrom > groupTo) {
            throw new IndexOutOfBoundsException("groups [" + groupFrom + ", " + groupTo + ") of " + groups);
        }
        if (x.length() < cols || outOffset < 0 || out.length < outOffset + (long) groupTo * GROUP) {
            throw new IllegalArgumentException(name + ": activation of " + x.length() + " values, out["
                    + out.length + "] from " + outOffset + " for groups up to " + groupTo);
        }
    }

    /** Scalar reference of {@link #dotQ8}: the repacked layout read one row and one byte at a time. */
    public void dotQ8Scalar(Q8Activation x, float[] out, int outOffset, int groupFrom, int groupTo) {
        check(x, out, outOffset, groupFrom, groupTo);
        for (int g = groupFrom; g < groupTo; g++) {
            for (int i = 0; i < GROUP; i++) {
                float sum = 0f;
                for (int b = 0; b < blocks; b++) {
                    long base = ((long) g * blocks + b) * BLOCK_BYTES;
                    int sumi = 0;
                    for (int k = 0; k < 16; k++) {
                        int q = data.get(ValueLayout.JAVA_BYTE, base + SCALE_BYTES + (long) k * GROUP + i);
                        sumi += ((q & 0xF) - 8) * x.q[b * QK + k] + (((q >> 4) & 0xF) - 8) * x.q[b * QK + k + 16];
                    }
                    sum += sumi * (Fp16.read(data, base + 2L * i) * x.d[b]);
                }
                out[outOffset + g * GROUP + i] = sum;
            }
        }
    }

    /**
     * {@code out[outOffset + r] = row r . x} for the rows of groups {@code [groupFrom, groupTo)}, with {@code x}
     * quantized to int8 blocks ({@link Q8Activation#quantize}) over at least {@link #cols()} values.
     */
    public void dotQ8(Q8Activation x, float[] out, int outOffset, int groupFrom, int groupTo) {
        check(x, out, outOffset, groupFrom, groupTo);
        for (int g = groupFrom; g < groupTo; g++) {
            for (int c = 0; c < CHUNKS; c++) dotQ8Chunk(x, out, outOffset, g, c);
        }
    }

    /**
     * The LS rows of chunk {@code c} of group {@code g}, one per lane. Codes are unsigned nibbles multiplied
     * with the activation codes in 16-bit lanes; low and high nibbles accumulate apart because each sum of 16
     * products fits a short (16 * 15 * 127 = 30480) and a sum of 32 would not. The -8 offset of every code is
     * taken off once per block, as 8 times the block's code sum, in int lanes. The float part then follows
     * {@link Q4_0#dotQ8Scalar} operation for operation (convert, multiply by d_w * d_x, add): equal bits.
     *
     * <p>The fp16 scales are widened with integer operations: the magnitude bits shifted into place read as a
     * float 2^-112 times the value (exactly, subnormals included), and the factor 2^112 is folded into the
     * activation scale, which stays finite (an fp16 scale is below 2^16). A product with the exact value
     * rounds once either way, so the bits equal those of {@code Fp16.read(..) * d}.
     */
    private void dotQ8Chunk(Q8Activation x, float[] out, int outOffset, int g, int c) {
        short[] q = x.q;
        float[] dx = x.d;
        int[] codeSums = x.sum;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        long groupBase = (long) g * blocks * BLOCK_BYTES;
        for (int b = 0; b < blocks; b++) {
            long base = groupBase + (long) b * BLOCK_BYTES;
            long codes = base + SCALE_BYTES + (long) c * LS;
            int xb = b * QK;
            ShortVector lo = ShortVector.zero(S);
            ShortVector hi = ShortVector.zero(S);
            for (int k = 0; k < 16; k++) {
                ShortVector v = (ShortVector) ByteVector.fromMemorySegment(CODES, data, codes + (long) k * GROUP, Simd.LE)
                        .convertShape(VectorOperators.B2S, S, 0);
                lo = lo.add(v.and((short) 0xF).mul(q[xb + k]));
                hi = hi.add(v.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(q[xb + k + 16]));
            }
            int offset = -8 * codeSums[b];
            float d = dx[b] * 0x1p112f;
            ShortVector halves = ShortVector.fromMemorySegment(S, data, base + 2L * c * LS, Simd.LE);
            IntVector h0 = (IntVector) halves.convertShape(VectorOperators.S2I, I, 0);
            IntVector h1 = (IntVector) halves.convertShape(VectorOperators.S2I, I, 1);
            IntVector s0 = ((IntVector) lo.convertShape(VectorOperators.S2I, I, 0))
                    .add((IntVector) hi.convertShape(VectorOperators.S2I, I, 0)).add(offset);
            IntVector s1 = ((IntVector) lo.convertShape(VectorOperators.S2I, I, 1))
                    .add((IntVector) hi.convertShape(VectorOperators.S2I, I, 1)).add(offset);
            // Written out, not in a helper: see Q4_0.dot on helpers that take and return vectors.
            FloatVector d0 = ((FloatVector) h0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(h0.and(0x80000000))
                    .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(d);
            FloatVector d1 = ((FloatVector) h1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(h1.and(0x80000000))
                    .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(d);
            acc0 = acc0.add(((FloatVector) s0.convertShape(VectorOperators.I2F, F, 0)).mul(d0));
            acc1 = acc1.add(((FloatVector) s1.convertShape(VectorOperators.I2F, F, 0)).mul(d1));
        }
        int r = outOffset + g * GROUP + c * LS;
        acc0.intoArray(out, r);
        acc1.intoArray(out, r + LF);
    }
}
