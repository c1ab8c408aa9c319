package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * ggml {@code block_iq4_xs}: 256 values in 136 bytes (4.25 bits each), eight sub-blocks of 32 on the
 * non-linear levels of {@link IQ4_NL}, with a 6-bit scale per sub-block instead of an fp16 one.
 *
 * <p>Block: fp16 {@code d} (byte 0), {@code scales_h} (uint16 at byte 2: two high bits per sub-block),
 * {@code scales_l} (4 bytes at byte 4: the low nibbles, sub-block {@code 2i} low, {@code 2i+1} high), then 128
 * bytes of 4-bit level indexes, 16 per sub-block (low nibble value j, high nibble value j+16, as in IQ4_NL).
 * Sub-block scale {@code dl = d * (ls - 32)} with {@code ls} the 6-bit code; value = {@code dl * level}.
 *
 * <p>Exactness: {@link #dequantizeVector} does the same single float multiply per value as {@link #dequantize}
 * and is bit-identical. {@link #dot} and {@link #axpy} sum (and fuse) in another order than their scalar twins,
 * so, like the K-quants, they agree within rounding (the kernel tests check a tolerance from the arithmetic).
 *
 * <p>Quantizer: ggml's search without an importance matrix ({@code quantize_iq4_xs}, what
 * {@code llama-quantize} runs): per sub-block the IQ4_NL scale search (weights x², 15 trial scales), then
 * {@code d = -max_scale/32} from the sub-block scale of largest magnitude, each sub-block scale rounded to a
 * 6-bit multiple of {@code d}, and every value re-mapped to its nearest level at that scale. The golden test
 * checks it writes ggml's bytes.
 */
public final class IQ4_XS implements TensorType {

    public static final IQ4_XS INSTANCE = new IQ4_XS();

    private static final int QK = 256;
    private static final int SUB = 32;
    private static final int BYTES = 136;
    private static final int SCALES_H = 2;
    private static final int SCALES_L = 4;
    private static final int QS = 8;
    /** ggml's {@code kvalues_iq4nl}: the same 16 levels as IQ4_NL. */
    private static final byte[] LEVELS = IQ4_NL.levels();
    private static final VectorSpecies<Float> F = Simd.F;
    private static final VectorSpecies<Byte> B16 = Simd.B16;
    private static final int PARTS = Simd.PARTS16;
    private static final int L = F.length();

    private IQ4_XS() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.IQ4_XS; }

    /** The 6-bit code of sub-block {@code ib}, minus its bias of 32. */
    private static int subScale(MemorySegment s, long blk, int ib) {
        int low = (KQuants.u8(s, blk + SCALES_L + ib / 2) >>> 4 * (ib % 2)) & 0xF;
        int high = (s.get(Layouts.SHORT_LE, blk + SCALES_H) >>> 2 * ib) & 3;
        return (low | high << 4) - 32;
    }

    /** The same code from the scale fields loaded whole: {@code scales_l} as a little-endian int, {@code scales_h}. */
    private static int subScale(int low, int high, int ib) {
        return ((low >>> 4 * ib) & 0xF | ((high >>> 2 * ib) & 3) << 4) - 32;
    }

    /** The scalar specification of a block (ggml's {@code dequantize_row_iq4_xs}, same float operations). */
    static void decodeBlock(MemorySegment s, long blk, float[] y, int yo) {
        float d = Fp16.read(s, blk);
        for (int ib = 0; ib < QK / SUB; ib++) {
            float dl = d * subScale(s, blk, ib);
            for (int j = 0; j < 16; j++) {
                int q = KQuants.u8(s, blk + QS + 16 * ib + j);
                y[yo + SUB * ib + j] = dl * LEVELS[q & 0xF];
                y[yo + SUB * ib + 16 + j] = dl * LEVELS[q >>> 4];
            }
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        KQuants.dequantize(this, IQ4_XS::decodeBlock, src, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return KQuants.dotScalar(this, IQ4_XS::decodeBlock, src, offset, x, xOffset, n);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        KQuants.axpyScalar(this, IQ4_XS::decodeBlock, a, src, offset, y, yOffset, n);
    }

    /** Low and high nibbles of 16 code bytes, looked up in the level table (byte shuffles, no byte shift). */
    private static ByteVector lowLevels(ByteVector qs, ByteVector table) {
        return qs.and((byte) 0xF).selectFrom(table);
    }

    private static ByteVector highLevels(ByteVector qs, ByteVector table) {
        return qs.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0xF).selectFrom(table);
    }

    private static FloatVector part(ByteVector levels, int p) {
        return (FloatVector) levels.convertShape(VectorOperators.B2F, F, p);
    }

    /** Vector twin of {@link #decodeBlock}: the same one multiply {@code dl * level} per value. */
    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int nb = KQuants.checkRow(this, src, offset, dst, dstOffset, n);
        ByteVector table = ByteVector.fromArray(B16, LEVELS, 0);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            float d = Fp16.read(src, blk);
            for (int ib = 0; ib < QK / SUB; ib++) {
                FloatVector dl = FloatVector.broadcast(F, d * subScale(src, blk, ib));
                ByteVector qs = ByteVector.fromMemorySegment(B16, src, blk + QS + 16 * ib, Simd.LE);
                ByteVector lo = lowLevels(qs, table);
                ByteVector hi = highLevels(qs, table);
                int o = dstOffset + b * QK + SUB * ib;
                for (int p = 0; p < PARTS; p++) {
                    dl.mul(part(lo, p)).intoArray(dst, o + p * L);
                    dl.mul(part(hi, p)).intoArray(dst, o + 16 + p * L);
                }
            }
        }
    }

    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        int nb = KQuants.checkRow(this, src, offset, x, xOffset, n);
        ByteVector table = ByteVector.fromArray(B16, LEVELS, 0);
        // Two accumulators on alternate sub-blocks (each chain waits only on every other sub-block), rotated so
        // that the sub-block body has one call site, as in IQ4_NL.
        FloatVector acc = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            float d = Fp16.read(src, blk);
            int high = src.get(Layouts.SHORT_LE, blk + SCALES_H);
            int low = src.get(Layouts.INT_LE, blk + SCALES_L);
            for (int ib = 0; ib < QK / SUB; ib++) {
                FloatVector next = subBlockDot(src, blk + QS + 16 * ib, table, x, xOffset + b * QK + SUB * ib,
                        d * subScale(low, high, ib), other);
                other = acc;
                acc = next;
            }
        }
        return VectorMath.sum(acc.add(other));
    }

    /**
     * {@code acc + dl * (levels . x)} over one sub-block: integer levels times activations first, scaled once,
     * one multiply per sub-block instead of one per weight.
     */
    private static FloatVector subBlockDot(MemorySegment src, long qs0, ByteVector table, float[] x, int xb, float dl,
                                           FloatVector acc) {
        ByteVector qs = ByteVector.fromMemorySegment(B16, src, qs0, Simd.LE);
        ByteVector lo = lowLevels(qs, table);
        ByteVector hi = highLevels(qs, table);
        FloatVector sum = FloatVector.zero(F);
        for (int p = 0; p < PARTS; p++) {
            sum = part(lo, p).fma(FloatVector.fromArray(F, x, xb + p * L), sum);
            sum = part(hi, p).fma(FloatVector.fromArray(F, x, xb + 16 + p * L), sum);
        }
        return sum.fma(FloatVector.broadcast(F, dl), acc);
    }

    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        int nb = KQuants.checkRow(this, src, offset, y, yOffset, n);
        ByteVector table = ByteVector.fromArray(B16, LEVELS, 0);
        for (int b = 0; b < nb; b++) {
            long blk = offset + (long) b * BYTES;
            float d = Fp16.read(src, blk);
            for (int ib = 0; ib < QK / SUB; ib++) {
                FloatVector adl = FloatVector.broadcast(F, a * (d * subScale(src, blk, ib)));
                ByteVector qs = ByteVector.fromMemorySegment(B16, src, blk + QS + 16 * ib, Simd.LE);
                ByteVector lo = lowLevels(qs, table);
                ByteVector hi = highLevels(qs, table);
                int o = yOffset + b * QK + SUB * ib;
                for (int p = 0; p < PARTS; p++) {
                    int i = o + p * L;
                    part(lo, p).fma(adl, FloatVector.fromArray(F, y, i)).intoArray(y, i);
                    part(hi, p).fma(adl, FloatVector.fromArray(F, y, i + 16)).intoArray(y, i + 16);
                }
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = KQuants.checkRow(this, dst, offset, src, srcOffset, n);
        KQuants.requireFinite(this, src, srcOffset, n);
        float[] scales = new float[QK / SUB];
        for (int b = 0; b < nb; b++) {
            int xb = srcOffset + b * QK;
            long blk = offset + (long) b * BYTES;
            float maxScale = 0f;
            float amaxScale = 0f;
            for (int ib = 0; ib < QK / SUB; ib++) {
                scales[ib] = IQ4_NL.bestScale(src, xb + SUB * ib);
                float abs = Math.abs(scales[ib]);
                if (abs > amaxScale) {
                    amaxScale = abs;
                    maxScale = scales[ib];
                }
            }
            // -max/32 puts the largest sub-block scale at code -32 (ls = 0), the end with one more step.
            // An all-zero block gives d = -0.0, stored as the fp16 -0 ggml stores.
            float d = -maxScale / 32;
            Fp16.write(dst, blk, d);
            float id = d != 0f ? 1f / d : 0f;
            int scalesH = 0;
            for (int ib = 0; ib < QK / SUB; ib++) {
                int l = Math.max(-32, Math.min(31, Rounding.nearestInt(id * scales[ib])));
                float dl = d * l;
                float idl = dl != 0f ? 1f / dl : 0f;
                int x0 = xb + SUB * ib;
                for (int j = 0; j < 16; j++) {
                    int lo = IQ4_NL.nearestLevel(idl * src[x0 + j]);
                    int hi = IQ4_NL.nearestLevel(idl * src[x0 + 16 + j]);
                    dst.set(Layouts.BYTE, blk + QS + 16 * ib + j, (byte) (lo | hi << 4));
                }
                int code = l + 32;
                long at = blk + SCALES_L + ib / 2;
                int prev = ib % 2 == 0 ? 0 : KQuants.u8(dst, at);
                dst.set(Layouts.BYTE, at, (byte) (prev | (code & 0xF) << 4 * (ib % 2)));
                scalesH |= (code >>> 4) << 2 * ib;
            }
            dst.set(Layouts.SHORT_LE, blk + SCALES_H, (short) scalesH);
        }
    }
}
