package io.ruvector.sparse.quant;

import io.ruvector.sparse.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * ggml {@code block_tq2_0} (ternary, BitNet b1.58 / TriLM): 256 values in 66 bytes, 64 bytes of 2-bit codes
 * then the fp16 scale {@code d} at byte 64. Value = {@code (code - 1) * d}, code in {0, 1, 2}. Byte
 * {@code 32h+m} holds, in bit pair {@code l}, value {@code 128h + 32l + m}.
 *
 * <p>Kernels: the scalar ones only. {@link #dot} and {@link #axpy} delegate to {@link #dotScalar} and
 * {@link #axpyScalar} (and so are bit-identical to them): ternary files are rare, and speed here is not a goal yet.
 *
 * <p>Quantizer: ggml's {@code quantize_row_tq2_0_ref}: {@code d} = the block's largest magnitude, each value
 * rounded half away from zero to -1, 0 or 1 of {@code d}. The golden test checks it writes ggml's bytes.
 */
public final class TQ2_0 implements TensorType {

    public static final TQ2_0 INSTANCE = new TQ2_0();

    private static final int QK = 256;
    private static final int BYTES = 66;
    private static final int D = 64;

    private TQ2_0() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.TQ2_0; }

    /** The scalar specification of a block (ggml's {@code dequantize_row_tq2_0}, same float operations). */
    static void decodeBlock(MemorySegment s, long blk, float[] y, int yo) {
        float d = Fp16.read(s, blk + D);
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 4; l++) {
                for (int m = 0; m < 32; m++) {
                    int q = (KQuants.u8(s, blk + 32 * h + m) >>> 2 * l) & 3;
                    y[yo + 128 * h + 32 * l + m] = (float) (q - 1) * d;
                }
            }
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        KQuants.dequantize(this, TQ2_0::decodeBlock, src, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return KQuants.dotScalar(this, TQ2_0::decodeBlock, src, offset, x, xOffset, n);
    }

    /** The scalar kernel (no Vector API kernel for this type yet). */
    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return dotScalar(src, offset, x, xOffset, n);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        KQuants.axpyScalar(this, TQ2_0::decodeBlock, a, src, offset, y, yOffset, n);
    }

    /** The scalar kernel (no Vector API kernel for this type yet). */
    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        axpyScalar(a, src, offset, y, yOffset, n);
    }

    @Override
    public void quantize(float[] src, int srcOffset, MemorySegment dst, long offset, int n) {
        int nb = KQuants.checkRow(this, dst, offset, src, srcOffset, n);
        KQuants.requireFinite(this, src, srcOffset, n);
        for (int b = 0; b < nb; b++) {
            int xb = srcOffset + b * QK;
            long blk = offset + (long) b * BYTES;
            float d = Ternary.absMax(src, xb, QK);
            float id = d != 0f ? 1f / d : 0f;
            Fp16.write(dst, blk + D, d);
            for (int h = 0; h < 2; h++) {
                for (int m = 0; m < 32; m++) {
                    int q = 0;
                    for (int l = 0; l < 4; l++) q |= (Ternary.code(src[xb + 128 * h + 32 * l + m], id) & 3) << 2 * l;
                    dst.set(Layouts.BYTE, blk + 32 * h + m, (byte) q);
                }
            }
        }
    }
}
