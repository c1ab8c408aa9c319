package io.ruvector.sparse.quant;

import io.ruvector.sparse.gguf.GgmlType;

import java.lang.foreign.MemorySegment;

/**
 * ggml {@code block_tq1_0} (ternary, BitNet b1.58 / TriLM): 256 values in 54 bytes (1.6875 bits each):
 * 48 bytes holding five trits each, 4 bytes holding four trits each, then the fp16 scale {@code d} at byte 52.
 * Value = {@code (trit - 1) * d}.
 *
 * <p>Packing: five trits t0..t4 (t0 most significant) form {@code v = sum t_i 3^(4-i)} < 243, stored as the
 * fixed-point fraction {@code ceil(v * 256 / 243)}; trit {@code n} is read back as the top "digit" of
 * {@code (byte * 3^n mod 256) * 3 / 256}, with integer arithmetic only. Value order: bytes 0..31 give values
 * {@code 32n + m} (trit n of byte m), bytes 32..47 values {@code 160 + 16n + m}, and the 4 last bytes values
 * {@code 240 + 4n + j} (trit n of byte j, whose fifth trit is always 0).
 *
 * <p>Kernels: the scalar ones only. {@link #dot} and {@link #axpy} delegate to {@link #dotScalar} and
 * {@link #axpyScalar} (and so are bit-identical to them): ternary files are rare, and speed here is not a goal yet.
 *
 * <p>Quantizer: ggml's {@code quantize_row_tq1_0_ref}: {@code d} = the block's largest magnitude, each value
 * rounded half away from zero to -1, 0 or 1 of {@code d}. The golden test checks it writes ggml's bytes.
 */
public final class TQ1_0 implements TensorType {

    public static final TQ1_0 INSTANCE = new TQ1_0();

    private static final int QK = 256;
    private static final int BYTES = 54;
    private static final int QH = 48;
    private static final int D = 52;
    private static final int[] POW3 = {1, 3, 9, 27, 81};

    private TQ1_0() {}

    @Override
    public GgmlType ggmlType() { return GgmlType.TQ1_0; }

    /** Trit {@code n} (0 = most significant) of a packed byte, as -1, 0 or 1. */
    private static int trit(int packed, int n) {
        int q = (packed * POW3[n]) & 0xFF;
        return ((q * 3) >>> 8) - 1;
    }

    /** The scalar specification of a block (ggml's {@code dequantize_row_tq1_0}, same float operations). */
    static void decodeBlock(MemorySegment s, long blk, float[] y, int yo) {
        float d = Fp16.read(s, blk + D);
        for (int n = 0; n < 5; n++) {
            for (int m = 0; m < 32; m++) y[yo + 32 * n + m] = (float) trit(KQuants.u8(s, blk + m), n) * d;
        }
        for (int n = 0; n < 5; n++) {
            for (int m = 0; m < 16; m++) y[yo + 160 + 16 * n + m] = (float) trit(KQuants.u8(s, blk + 32 + m), n) * d;
        }
        for (int n = 0; n < 4; n++) {
            for (int j = 0; j < 4; j++) y[yo + 240 + 4 * n + j] = (float) trit(KQuants.u8(s, blk + QH + j), n) * d;
        }
    }

    @Override
    public void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        KQuants.dequantize(this, TQ1_0::decodeBlock, src, offset, dst, dstOffset, n);
    }

    @Override
    public float dotScalar(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return KQuants.dotScalar(this, TQ1_0::decodeBlock, src, offset, x, xOffset, n);
    }

    /** The scalar kernel (no Vector API kernel for this type yet). */
    @Override
    public float dot(MemorySegment src, long offset, float[] x, int xOffset, int n) {
        return dotScalar(src, offset, x, xOffset, n);
    }

    @Override
    public void axpyScalar(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        KQuants.axpyScalar(this, TQ1_0::decodeBlock, a, src, offset, y, yOffset, n);
    }

    /** The scalar kernel (no Vector API kernel for this type yet). */
    @Override
    public void axpy(float a, MemorySegment src, long offset, float[] y, int yOffset, int n) {
        axpyScalar(a, src, offset, y, yOffset, n);
    }

    /** Trits t0..t(count-1) (t0 most significant), padded with zero trits to five, as the stored fraction. */
    private static byte pack(float[] x, int from, int stride, int count, float id) {
        int v = 0;
        for (int i = 0; i < count; i++) v = (v * 3 + Ternary.code(x[from + i * stride], id)) & 0xFF;
        for (int i = count; i < 5; i++) v = (v * 3) & 0xFF;
        return (byte) ((v * 256 + 242) / 243); // ceiling of v * 256 / 243
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
            for (int m = 0; m < 32; m++) dst.set(Layouts.BYTE, blk + m, pack(src, xb + m, 32, 5, id));
            for (int m = 0; m < 16; m++) dst.set(Layouts.BYTE, blk + 32 + m, pack(src, xb + 160 + m, 16, 5, id));
            for (int j = 0; j < 4; j++) dst.set(Layouts.BYTE, blk + QH + j, pack(src, xb + 240 + j, 4, 4, id));
            Fp16.write(dst, blk + D, d);
        }
    }
}
