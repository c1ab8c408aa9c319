package io.ruvector.sparse.model;

import io.ruvector.sparse.quant.GgmlType;

/** How a session stores its key/value cache. */
public enum KvCacheType {
    /** 4 bytes per value: exact. */
    F32(GgmlType.F32),
    /** 2 bytes per value (IEEE half, round to nearest even): half the memory, ~1e-2 logit drift. */
    F16(GgmlType.F16);

    private final GgmlType ggmlType;

    KvCacheType(GgmlType ggmlType) { this.ggmlType = ggmlType; }

    /** The ggml type of the stored values. */
    public GgmlType ggmlType() { return ggmlType; }
}
