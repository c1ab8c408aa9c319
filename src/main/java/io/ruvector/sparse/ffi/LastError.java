package io.ruvector.sparse.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * The message of each thread's last failed call, kept as a NUL-terminated UTF-8 string in native memory so
 * {@code last_error()} can hand the host a pointer. It stays valid until the same thread's next failure.
 */
final class LastError {

    private static final int MAX_BYTES = 4096;
    private static final ThreadLocal<MemorySegment> BUFFER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(MAX_BYTES + 1));

    private LastError() {}

    static void set(String message) {
        byte[] utf8 = (message == null ? "unknown error" : message).getBytes(StandardCharsets.UTF_8);
        int n = Math.min(utf8.length, MAX_BYTES);
        while (n > 0 && n < utf8.length && (utf8[n] & 0xC0) == 0x80) n--; // cut at a character boundary
        MemorySegment buffer = BUFFER.get();
        MemorySegment.copy(utf8, 0, buffer, ValueLayout.JAVA_BYTE, 0, n);
        buffer.set(ValueLayout.JAVA_BYTE, n, (byte) 0);
    }

    /** The calling thread's buffer ("" until its first failure). */
    static MemorySegment get() { return BUFFER.get(); }
}
