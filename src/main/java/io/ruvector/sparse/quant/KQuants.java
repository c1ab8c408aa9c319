package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What the K-quant types (256-value super-blocks) share: reading their packed fields, the scalar twin loops,
 * and the one vector load every kernel starts from.
 *
 * <p>The scale packings follow ggml's {@code ggml-common.h} / {@code ggml-quants.c}:
 * <ul>
 *   <li>Q4_K / Q5_K keep eight 6-bit scales and eight 6-bit mins in 12 bytes: for sub-block j &lt; 4 the
 *       low 6 bits of byte j (scale) and byte j+4 (min); for j &ge; 4 the low / high nibble of byte j+4 give
 *       the low 4 bits and the top 2 bits of bytes j-4 (scale) and j (min) give the high 2 bits.</li>
 *   <li>Q3_K keeps sixteen 6-bit scales (offset by 32) in 12 bytes: the low 4 bits of scale j are the low
 *       nibble of byte j (j &lt; 8) or the high nibble of byte j-8; its high 2 bits are bits 2*(j/4).. of
 *       byte 8 + j%4.</li>
 * </ul>
 */
final class KQuants {

    /** Values per super-block ({@code QK_K}). */
    static final int QK = 256;

    static final ValueLayout.OfShort SHORT = Layouts.SHORT_LE;
    static final ValueLayout.OfInt INT = Layouts.INT_LE;
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(Simd.LE);
    static final ValueLayout.OfFloat FLOAT = Layouts.FLOAT_LE;

    static final VectorSpecies<Float> F = Simd.F;
    /** Float lanes per vector. */
    static final int LANES = F.length();
    /** Float vectors per run of 16 quants: every kernel consumes quants 16 bytes at a time. */
    static final int PARTS = Math.max(1, 16 / LANES);
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;

    // Lane constants as static finals: fewer nodes per use than broadcasting a scalar inside the hot loop,
    // which keeps the kernels under C2's inlining node budget (NOTES-vector-api: the inlining cliff).
    static final IntVector THREE = IntVector.broadcast(Simd.I, 3);
    static final IntVector FOUR = IntVector.broadcast(Simd.I, 4);
    static final IntVector NIBBLE = IntVector.broadcast(Simd.I, 0xF);
    static final IntVector BIT4 = IntVector.broadcast(Simd.I, 0x10);
    static final IntVector BITS45 = IntVector.broadcast(Simd.I, 0x30);
    static final IntVector THIRTY_TWO = IntVector.broadcast(Simd.I, 32);

    private KQuants() {}

    /** Number of super-blocks in {@code n} values; rejects partial blocks by name. */
    static int blocks(TensorType type, int n) {
        if (n < 0 || n % QK != 0) {
            throw new IllegalArgumentException(type.ggmlType() + " needs a multiple of " + QK + " values, got " + n);
        }
        return n / QK;
    }

    /**
     * Checks a call over {@code n} values stored at {@code seg[offset..]} with floats at {@code v[vOffset..]},
     * so bad arguments fail here with a message instead of deep inside a kernel.
     *
     * @return the number of super-blocks
     */
    static int checkRow(TensorType type, MemorySegment seg, long offset, float[] v, int vOffset, int n) {
        int nb = blocks(type, n);
        long bytes = (long) nb * type.blockBytes();
        if (offset < 0 || offset > seg.byteSize() - bytes) {
            throw new IndexOutOfBoundsException(type.ggmlType() + ": " + n + " values take " + bytes
                    + " bytes at offset " + offset + ", the segment has " + seg.byteSize());
        }
        if (vOffset < 0 || vOffset > v.length - n) {
            throw new IndexOutOfBoundsException(type.ggmlType() + ": " + n + " values at index " + vOffset
                    + " do not fit a float[" + v.length + "]");
        }
        return nb;
    }

    /** Quantizers reject NaN and infinities: they have no encoding and would silently poison a block. */
    static void requireFinite(TensorType type, float[] src, int offset, int n) {
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(src[offset + i])) {
                throw new IllegalArgumentException("cannot quantize " + src[offset + i] + " (value " + i + ") to "
                        + type.ggmlType());
            }
        }
    }

    static int u8(MemorySegment s, long off) { return s.get(ValueLayout.JAVA_BYTE, off) & 0xFF; }

    static int s8(MemorySegment s, long off) { return s.get(ValueLayout.JAVA_BYTE, off); }

    /** An IEEE half stored little-endian at {@code off}. */
    static float f16(MemorySegment s, long off) { return Fp16.read(s, off); }

    static void putF16(MemorySegment s, long off, float v) { Fp16.write(s, off, v); }

    /** The 6-bit scale of sub-block {@code j} (0..7) of a Q4_K/Q5_K scale field at {@code scales}. */
    static int scaleK4(MemorySegment s, long scales, int j) {
        return scaleK4(s.get(LONG, scales), s.get(INT, scales + 8), j);
    }

    /** The 6-bit min of sub-block {@code j} (0..7) of a Q4_K/Q5_K scale field at {@code scales}. */
    static int minK4(MemorySegment s, long scales, int j) {
        return minK4(s.get(LONG, scales), s.get(INT, scales + 8), j);
    }

    /** Scale {@code j} from the field read as bytes 0-7 ({@code low}) and bytes 8-11 ({@code high}). */
    static int scaleK4(long low, int high, int j) {
        return j < 4 ? (int) (low >>> (8 * j)) & 63
                : (high >>> (8 * (j - 4)) & 0xF) | ((int) (low >>> (8 * (j - 4) + 6)) & 3) << 4;
    }

    /** Min {@code j} from the field read as bytes 0-7 ({@code low}) and bytes 8-11 ({@code high}). */
    static int minK4(long low, int high, int j) {
        return j < 4 ? (int) (low >>> (8 * j + 32)) & 63
                : (high >>> (8 * (j - 4) + 4) & 0xF) | ((int) (low >>> (8 * j + 6)) & 3) << 4;
    }

    /** Packs eight 6-bit scales and mins (each 0..63) into the 12-byte Q4_K/Q5_K field at {@code off}. */
    static void putScalesK4(MemorySegment s, long off, int[] scales, int[] mins) {
        for (int j = 0; j < 4; j++) {
            s.set(ValueLayout.JAVA_BYTE, off + j, (byte) (scales[j] | (scales[j + 4] >>> 4) << 6));
            s.set(ValueLayout.JAVA_BYTE, off + j + 4, (byte) (mins[j] | (mins[j + 4] >>> 4) << 6));
            s.set(ValueLayout.JAVA_BYTE, off + j + 8, (byte) ((scales[j + 4] & 0xF) | (mins[j + 4] & 0xF) << 4));
        }
    }

    /** The signed scale (-32..31) of sub-block {@code j} (0..15) of a Q3_K scale field at {@code scales}. */
    static int scaleQ3(MemorySegment s, long scales, int j) {
        int low = j < 8 ? u8(s, scales + j) & 0xF : u8(s, scales + j - 8) >>> 4;
        int high = (u8(s, scales + 8 + (j & 3)) >>> (2 * (j >>> 2))) & 3;
        return (low | high << 4) - 32;
    }

    /**
     * The sixteen 6-bit Q3_K scales of the field at {@code scales}, one per byte (still offset by 32): sub-blocks
     * 0-7 when {@code upper} is false, 8-15 when true. Two words instead of sixteen bit-field reads per block.
     */
    static long scalesQ3(MemorySegment s, long scales, boolean upper) {
        int a0 = s.get(INT, scales);
        int a1 = s.get(INT, scales + 4);
        int top = s.get(INT, scales + 8);
        int shift = upper ? 4 : 0;
        long first = ((a0 >>> shift) & 0x0F0F0F0F) | (((top >>> shift) & 0x03030303) << 4);
        long second = ((a1 >>> shift) & 0x0F0F0F0F) | (((top >>> (shift + 2)) & 0x03030303) << 4);
        return (first & 0xFFFFFFFFL) | second << 32;
    }

    /** Packs sixteen scales stored offset by 32 (each 0..63) into the 12-byte Q3_K field at {@code off}. */
    static void putScalesQ3(MemorySegment s, long off, int[] biased) {
        byte[] b = new byte[12];
        for (int j = 0; j < 16; j++) {
            int v = biased[j];
            b[j & 7] |= (byte) ((v & 0xF) << (j < 8 ? 0 : 4));
            b[8 + (j & 3)] |= (byte) ((v >>> 4) << (2 * (j >>> 2)));
        }
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, off, 12);
    }

    /** Round half to even, ggml's {@code nearest_int} for the magnitudes quantizers see. */
    static int nearestInt(float v) { return Rounding.nearestInt(v); }

    static int clamp(int v, int lo, int hi) { return Math.max(lo, Math.min(hi, v)); }

    /**
     * Part {@code part} of 16 bytes at {@code off}, zero-extended to int lanes: widening before any bit
     * splitting keeps shifts out of byte lanes, which x86 lacks (see NOTES-vector-api).
     */
    static IntVector widen16(MemorySegment s, long off, int part) {
        return (IntVector) ByteVector.fromMemorySegment(B16, s, off, Simd.LE)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, Simd.I, part);
    }

    /** Like {@link #widen16} but sign-extending (int8 quants). */
    static IntVector widen16Signed(MemorySegment s, long off, int part) {
        return (IntVector) ByteVector.fromMemorySegment(B16, s, off, Simd.LE)
                .convertShape(VectorOperators.B2I, Simd.I, part);
    }

    static FloatVector toFloat(IntVector v) { return (FloatVector) v.convert(VectorOperators.I2F, 0); }

    // ---- scalar twins: decode one block into a small buffer, then the plain loop ----

    /** Decodes one super-block at {@code block} into {@code dst[dstOffset .. +256)}. */
    @FunctionalInterface
    interface BlockDecoder {
        void decode(MemorySegment src, long block, float[] dst, int dstOffset);
    }

    static void dequantize(TensorType t, BlockDecoder dec, MemorySegment src, long offset, float[] dst,
                           int dstOffset, int n) {
        int nb = checkRow(t, src, offset, dst, dstOffset, n);
        int bytes = t.blockBytes();
        for (int b = 0; b < nb; b++) dec.decode(src, offset + (long) b * bytes, dst, dstOffset + b * QK);
    }

    static float dotScalar(TensorType t, BlockDecoder dec, MemorySegment src, long offset, float[] x,
                           int xOffset, int n) {
        int nb = checkRow(t, src, offset, x, xOffset, n);
        float[] w = new float[QK];
        float sum = 0f;
        for (int b = 0; b < nb; b++) {
            dec.decode(src, offset + (long) b * t.blockBytes(), w, 0);
            for (int i = 0; i < QK; i++) sum += w[i] * x[xOffset + b * QK + i];
        }
        return sum;
    }

    static void axpyScalar(TensorType t, BlockDecoder dec, float a, MemorySegment src, long offset, float[] y,
                           int yOffset, int n) {
        int nb = checkRow(t, src, offset, y, yOffset, n);
        float[] w = new float[QK];
        for (int b = 0; b < nb; b++) {
            dec.decode(src, offset + (long) b * t.blockBytes(), w, 0);
            for (int i = 0; i < QK; i++) y[yOffset + b * QK + i] += a * w[i];
        }
    }
}
