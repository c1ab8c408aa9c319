package io.ruvector.sparse.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * SentencePiece BPE as llama.cpp runs it ({@code tokenizer.ggml.model = llama}): spaces become U+2581,
 * a space is prefixed at the start of the text, the text is split into characters, and the adjacent pair
 * whose concatenation is the highest-scoring vocabulary entry is merged repeatedly (a priority queue of
 * candidate pairs, so long inputs cost O(n log n)). Characters that end up in no token are written as
 * their UTF-8 bytes through the {@code <0xXX>} byte tokens.
 */
final class SentencePieceEncoder implements Encoder {

    static final char SPACE_MARK = '\u2581';

    private final Vocabulary vocab;
    private final boolean addSpacePrefix;
    private final int[] byteTokens = new int[256];
    private final int unknownId;

    SentencePieceEncoder(Vocabulary vocab, boolean addSpacePrefix, int unknownId) {
        this.vocab = vocab;
        this.addSpacePrefix = addSpacePrefix;
        this.unknownId = unknownId;
        for (int b = 0; b < 256; b++) {
            int id = vocab.id(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) id = vocab.id(String.valueOf((char) b)); // llama.cpp's second choice
            byteTokens[b] = id;
        }
    }

    @Override
    public void encode(String fragment, boolean atStart, IntList out) {
        String text = (addSpacePrefix && atStart ? " " + fragment : fragment).replace(' ', SPACE_MARK);
        if (text.isEmpty()) return;

        // One symbol per code point, chained as a doubly linked list over the text. A symbol only ever
        // grows by absorbing its right neighbour, whose length drops to 0.
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, pos = 0; i < n; i++) {
            int cpLen = Character.charCount(text.codePointAt(pos));
            start[i] = pos;
            len[i] = cpLen;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            pos += cpLen;
        }

        // Queue keys are (score, left symbol). Rather than tracking stale entries, a popped entry is
        // checked against the pair now at its left symbol: if that pair is a token with the same score,
        // the key is exactly the key that pair was (or will be) queued under, so merging it is the merge
        // llama.cpp makes at this point; otherwise the entry is stale and dropped.
        BigramQueue queue = new BigramQueue();
        for (int i = 1; i < n; i++) offer(queue, text, start, len, i - 1, i);

        while (!queue.isEmpty()) {
            long key = queue.pop();
            int left = BigramQueue.left(key);
            if (len[left] == 0) continue;
            int right = next[left];
            if (right < 0) continue;
            int id = vocab.id(text.substring(start[left], start[right] + len[right]));
            if (id < 0 || BigramQueue.descendingScore(vocab.score(id)) != BigramQueue.priority(key)) continue;
            len[left] += len[right];
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            offer(queue, text, start, len, prev[left], left);
            offer(queue, text, start, len, left, next[left]);
        }

        for (int i = 0; i != -1; i = next[i]) {
            String piece = text.substring(start[i], start[i] + len[i]);
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
            } else {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) out.add(byteToken(b & 0xFF));
            }
        }
    }

    private void offer(BigramQueue queue, String text, int[] start, int[] len, int left, int right) {
        if (left < 0 || right < 0) return;
        int id = vocab.id(text.substring(start[left], start[right] + len[right]));
        if (id >= 0) queue.push(BigramQueue.descendingScore(vocab.score(id)), left);
    }

    private int byteToken(int b) {
        int id = byteTokens[b];
        if (id >= 0) return id;
        if (unknownId >= 0) return unknownId;
        throw new IllegalStateException(String.format(
                "vocabulary has no byte token <0x%02X> and no unknown token to fall back to", b));
    }
}
