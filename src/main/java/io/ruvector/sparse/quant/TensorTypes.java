package io.ruvector.sparse.quant;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufWriter;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** The registry of the tensor types we read: one {@link TensorType} per supported {@link GgmlType}. */
public final class TensorTypes {

    private static final Map<GgmlType, TensorType> TYPES = new EnumMap<>(GgmlType.class);

    static {
        register(F32.INSTANCE);
        register(F16.INSTANCE);
        register(BF16.INSTANCE);
        register(Q8_0.INSTANCE);
        register(Q4_0.INSTANCE);
        register(Q4_1.INSTANCE);
        register(Q5_0.INSTANCE);
        register(Q5_1.INSTANCE);
        register(IQ4_NL.INSTANCE);
        register(IQ4_XS.INSTANCE);
        register(Q2_K.INSTANCE);
        register(Q3_K.INSTANCE);
        register(Q4_K.INSTANCE);
        register(Q5_K.INSTANCE);
        register(Q6_K.INSTANCE);
        register(Q8_K.INSTANCE);
        register(TQ1_0.INSTANCE);
        register(TQ2_0.INSTANCE);
        register(MXFP4.INSTANCE);
    }

    private TensorTypes() {}

    private static void register(TensorType t) { TYPES.put(t.ggmlType(), t); }

    /** True when tensors of this type can be read and multiplied. */
    public static boolean isSupported(GgmlType type) { return TYPES.containsKey(type); }

    /** Every supported type, in ggml id order. */
    public static List<TensorType> all() { return List.copyOf(TYPES.values()); }

    /**
     * The implementation for {@code type}.
     *
     * @throws UnsupportedOperationException naming the type when we do not support it
     */
    public static TensorType of(GgmlType type) {
        TensorType t = TYPES.get(type);
        if (t == null) throw new UnsupportedOperationException("tensor type " + type + " is not supported");
        return t;
    }

    /**
     * The content of a tensor of {@code type} and shape {@code dims} holding {@code values} (row-major,
     * {@code dims[0]} per row), encoded row by row with the type's {@link TensorType#quantize}: what
     * {@link GgufWriter#addTensor(String, GgmlType, long[], GgufWriter.TensorContent)} takes to write floats.
     *
     * @throws IllegalArgumentException when the count of values is not the product of {@code dims}
     * @throws UnsupportedOperationException naming the type when it has no quantizer
     */
    public static GgufWriter.TensorContent encoded(GgmlType type, long[] dims, float[] values) {
        TensorType tt = of(type);
        long n = 1;
        for (long d : dims) n *= d;
        if (values.length != n) {
            throw new IllegalArgumentException(values.length + " values given, " + Arrays.toString(dims) + " hold " + n);
        }
        int rowLength = dims.length == 0 ? 1 : (int) dims[0];
        long rowBytes = type.bytesFor(rowLength);
        return dst -> {
            if (rowLength == 0) return;
            int rows = values.length / rowLength;
            for (int r = 0; r < rows; r++) tt.quantize(values, r * rowLength, dst, r * rowBytes, rowLength);
        };
    }
}
