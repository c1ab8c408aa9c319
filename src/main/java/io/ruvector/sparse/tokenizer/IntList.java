package io.ruvector.sparse.tokenizer;

import java.util.Arrays;

/** A growable list of ints, so encoders collect token ids without boxing. */
final class IntList {

    private int[] data;
    private int size;

    IntList(int capacity) {
        data = new int[Math.max(4, capacity)];
    }

    void add(int v) {
        if (size == data.length) data = Arrays.copyOf(data, data.length * 2);
        data[size++] = v;
    }

    int get(int i) { return data[i]; }

    int size() { return size; }

    void clear() { size = 0; }

    /** Drops the entries from {@code newSize} on. */
    void truncate(int newSize) { size = Math.min(size, newSize); }

    int[] toArray() { return Arrays.copyOf(data, size); }
}
