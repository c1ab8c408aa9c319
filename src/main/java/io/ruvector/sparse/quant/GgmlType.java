package io.ruvector.sparse.quant;

/**
 * The tensor element types of ggml, with the ids GGUF stores and the block geometry each one has.
 *
 * <p>A row of a tensor is a whole number of blocks; {@link #blockSize()} values are stored in
 * {@link #blockBytes()} bytes. Ids that ggml retired (31-33, 36-38) are absent and read as unknown.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 36),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) BY_ID[t.id] = t;
    }

    private final int id;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** The id GGUF stores for this type. */
    public int id() { return id; }

    /** Values per block. */
    public int blockSize() { return blockSize; }

    /** Bytes per block. */
    public int blockBytes() { return blockBytes; }

    /** The type with this id, or {@code null} when the id is unknown or retired. */
    public static GgmlType fromId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    /**
     * Bytes taken by {@code elements} values, or -1 when {@code elements} is not a whole number of
     * blocks or the size would overflow a long.
     */
    public long bytesFor(long elements) {
        if (elements < 0 || elements % blockSize != 0) return -1;
        long blocks = elements / blockSize;
        if (blocks > Long.MAX_VALUE / blockBytes) return -1;
        return blocks * blockBytes;
    }
}
