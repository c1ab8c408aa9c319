package io.ruvector.sparse.tokenizer;

/**
 * Open-addressing hash map from long keys to non-negative int values, used for the BPE merge table
 * (pair of piece ids -> rank): the merge loop looks pairs up millions of times and must not box.
 */
final class LongIntMap {

    private static final long EMPTY = Long.MIN_VALUE;

    private long[] keys;
    private int[] values;
    private int size;
    private int mask;

    LongIntMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2) - 1) << 1;
        keys = new long[cap];
        values = new int[cap];
        java.util.Arrays.fill(keys, EMPTY);
        mask = cap - 1;
    }

    /** The value for {@code key}, or -1. */
    int get(long key) {
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == key) return values[i];
            if (k == EMPTY) return -1;
            i = (i + 1) & mask;
        }
    }

    /** Stores {@code value} unless the key is present already; returns whether it was stored. */
    boolean putIfAbsent(long key, int value) {
        if (key == EMPTY) throw new IllegalArgumentException("reserved key");
        if ((size + 1) * 2 > keys.length) grow();
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == key) return false;
            if (k == EMPTY) {
                keys[i] = key;
                values[i] = value;
                size++;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    int size() { return size; }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new int[oldKeys.length * 2];
        java.util.Arrays.fill(keys, EMPTY);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) putIfAbsent(oldKeys[i], oldValues[i]);
        }
    }
}
