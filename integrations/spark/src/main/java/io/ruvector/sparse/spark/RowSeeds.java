package io.ruvector.sparse.spark;

import java.nio.charset.StandardCharsets;

/**
 * The sampling seed of a row that has no seed column: a function of a base seed and the row's key alone, never
 * of its partition or position, so a job gives every row the same text however the data is split. Seeds are
 * in [0, 2^32), like the CLI's random seeds, so any row can be rerun with {@code sparse-infer generate --seed}.
 */
public final class RowSeeds {

    private RowSeeds() {}

    /** The seed of the row whose key reads {@code key} (its string form), under {@code baseSeed}. */
    public static long derive(long baseSeed, String key) {
        // FNV-1a over the key's UTF-8 bytes, then a SplitMix64 finalizer to spread it together with the base.
        long h = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        long z = h + baseSeed * 0x9e3779b97f4a7c15L;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        z ^= z >>> 31;
        return z & 0xFFFF_FFFFL;
    }
}
