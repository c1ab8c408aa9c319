package io.ruvector.sparse.cpu;

import jdk.incubator.vector.ByteVector;
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

    /**
     * 16 bytes, the unit nibble formats are loaded in (16 bytes hold one 32-value block of 4-bit codes, and
     * also fit a 16-entry lookup table). One load widens to {@link #PARTS16} vectors of {@link #I}/{@link #F}.
     */
    public static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Shorts with as many lanes as {@link #I}: half of {@link #SHAPE}, at least 64 bits. */
    public static final VectorSpecies<Short> S_HALF = VectorSpecies.of(short.class,
            VectorShape.forBitSize(Math.max(64, SHAPE.vectorBitSize() / 2)));
    /** How many {@link #F}-sized parts one {@link #B16} load widens into: 1 at 512 bits, 2 at 256, 4 at 128. */
    public static final int PARTS16 = 16 / F.length();

    /** Byte order of every stored value: GGUF is little-endian. */
    public static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Simd() {}

    public static int bits() { return SHAPE.vectorBitSize(); }

    private static VectorShape chooseShape() {
        String forced = System.getProperty(BITS_PROPERTY);
        if (forced == null || forced.isBlank()) return VectorShape.preferredShape();
        return switch (forced.trim()) {
            case "128" -> VectorShape.S_128_BIT;
            case "256" -> VectorShape.S_256_BIT;
            case "512" -> VectorShape.S_512_BIT;
            default -> throw new IllegalArgumentException(
                    BITS_PROPERTY + " must be 128, 256 or 512, not '" + forced + "'");
        };
    }
}
