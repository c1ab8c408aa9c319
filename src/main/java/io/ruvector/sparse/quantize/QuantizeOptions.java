package io.ruvector.sparse.quantize;

import io.ruvector.sparse.gguf.GgmlType;

/**
 * What {@link ModelQuantizer} makes of a model; the switches are llama-quantize's.
 *
 * @param mix              the named mix (default type, {@code general.file_type}, per-tensor rules)
 * @param pure             every quantizable weight gets the mix's default type: no per-tensor rules (the
 *                         fallback for rows that do not fit the type's blocks still applies)
 * @param outputType       type of {@code output.weight}, or null for the mix's choice
 * @param tokenEmbdType    type of {@code token_embd.weight}, or null for the mix's choice
 * @param leaveOutput      keep {@code output.weight} as it is in the input
 * @param allowRequantize  accept inputs quantized below 8 bits (quality suffers: the result carries the
 *                         rounding of both quantizations). Q8_0 inputs are accepted without it.
 */
public record QuantizeOptions(QuantMix mix, boolean pure, GgmlType outputType, GgmlType tokenEmbdType,
                              boolean leaveOutput, boolean allowRequantize) {

    public QuantizeOptions {
        if (mix == null) throw new IllegalArgumentException("mix is required");
    }

    /** The mix with llama-quantize's defaults: rules on, output quantized, no requantizing below 8 bits. */
    public static QuantizeOptions of(QuantMix mix) { return new QuantizeOptions(mix, false, null, null, false, false); }

    public QuantizeOptions withPure(boolean p) {
        return new QuantizeOptions(mix, p, outputType, tokenEmbdType, leaveOutput, allowRequantize);
    }

    public QuantizeOptions withOutputType(GgmlType t) {
        return new QuantizeOptions(mix, pure, t, tokenEmbdType, leaveOutput, allowRequantize);
    }

    public QuantizeOptions withTokenEmbdType(GgmlType t) {
        return new QuantizeOptions(mix, pure, outputType, t, leaveOutput, allowRequantize);
    }

    public QuantizeOptions withLeaveOutput(boolean l) {
        return new QuantizeOptions(mix, pure, outputType, tokenEmbdType, l, allowRequantize);
    }

    public QuantizeOptions withAllowRequantize(boolean a) {
        return new QuantizeOptions(mix, pure, outputType, tokenEmbdType, leaveOutput, a);
    }
}
