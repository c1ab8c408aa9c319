package io.ruvector.sparse.memory;

import io.ruvector.sparse.ffi.libc.Libc;
import io.ruvector.sparse.ffi.libc.rlimit;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The operating system's memory controls, applied to {@link MemorySegment}s: {@code madvise(2)} access
 * hints, {@code mlock(2)} to keep a hot tier in RAM, and {@code mincore(2)} to measure how much of a mapping
 * is resident. Calls go through the jextract bindings in {@code io.ruvector.sparse.ffi.libc}.
 *
 * <p>Hints are advice: a refused hint never stops inference, so {@link #advise} reports failure as
 * {@code false} and {@link #lock} as a {@link MemoryLock} that says why. On systems other than Linux every
 * call is a no-op that says so.
 */
public final class MemoryHints {

    private static final boolean LINUX = System.getProperty("os.name", "").startsWith("Linux");
    private static final int CAP_IPC_LOCK = 14;

    private MemoryHints() {}

    /** True where the hints reach the kernel (Linux). */
    public static boolean supported() { return LINUX; }

    /** The virtual-memory page size in bytes. */
    public static long pageSize() { return PageSize.BYTES; }

    private static final class PageSize {
        static final long BYTES = LINUX ? Libc.sysconf(Libc._SC_PAGESIZE()) : 4096;
    }

    /**
     * Announces how {@code segment} will be used. The range is widened to whole pages (narrowed, for
     * {@link Advice#DONTNEED}, so that no byte outside the segment is dropped).
     *
     * @return true when the kernel accepted the advice; false when it refused, the segment is not native
     *         memory, or the system is not Linux
     * @throws IllegalArgumentException for {@link Advice#DONTNEED} on memory that is not a file mapping
     * @throws IllegalStateException    when the segment's memory has been released
     */
    public static boolean advise(MemorySegment segment, Advice advice) {
        checkAdvisable(segment, advice);
        if (!LINUX || !segment.isNative() || segment.byteSize() == 0) return false;
        return madvise(segment.address(), segment.address() + segment.byteSize(), advice);
    }

    /**
     * Advises some rows of a row-major tensor at once, e.g. the cold rows a predictor chose for the next
     * token: row {@code r} is bytes {@code [r * rowBytes, (r + 1) * rowBytes)} of {@code tensor}. Rows whose
     * pages touch are merged into one {@code madvise} call, so the cost follows the pages, not the rows.
     *
     * @param rows  row indices, ascending (repeats allowed); only {@code rows[0 .. count)} are read
     * @return the number of {@code madvise} calls made (0 where hints do not reach the kernel)
     * @throws IllegalArgumentException when the rows are not ascending or lie outside the tensor, or for
     *                                  {@link Advice#DONTNEED} on memory that is not a file mapping
     */
    public static int adviseRows(MemorySegment tensor, long rowBytes, int[] rows, int count, Advice advice) {
        checkAdvisable(tensor, advice);
        if (rowBytes <= 0) throw new IllegalArgumentException("row size must be > 0, not " + rowBytes);
        if (count < 0 || count > rows.length) throw new IllegalArgumentException(count + " rows of " + rows.length);
        long totalRows = tensor.byteSize() / rowBytes;
        for (int i = 0; i < count; i++) {
            if (rows[i] < 0 || rows[i] >= totalRows) {
                throw new IllegalArgumentException("row " + rows[i] + " is outside the tensor's " + totalRows + " rows");
            }
            if (i > 0 && rows[i] < rows[i - 1]) {
                throw new IllegalArgumentException("rows must be ascending: " + rows[i - 1] + " then " + rows[i]);
            }
        }
        if (!LINUX || !tensor.isNative() || count == 0) return 0;
        long page = pageSize(), base = tensor.address();
        int calls = 0;
        long start = base + rows[0] * rowBytes, end = start + rowBytes;
        for (int i = 1; i < count; i++) {
            long rowStart = base + rows[i] * rowBytes;
            if (roundDown(rowStart, page) <= roundUp(end, page)) {
                end = Math.max(end, rowStart + rowBytes); // shares or adjoins a page: one call covers both
            } else {
                madvise(start, end, advice);
                calls++;
                start = rowStart;
                end = rowStart + rowBytes;
            }
        }
        madvise(start, end, advice);
        return calls + 1;
    }

    private static void checkAdvisable(MemorySegment segment, Advice advice) {
        if (!segment.scope().isAlive()) throw new IllegalStateException("advise: the segment's memory was released");
        if (advice == Advice.DONTNEED && !segment.isMapped()) {
            throw new IllegalArgumentException("advise(DONTNEED) is only safe on file mappings; this segment is "
                    + (segment.isNative() ? "anonymous native memory, whose contents it would zero" : "on the heap"));
        }
    }

    /**
     * madvise of the bytes [from, to), widened to whole pages, or narrowed for DONTNEED so that no byte
     * outside is dropped.
     */
    private static boolean madvise(long from, long to, Advice advice) {
        long page = pageSize();
        long start, end;
        if (advice == Advice.DONTNEED) {
            start = roundUp(from, page);
            end = roundDown(to, page);
            if (end <= start) return true; // no whole page inside: nothing to drop
        } else {
            start = roundDown(from, page);
            end = to;
        }
        return Libc.madvise(MemorySegment.ofAddress(start), end - start, advice.linuxValue()) == 0;
    }

    /**
     * Locks the pages of {@code segment} in RAM ({@code mlock}), which also reads them in now, so later
     * accesses neither fault nor wait for the disk. Checks first whether RLIMIT_MEMLOCK leaves room (unless
     * the process has CAP_IPC_LOCK) and, where it does not, locks nothing and says how to raise the limit.
     * Close the returned lock to unlock.
     */
    public static MemoryLock lock(MemorySegment segment) {
        if (!segment.scope().isAlive()) throw new IllegalStateException("lock: the segment's memory was released");
        if (!LINUX) return new MemoryLock(segment, false, "memory locking is only supported on Linux; not locked");
        if (!segment.isNative()) return new MemoryLock(segment, false, "heap memory cannot be locked; not locked");
        long bytes = pageSpan(segment);
        String refusal = LockBudget.current().refusal(bytes);
        if (refusal != null) return new MemoryLock(segment, false, refusal);
        int errno = Mlock.call(segment);
        if (errno == 0) return new MemoryLock(segment, true, "locked " + ProcessMemory.human(bytes) + " in RAM");
        return new MemoryLock(segment, false, "mlock of " + ProcessMemory.human(bytes) + " failed: "
                + describeErrno(errno) + "; not locked");
    }

    static void unlock(MemorySegment segment) {
        Libc.munlock(MemorySegment.ofAddress(segment.address()), segment.byteSize());
    }

    /**
     * Bytes of {@code segment} resident in RAM now, counted in whole pages ({@code mincore}); -1 where this
     * cannot be measured (not Linux, not native memory).
     */
    public static long residentBytes(MemorySegment segment) {
        if (!segment.scope().isAlive()) throw new IllegalStateException("residentBytes: the segment's memory was released");
        if (!LINUX || !segment.isNative()) return -1;
        if (segment.byteSize() == 0) return 0;
        long page = pageSize();
        long start = roundDown(segment.address(), page);
        long length = segment.address() + segment.byteSize() - start;
        long pages = (length + page - 1) / page;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vec = arena.allocate(pages);
            if (Libc.mincore(MemorySegment.ofAddress(start), length, vec) != 0) return -1;
            long resident = 0;
            for (long i = 0; i < pages; i++) resident += vec.get(ValueLayout.JAVA_BYTE, i) & 1;
            return resident * page;
        }
    }

    /**
     * The RLIMIT_MEMLOCK soft limit in bytes, -1 when unlimited or unknown. Locking beyond it needs
     * CAP_IPC_LOCK.
     */
    public static long lockLimit() {
        if (!LINUX) return -1;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment limit = rlimit.allocate(arena);
            if (Libc.getrlimit(Libc.RLIMIT_MEMLOCK(), limit) != 0) return -1;
            long soft = rlimit.rlim_cur(limit);
            return soft == Libc.RLIM_INFINITY() ? -1 : soft;
        }
    }

    /** Bytes of the pages the segment touches. */
    static long pageSpan(MemorySegment segment) {
        long page = pageSize();
        return roundUp(segment.address() + segment.byteSize(), page) - roundDown(segment.address(), page);
    }

    private static long roundDown(long x, long page) { return x & -page; }

    private static long roundUp(long x, long page) { return (x + page - 1) & -page; }

    private static String describeErrno(int errno) {
        if (errno == Libc.ENOMEM()) return "ENOMEM (over RLIMIT_MEMLOCK, or not enough RAM)";
        if (errno == Libc.EPERM()) return "EPERM (not permitted: needs CAP_IPC_LOCK or a nonzero RLIMIT_MEMLOCK)";
        if (errno == Libc.EAGAIN()) return "EAGAIN (some pages could not be locked)";
        if (errno == Libc.EINVAL()) return "EINVAL (bad address range)";
        return "errno " + errno;
    }

    /** mlock with errno captured by the linker, which a plain downcall cannot read reliably afterwards. */
    private static final class Mlock {
        static final StructLayout STATE = Linker.Option.captureStateLayout();
        static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(
                Libc.mlock$address(), Libc.mlock$descriptor(), Linker.Option.captureCallState("errno"));

        static int call(MemorySegment segment) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = arena.allocate(STATE);
                int rc = (int) HANDLE.invokeExact(state, MemorySegment.ofAddress(segment.address()), segment.byteSize());
                return rc == 0 ? 0 : (int) ERRNO.get(state, 0L);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("mlock downcall failed", t);
            }
        }
    }

    /** Whether RLIMIT_MEMLOCK leaves room for a lock; a record so the decision can be tested alone. */
    record LockBudget(long softLimit, long lockedBytes, boolean privileged) {

        static LockBudget current() {
            ProcessMemory now = ProcessMemory.read();
            return new LockBudget(lockLimit(), Math.max(0, now.lockedBytes()), ProcessMemory.hasCapability(CAP_IPC_LOCK));
        }

        /** null when {@code bytes} more may be locked, else the message saying why not and what to do. */
        String refusal(long bytes) {
            if (privileged || softLimit < 0 || lockedBytes + bytes <= softLimit) return null;
            return "cannot lock " + ProcessMemory.human(bytes) + ": RLIMIT_MEMLOCK allows "
                    + ProcessMemory.human(softLimit) + " per process and " + ProcessMemory.human(lockedBytes)
                    + " are locked already. Raise it (ulimit -l unlimited; memlock in /etc/security/limits.conf;"
                    + " LimitMEMLOCK= under systemd; docker --ulimit memlock=-1) or grant CAP_IPC_LOCK. Not locked:"
                    + " the pages stay pageable";
        }
    }
}
