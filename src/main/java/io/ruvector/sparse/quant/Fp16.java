package io.ruvector.sparse.quant;

import java.lang.foreign.MemorySegment;

/**
 * Half-precision conversions as ggml does them: IEEE binary16 (block scales, F16 tensors) and bfloat16.
 *
 * <p>binary16 uses the JDK's {@link Float#floatToFloat16}/{@link Float#float16ToFloat}, which round to nearest
 * even like F16C's {@code vcvtps2ph} that ggml uses; both are C2 intrinsics, so calling them in a hot loop is
 * fine. bfloat16 follows ggml's {@code ggml_compute_fp32_to_bf16}: round to nearest even on the upper 16 bits,
 * NaN kept (forced quiet), subnormals kept.
 */
public final class Fp16 {

    private Fp16() {}

    /** The binary16 value stored at {@code offset} (little-endian), as a float. */
    public static float read(MemorySegment src, long offset) {
        return Float.float16ToFloat(src.get(Layouts.SHORT_LE, offset));
    }

    /** Stores {@code value} rounded to binary16 at {@code offset}. */
    public static void write(MemorySegment dst, long offset, float value) {
        dst.set(Layouts.SHORT_LE, offset, Float.floatToFloat16(value));
    }

    /** {@code value} rounded to binary16 and back: what a reader of a stored fp16 scale sees. */
    public static float round(float value) {
        return Float.float16ToFloat(Float.floatToFloat16(value));
    }

    /** bfloat16 bits to float: the bits are the upper half of a float. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** float to bfloat16 bits, rounding to nearest even; NaN stays NaN (made quiet). */
    public static short floatToBf16(float value) {
        int u = Float.floatToRawIntBits(value);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 0x40);
        return (short) ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16);
    }
}
