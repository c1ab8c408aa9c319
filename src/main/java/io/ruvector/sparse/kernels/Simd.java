package io.ruvector.sparse.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
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

    // Lane swaps at distance 1, 2, 4, 8 (null where the species is too short): constants, so C2 compiles each
    // rearrange to one permute.
    private static final VectorShuffle<Float> SWAP1 = swap(1);
    private static final VectorShuffle<Float> SWAP2 = swap(2);
    private static final VectorShuffle<Float> SWAP4 = swap(4);
    private static final VectorShuffle<Float> SWAP8 = swap(8);

    private static VectorShuffle<Float> swap(int distance) {
        return distance < F.length() ? VectorShuffle.fromOp(F, i -> i ^ distance) : null;
    }

    /**
     * The sum of the lanes of a {@link #F} vector in one fixed order (pairwise: lanes i and i + len/2, then the
     * halves of that, ...). Use it instead of {@code reduceLanes(ADD)}, whose float order is unspecified and
     * does differ between C2 and the interpreter, so results would change bits while a method warms up; this
     * one gives the same bits in every execution mode, thread and run.
     */
    public static float sum(FloatVector v) {
        int len = F.length();
        if (len > 8) v = v.add(v.rearrange(SWAP8));
        if (len > 4) v = v.add(v.rearrange(SWAP4));
        if (len > 2) v = v.add(v.rearrange(SWAP2));
        v = v.add(v.rearrange(SWAP1));
        return v.lane(0);
    }

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
