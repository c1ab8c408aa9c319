package io.ruvector.sparse.tokenizer;

import io.ruvector.sparse.gguf.GgufArray;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Byte-level BPE ({@code tokenizer.ggml.model = gpt2}): the pre-tokenizer cuts the text into words, each
 * word's UTF-8 bytes are mapped to GPT-2's printable characters, and adjacent pieces are merged by the
 * rank of the pair in {@code tokenizer.ggml.merges} (lowest rank first, leftmost first on ties).
 *
 * <p>Every string that occurs in a merge gets a piece id: vocabulary ids for vocabulary entries, ids past
 * the vocabulary for the rest, so the merge loop works on ints only (pair -> rank in a primitive hash map,
 * rank -> merged piece in an array) with a priority queue of candidate pairs, O(n log n) per word.
 */
final class BytePairEncoder implements Encoder {

    private final Vocabulary vocab;
    private final PreTokenizer pre;
    private final boolean ignoreMerges;
    private final LongIntMap rankOfPair;
    private final int[] mergedPiece;
    /** Piece id of each byte's mapped character. */
    private final int[] bytePiece = new int[256];
    /** Text of the pieces that are not vocabulary entries (id - vocabSize). */
    private final List<String> extraPieces;

    BytePairEncoder(Vocabulary vocab, GgufArray merges, PreTokenizer pre, boolean ignoreMerges) {
        this.vocab = vocab;
        this.pre = pre;
        this.ignoreMerges = ignoreMerges;
        Map<String, Integer> extraIds = new HashMap<>();
        this.extraPieces = new ArrayList<>();
        int n = merges.size();
        this.rankOfPair = new LongIntMap(n);
        this.mergedPiece = new int[n];
        for (int rank = 0; rank < n; rank++) {
            String merge = merges.getString(rank);
            int space = merge.indexOf(' ', 1); // a first part may itself be a space in odd vocabularies
            if (space < 0) {
                throw new IllegalArgumentException("tokenizer.ggml.merges[" + rank + "] = '" + merge
                        + "' is not two pieces separated by a space");
            }
            String left = merge.substring(0, space);
            String right = merge.substring(space + 1);
            long key = pairKey(pieceId(left, extraIds), pieceId(right, extraIds));
            if (rankOfPair.putIfAbsent(key, rank)) { // a repeated pair keeps its first (best) rank
                mergedPiece[rank] = pieceId(left + right, extraIds);
            }
        }
        for (int b = 0; b < 256; b++) bytePiece[b] = pieceId(String.valueOf(ByteLevel.encode(b)), extraIds);
    }

    private int pieceId(String text, Map<String, Integer> extraIds) {
        int id = vocab.id(text);
        if (id >= 0) return id;
        return extraIds.computeIfAbsent(text, t -> {
            extraPieces.add(t);
            return vocab.size() + extraPieces.size() - 1;
        });
    }

    private static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    String preTokenizerName() { return pre.name(); }

    @Override
    public void encode(String text, boolean atStart, IntList out) {
        IntList ends = pre.split(text);
        int start = 0;
        // Work arrays shared by the words of this call, grown on demand.
        int[][] work = {new int[64], new int[64], new int[64]};
        BigramQueue queue = new BigramQueue();
        for (int k = 0; k < ends.size(); k++) {
            int end = ends.get(k);
            byte[] bytes = text.substring(start, end).getBytes(StandardCharsets.UTF_8);
            start = end;
            if (ignoreMerges) {
                int whole = vocab.id(ByteLevel.encode(bytes));
                if (whole >= 0) {
                    out.add(whole);
                    continue;
                }
            }
            if (work[0].length < bytes.length) work = new int[][] {new int[bytes.length], new int[bytes.length], new int[bytes.length]};
            encodeWord(bytes, work[0], work[1], work[2], queue, out);
        }
    }

    private void encodeWord(byte[] bytes, int[] piece, int[] prev, int[] next, BigramQueue queue, IntList out) {
        int n = bytes.length;
        for (int i = 0; i < n; i++) {
            piece[i] = bytePiece[bytes[i] & 0xFF];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        queue.clear();
        for (int i = 1; i < n; i++) offer(queue, piece, i - 1, i);

        // A popped candidate is valid when the pair now at its left symbol still has the popped rank:
        // ranks are unique per pair and pieces only grow, so this is llama.cpp's staleness test.
        while (!queue.isEmpty()) {
            long key = queue.pop();
            int left = BigramQueue.left(key);
            if (piece[left] < 0) continue;
            int right = next[left];
            if (right < 0) continue;
            int rank = rankOfPair.get(pairKey(piece[left], piece[right]));
            if (rank != BigramQueue.priority(key)) continue;
            piece[left] = mergedPiece[rank];
            piece[right] = -1;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            offer(queue, piece, prev[left], left);
            offer(queue, piece, left, next[left]);
        }

        for (int i = 0; i != -1; i = next[i]) {
            int id = piece[i];
            if (id < vocab.size()) {
                out.add(id);
            } else {
                // Not a vocabulary entry (possible only with inconsistent merges): one token per mapped
                // character, skipping characters the vocabulary lacks.
                String text = extraPieces.get(id - vocab.size());
                for (int c = 0; c < text.length(); c++) {
                    int single = vocab.id(String.valueOf(text.charAt(c)));
                    if (single >= 0) out.add(single);
                }
            }
        }
    }

    private void offer(BigramQueue queue, int[] piece, int left, int right) {
        if (left < 0 || right < 0) return;
        int rank = rankOfPair.get(pairKey(piece[left], piece[right]));
        if (rank >= 0) queue.push(rank, left);
    }
}
