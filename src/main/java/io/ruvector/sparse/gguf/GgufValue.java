package io.ruvector.sparse.gguf;

/**
 * One metadata value. Integers of every width are held as a {@code long}: unsigned types are
 * zero-extended (a u32 0xFFFFFFFF reads as 4294967295), a u64 keeps its raw bits (see {@link #toString()}).
 * Arrays are lazy views over the mapped file ({@link GgufArray}).
 */
public record GgufValue(GgufValueType type, Object value) {

    public static GgufValue of(GgufValueType type, Object value) { return new GgufValue(type, value); }

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
