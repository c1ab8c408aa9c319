package io.ruvector.sparse.kernels;

import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteOrder;

/**
 * The vector species every kernel uses, chosen once per JVM.
 *
 * <p>By default the machine's preferred width. The system property {@code sparse.infer.vectorBits}
 * (128, 256 or 512) forces a width so the kernels can be tested against their scalar twins at every
 * width on one machine. The species are static finals so C2 treats them as constants.
 */
public final class Simd {

    /** System property that forces the vector width in bits. */
    public static final String BITS_PROPERTY = "sparse.infer.vectorBits";

    public static final VectorShape SHAPE = chooseShape();
    public static final VectorSpecies<Float> F = VectorSpecies.of(float.class, SHAPE);
    public static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, SHAPE);
    public static final VectorSpecies<Short> S = VectorSpecies.of(short.class, SHAPE);
    public static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, SHAPE);

    /** Byte order of every stored value: GGUF is little-endian. */
    public static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Simd() {}

    public static int bits() { return SHAPE.vectorBitSize(); }

    private static VectorShape chooseShape() {
        String forced = System.getProperty(BITS_PROPERTY);
        if (forced == null || forced.isBlank()) return VectorShape.preferredShape();
        return switch (forced.trim()) {
            case "64" -> VectorShape.S_64_BIT;
            case "128" -> VectorShape.S_128_BIT;
            case "256" -> VectorShape.S_256_BIT;
            case "512" -> VectorShape.S_512_BIT;
            default -> throw new IllegalArgumentException(
                    BITS_PROPERTY + " must be 128, 256 or 512, not '" + forced + "'");
        };
    }
}
