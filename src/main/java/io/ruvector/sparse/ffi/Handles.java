package io.ruvector.sparse.ffi;

import io.ruvector.sparse.ffi.capi.SparseInfer;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The objects behind the opaque C handles. A handle is a number, never a Java or native address, so a
 * freed, forged or mistyped handle is reported as SI_ERR_INVALID_HANDLE instead of crashing the host.
 */
final class Handles {

    /** Handles look like aligned pointers (some hosts assert that) and are never reused. */
    private static final long FIRST = 0x5100_0000L, STEP = 16;

    private final AtomicLong next = new AtomicLong(FIRST);
    private final ConcurrentHashMap<Long, Object> objects = new ConcurrentHashMap<>();

    /** Registers {@code object} and returns its new handle. */
    MemorySegment add(Object object) {
        long id = next.getAndAdd(STEP);
        objects.put(id, object);
        return MemorySegment.ofAddress(id);
    }

    /** The object of {@code handle}, which must be of {@code type}. */
    <T> T get(MemorySegment handle, Class<T> type, String what) {
        Object o = handle.address() == 0 ? null : objects.get(handle.address());
        if (!type.isInstance(o)) throw invalid(handle, o, what);
        return type.cast(o);
    }

    /** Unregisters and returns the object of {@code handle}, or null when it is NULL (a no-op for free). */
    <T> T remove(MemorySegment handle, Class<T> type, String what) {
        if (handle.address() == 0) return null;
        Object o = objects.get(handle.address());
        if (!type.isInstance(o) || !objects.remove(handle.address(), o)) throw invalid(handle, o, what);
        return type.cast(o);
    }

    /** Unregisters {@code object} if it is still registered (when its owner is freed). */
    void forget(Object object) { objects.values().remove(object); }

    private static ApiException invalid(MemorySegment handle, Object found, String what) {
        String detail = handle.address() == 0 ? "NULL" : found == null ? "freed or never issued"
                : "a " + found.getClass().getSimpleName().replace("Native", "").toLowerCase() + " handle";
        return new ApiException(SparseInfer.SI_ERR_INVALID_HANDLE(),
                what + " handle 0x" + Long.toHexString(handle.address()) + " is not valid: " + detail);
    }
}
