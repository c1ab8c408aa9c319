package io.ruvector.sparse.quant;


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
        register(Q2_K.INSTANCE);
        register(Q3_K.INSTANCE);
        register(Q4_K.INSTANCE);
        register(Q5_K.INSTANCE);
        register(Q6_K.INSTANCE);
        register(Q8_K.INSTANCE);
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
}
