package io.ruvector.sparse.gguf;

import java.util.ArrayList;
import java.util.List;

/**
 * A metadata array. Arrays read from a file are views over the mapped header and decode elements on
 * access, so a 150k-entry vocabulary costs no copy of the file; arrays built in memory (for the writer)
 * wrap a Java array or list. Elements may themselves be arrays.
 */
public abstract class GgufArray {

    /** Type of every element. */
    public abstract GgufValueType elementType();

    public abstract int size();

    /** Element {@code i} as a value. */
    public abstract GgufValue get(int i);

    public long getLong(int i) { return get(i).asLong(); }

    public double getDouble(int i) { return get(i).asDouble(); }

    public String getString(int i) { return get(i).asString(); }

    public GgufArray getArray(int i) { return get(i).asArray(); }

    public int[] toIntArray() {
        int[] out = new int[size()];
        for (int i = 0; i < out.length; i++) out[i] = get(i).asInt();
        return out;
    }

    public long[] toLongArray() {
        long[] out = new long[size()];
        for (int i = 0; i < out.length; i++) out[i] = getLong(i);
        return out;
    }

    public float[] toFloatArray() {
        float[] out = new float[size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) getDouble(i);
        return out;
    }

    public String[] toStringArray() {
        String[] out = new String[size()];
        for (int i = 0; i < out.length; i++) out[i] = getString(i);
        return out;
    }

    /**
     * An in-memory array (for the writer). Elements are {@link GgufValue}s of {@code elementType}, or plain
     * values: {@link Number} for integer and float types, {@link Boolean}, {@link String}, {@link GgufArray}
     * (for {@link GgufValueType#ARRAY}, whose elements may have different element types).
     *
     * @throws IllegalArgumentException when an element does not fit the type (see {@link GgufValue#checked})
     */
    public static GgufArray of(GgufValueType elementType, List<?> values) {
        List<GgufValue> copy = new ArrayList<>(values.size());
        for (Object v : values) {
            if (v instanceof GgufValue gv && gv.type() != elementType) {
                throw new IllegalArgumentException("element of type " + gv.type() + " in an array of " + elementType);
            }
            copy.add(GgufValue.checked(elementType, v instanceof GgufValue gv ? gv.value() : v));
        }
        return new InMemory(elementType, List.copyOf(copy));
    }

    public static GgufArray ofInts(int... values) {
        List<Long> l = new ArrayList<>(values.length);
        for (int v : values) l.add((long) v);
        return of(GgufValueType.INT32, l);
    }

    public static GgufArray ofFloats(float... values) {
        List<Float> l = new ArrayList<>(values.length);
        for (float v : values) l.add(v);
        return of(GgufValueType.FLOAT32, l);
    }

    public static GgufArray ofStrings(String... values) {
        return of(GgufValueType.STRING, List.of(values));
    }

    public static GgufArray ofStrings(List<String> values) {
        return of(GgufValueType.STRING, values);
    }

    /** An array of arrays. */
    public static GgufArray ofArrays(GgufArray... values) {
        return of(GgufValueType.ARRAY, List.of(values));
    }

    private static final class InMemory extends GgufArray {
        private final GgufValueType type;
        private final List<GgufValue> values;

        InMemory(GgufValueType type, List<GgufValue> values) {
            this.type = type;
            this.values = values;
        }

        @Override public GgufValueType elementType() { return type; }
        @Override public int size() { return values.size(); }
        @Override public GgufValue get(int i) { return values.get(i); }
    }

    /** Arrays are equal when their element types and elements are equal, wherever they live. */
    @Override
    public final boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof GgufArray a) || a.elementType() != elementType() || a.size() != size()) return false;
        for (int i = 0; i < size(); i++) {
            if (!get(i).equals(a.get(i))) return false;
        }
        return true;
    }

    @Override
    public final int hashCode() {
        int h = elementType().hashCode() * 31 + size();
        for (int i = 0, n = Math.min(size(), 16); i < n; i++) h = h * 31 + get(i).hashCode();
        return h;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        int n = size();
        int shown = Math.min(n, 8);
        for (int i = 0; i < shown; i++) {
            if (i > 0) sb.append(", ");
            GgufValue v = get(i);
            sb.append(v.type() == GgufValueType.STRING ? '"' + v.asString() + '"' : v.toString());
        }
        if (n > shown) sb.append(", ... (").append(n).append(" ").append(elementType()).append(")");
        return sb.append(']').toString();
    }
}
