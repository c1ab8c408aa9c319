package io.ruvector.sparse.tokenizer;

import java.util.Arrays;

/**
 * Binary min-heap of candidate merges. Each entry is a 64-bit key: the high 32 bits order candidates
 * (a BPE rank, or an encoded SentencePiece score), the low 32 bits hold the left symbol index, so equal
 * priorities pop leftmost first, exactly as llama.cpp's priority queues do.
 */
final class BigramQueue {

    private long[] heap = new long[64];
    private int size;

    boolean isEmpty() { return size == 0; }

    void clear() { size = 0; }

    void push(int priority, int left) {
        long key = ((long) priority << 32) | (left & 0xFFFFFFFFL);
        if (size == heap.length) heap = Arrays.copyOf(heap, size * 2);
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= key) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = key;
    }

    /** Removes and returns the smallest key; use {@link #priority} and {@link #left} to unpack it. */
    long pop() {
        long top = heap[0];
        long last = heap[--size];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && heap[child + 1] < heap[child]) child++;
            if (heap[child] >= last) break;
            heap[i] = heap[child];
            i = child;
        }
        if (size > 0) heap[i] = last;
        return top;
    }

    static int priority(long key) { return (int) (key >> 32); }

    static int left(long key) { return (int) key; }

    /**
     * Maps a score to a priority so that a higher score pops first (a min-heap of priorities): the float's
     * bits made monotonic as a signed int, then inverted.
     */
    static int descendingScore(float score) {
        int bits = Float.floatToIntBits(score == 0.0f ? 0.0f : score); // -0.0 and 0.0 tie
        int monotonic = bits ^ ((bits >> 31) & 0x7FFFFFFF);
        return ~monotonic;
    }
}
