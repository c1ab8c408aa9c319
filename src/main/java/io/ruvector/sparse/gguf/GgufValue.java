package io.ruvector.sparse.gguf;

/**
 * One metadata value. Integers of every width are held as a {@code long}: unsigned types are
 * zero-extended (a u32 0xFFFFFFFF reads as 4294967295), a u64 keeps its raw bits (see {@link #toString()}).
 * Arrays are lazy views over the mapped file ({@link GgufArray}).
 */
public record GgufValue(GgufValueType type, Object value) {

    public static GgufValue of(GgufValueType type, Object value) { return new GgufValue(type, value); }

    /**
     * A value of {@code type} made from a plain Java value, checked and normalized the way the reader
     * returns it: integer types take an integral {@link Number} in the type's range (u64: any long, read as
     * unsigned bits) and hold a {@link Long}; FLOAT32 / FLOAT64 take any {@link Number}; BOOL a
     * {@link Boolean}; STRING a {@link String}; ARRAY a {@link GgufArray}.
     *
     * @throws IllegalArgumentException naming the type and the value when they do not match
     */
    public static GgufValue checked(GgufValueType type, Object value) {
        Object v = switch (type) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                if (!(value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte)) {
                    throw mismatch(type, value);
                }
                long l = ((Number) value).longValue();
                long min = switch (type) {
                    case INT8 -> Byte.MIN_VALUE;
                    case INT16 -> Short.MIN_VALUE;
                    case INT32 -> Integer.MIN_VALUE;
                    case UINT64, INT64 -> Long.MIN_VALUE;
                    default -> 0;
                };
                long max = switch (type) {
                    case UINT8 -> 0xFFL;
                    case INT8 -> Byte.MAX_VALUE;
                    case UINT16 -> 0xFFFFL;
                    case INT16 -> Short.MAX_VALUE;
                    case UINT32 -> 0xFFFF_FFFFL;
                    case INT32 -> Integer.MAX_VALUE;
                    default -> Long.MAX_VALUE;
                };
                if (l < min || l > max) {
                    throw new IllegalArgumentException(l + " is out of the range of " + type + " (" + min + ".." + max + ")");
                }
                yield l;
            }
            case FLOAT32 -> {
                if (!(value instanceof Number n)) throw mismatch(type, value);
                yield n.floatValue();
            }
            case FLOAT64 -> {
                if (!(value instanceof Number n)) throw mismatch(type, value);
                yield n.doubleValue();
            }
            case BOOL -> {
                if (!(value instanceof Boolean)) throw mismatch(type, value);
                yield value;
            }
            case STRING -> {
                if (!(value instanceof String)) throw mismatch(type, value);
                yield value;
            }
            case ARRAY -> {
                if (!(value instanceof GgufArray)) throw mismatch(type, value);
                yield value;
            }
        };
        return new GgufValue(type, v);
    }

    private static IllegalArgumentException mismatch(GgufValueType type, Object value) {
        return new IllegalArgumentException("a " + type + " metadata value cannot hold "
                + (value == null ? "null" : value.getClass().getSimpleName() + " " + value));
    }

    public static GgufValue ofString(String s) { return new GgufValue(GgufValueType.STRING, s); }

    public static GgufValue ofU32(long v) { return new GgufValue(GgufValueType.UINT32, v); }

    public static GgufValue ofI32(int v) { return new GgufValue(GgufValueType.INT32, (long) v); }

    public static GgufValue ofF32(float v) { return new GgufValue(GgufValueType.FLOAT32, v); }

    public static GgufValue ofBool(boolean v) { return new GgufValue(GgufValueType.BOOL, v); }

    public static GgufValue ofArray(GgufArray a) { return new GgufValue(GgufValueType.ARRAY, a); }

    public long asLong() {
        if (value instanceof Long l) return l;
        if (value instanceof Boolean b) return b ? 1 : 0;
        throw new IllegalStateException("metadata value of type " + type + " is not an integer");
    }

    /** The integer value as an int; throws when it does not fit. */
    public int asInt() {
        long v = asLong();
        if (v != (int) v || (type == GgufValueType.UINT64 && v < 0)) {
            throw new IllegalStateException("metadata value " + this + " does not fit in an int");
        }
        return (int) v;
    }

    public double asDouble() {
        if (value instanceof Float f) return f;
        if (value instanceof Double d) return d;
        if (value instanceof Long l) return type == GgufValueType.UINT64 && l < 0 ? (double) (l >>> 1) * 2.0 + (l & 1) : l;
        throw new IllegalStateException("metadata value of type " + type + " is not a number");
    }

    public float asFloat() { return (float) asDouble(); }

    public boolean asBoolean() {
        if (value instanceof Boolean b) return b;
        if (value instanceof Long l) return l != 0;
        throw new IllegalStateException("metadata value of type " + type + " is not a bool");
    }

    public String asString() {
        if (value instanceof String s) return s;
        throw new IllegalStateException("metadata value of type " + type + " is not a string");
    }

    public GgufArray asArray() {
        if (value instanceof GgufArray a) return a;
        throw new IllegalStateException("metadata value of type " + type + " is not an array");
    }

    @Override
    public String toString() {
        if (type == GgufValueType.UINT64 && value instanceof Long l) return Long.toUnsignedString(l);
        return String.valueOf(value);
    }
}
