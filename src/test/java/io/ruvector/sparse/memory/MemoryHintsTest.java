package io.ruvector.sparse.memory;

import io.ruvector.sparse.Required;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryHintsTest {

    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    @BeforeAll
    static void linuxOnly() {
        Required.notApplicable(MemoryHints.supported(), "memory hints reach the kernel on Linux only");
    }

    /** A file of {@code size} random bytes (fixed seed), mapped read-only in {@code arena}. */
    private MemorySegment mappedFile(String name, int size, Arena arena) throws IOException {
        Path file = tmp.resolve(name);
        byte[] bytes = new byte[size];
        new Random(42).nextBytes(bytes);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ)) {
            ch.write(ByteBuffer.wrap(bytes));
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        }
    }

    @Test
    void pageSizeComesFromSysconf() {
        long page = MemoryHints.pageSize();
        assertTrue(page >= 4096 && Long.bitCount(page) == 1, "page size " + page);
    }

    @Test
    void adviceIsAcceptedOnAFileMappingIncludingUnalignedSlices() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = mappedFile("advice.bin", 2 * MIB, arena);
            for (Advice a : Advice.values()) {
                assertTrue(MemoryHints.advise(file, a), a + " on the whole mapping");
                assertTrue(MemoryHints.advise(file.asSlice(1000, 50_000), a), a + " on an unaligned slice");
            }
            assertTrue(MemoryHints.advise(file.asSlice(10, 100), Advice.DONTNEED), "no whole page: nothing to drop");
            assertEquals(file.get(ValueLayout.JAVA_BYTE, 12345), file.get(ValueLayout.JAVA_BYTE, 12345));
        }
    }

    @Test
    void rowsSharingPagesAreAdvisedTogether() throws IOException {
        Required.notApplicable(MemoryHints.pageSize() == 4096,
                "the row layout below assumes 4 KiB pages, this kernel's are " + MemoryHints.pageSize() + " bytes");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tensor = mappedFile("rows.bin", 5 * MIB, arena); // 5242 rows of 1000 bytes
            int[] rows = {0, 1, 2, 50, 51, 4000, 4000, 4001, 99};
            assertEquals(3, MemoryHints.adviseRows(tensor, 1000, rows, 8, Advice.WILLNEED), "pages 0, 12, 976-977");
            assertEquals(1, MemoryHints.adviseRows(tensor, 1000, new int[] {0, 4}, 2, Advice.RANDOM), "rows 0 and 4 share page 0");
            assertEquals(1, MemoryHints.adviseRows(tensor, 1000, new int[] {3, 8}, 2, Advice.RANDOM), "pages 0-1 adjoin page 1");
            byte before = tensor.get(ValueLayout.JAVA_BYTE, 9000);
            assertEquals(1, MemoryHints.adviseRows(tensor, 1000, new int[] {8, 9, 10, 11, 12}, 5, Advice.DONTNEED));
            assertEquals(before, tensor.get(ValueLayout.JAVA_BYTE, 9000), "a dropped file page reads back from the file");
            assertEquals(0, MemoryHints.adviseRows(tensor, 1000, rows, 0, Advice.WILLNEED));
            var e = assertThrows(IllegalArgumentException.class, () -> MemoryHints.adviseRows(tensor, 1000, rows, 9, Advice.WILLNEED));
            assertTrue(e.getMessage().contains("ascending"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> MemoryHints.adviseRows(tensor, 1000, new int[] {5242}, 1, Advice.WILLNEED));
            assertTrue(e.getMessage().contains("outside"), e.getMessage());
        }
    }

    @Test
    void dontNeedIsRefusedWhereItWouldDestroyData() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment anonymous = arena.allocate(MIB);
            var e = assertThrows(IllegalArgumentException.class, () -> MemoryHints.advise(anonymous, Advice.DONTNEED));
            assertTrue(e.getMessage().contains("file mappings"), e.getMessage());
            assertTrue(MemoryHints.advise(anonymous, Advice.WILLNEED));
        }
        assertFalse(MemoryHints.advise(MemorySegment.ofArray(new byte[4096]), Advice.RANDOM), "heap memory");
        Arena closed = Arena.ofConfined();
        MemorySegment gone = closed.allocate(4096);
        closed.close();
        assertThrows(IllegalStateException.class, () -> MemoryHints.advise(gone, Advice.RANDOM));
        assertThrows(IllegalStateException.class, () -> MemoryHints.lock(gone));
    }

    @Test
    void residencyOfAFreshlyWrittenFileIsItsWholeSpan() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = mappedFile("resident.bin", 4 * MIB, arena);
            assertEquals(4L * MIB, MemoryHints.residentBytes(file), "just written, so in the page cache");
            MemorySegment slice = file.asSlice(MemoryHints.pageSize() + 5, 10);
            assertEquals(MemoryHints.pageSize(), MemoryHints.residentBytes(slice));
        }
        assertEquals(-1, MemoryHints.residentBytes(MemorySegment.ofArray(new byte[16])));
    }

    @Test
    void lockedPagesAreResidentAndShowInVmLck() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment locked = mappedFile("locked.bin", 8 * MIB, arena);
            ProcessMemory before = ProcessMemory.read();
            long previousLimit = raiseSoftLockLimit(32L * MIB);
            MemoryLock lock;
            try {
                lock = MemoryHints.lock(locked);
            } finally {
                if (previousLimit != 0) setSoftLockLimit(previousLimit);
            }
            Required.that(lock.locked(), "locking 8 MiB, which this test checks, is refused here (" + lock.message()
                    + "); CI must allow it: run as root with CAP_IPC_LOCK or raise the hard memlock limit");
            assertTrue(lock.message().startsWith("locked 8.0 MiB"), lock.message());
            ProcessMemory afterLock = ProcessMemory.read();
            assertTrue(afterLock.minus(before).lockedBytes() >= 8L * MIB, "VmLck grew: " + afterLock.minus(before));
            assertEquals(8L * MIB, lock.lockedBytes());
            assertEquals(8L * MIB, MemoryHints.residentBytes(locked));

            lock.close();
            assertFalse(lock.locked());
            assertEquals(0, lock.lockedBytes());
            assertTrue(ProcessMemory.read().lockedBytes() <= afterLock.lockedBytes() - 8L * MIB);
            lock.close(); // idempotent
        }
    }

    /**
     * Raises this process's RLIMIT_MEMLOCK soft limit towards {@code bytes}, as far as the hard limit allows (any
     * process may), so the lock test does not depend on how the shell that started the JVM set it; JDK threads
     * may already hold locked pages, hence room above the 8 MiB the test locks. Returns the soft limit to put
     * back afterwards ({@link #setSoftLockLimit}), or 0 when it was left alone.
     */
    private static long raiseSoftLockLimit(long bytes) {
        long[] limit = lockLimits();
        long soft = limit[0], hard = limit[1];
        if (soft == -1 || Long.compareUnsigned(soft, bytes) >= 0) return 0;
        long raised = hard == -1 || Long.compareUnsigned(hard, bytes) > 0 ? bytes : hard;
        if (raised == soft) return 0;
        setSoftLockLimit(raised);
        return soft;
    }

    private static final int RLIMIT_MEMLOCK = 8; // Linux, every architecture (asm-generic/resource.h)
    private static final FunctionDescriptor RLIMIT_CALL =
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS);

    private static MethodHandle libc(String name) {
        Linker linker = Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().find(name).orElseThrow(), RLIMIT_CALL);
    }

    /** {soft, hard} RLIMIT_MEMLOCK in bytes, -1 meaning unlimited (struct rlimit: two 64-bit rlim_t). */
    private static long[] lockLimits() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment limit = arena.allocate(16, 8);
            int rc = (int) libc("getrlimit").invokeExact(RLIMIT_MEMLOCK, limit);
            if (rc != 0) throw new AssertionError("getrlimit(RLIMIT_MEMLOCK) failed");
            return new long[] {limit.get(ValueLayout.JAVA_LONG, 0), limit.get(ValueLayout.JAVA_LONG, 8)};
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static void setSoftLockLimit(long soft) {
        long hard = lockLimits()[1];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment limit = arena.allocate(16, 8);
            limit.set(ValueLayout.JAVA_LONG, 0, soft);
            limit.set(ValueLayout.JAVA_LONG, 8, hard);
            int rc = (int) libc("setrlimit").invokeExact(RLIMIT_MEMLOCK, limit);
            if (rc != 0) throw new AssertionError("setrlimit(RLIMIT_MEMLOCK) to a soft limit of " + soft + " failed");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    @Test
    void theLockBudgetFollowsTheLimitAndSaysHowToRaiseIt() {
        var tight = new MemoryHints.LockBudget(8L * MIB, 2L * MIB, false);
        assertNull(tight.refusal(6L * MIB));
        String refusal = tight.refusal(6L * MIB + 4096);
        assertNotNull(refusal);
        assertTrue(refusal.contains("RLIMIT_MEMLOCK allows 8.0 MiB") && refusal.contains("2.0 MiB are locked already")
                && refusal.contains("ulimit -l") && refusal.contains("CAP_IPC_LOCK"), refusal);
        assertNull(new MemoryHints.LockBudget(8L * MIB, 2L * MIB, true).refusal(1L << 40), "CAP_IPC_LOCK ignores the limit");
        assertNull(new MemoryHints.LockBudget(-1, 0, false).refusal(1L << 40), "unlimited");
        assertEquals(0, new MemoryHints.LockBudget(0, 0, false).refusal(1).indexOf("cannot lock"));
    }

    @Test
    void processFiguresMoveWithTheWorkDone() {
        ProcessMemory before = ProcessMemory.read();
        assertTrue(before.residentBytes() > 0 && before.peakResidentBytes() >= before.residentBytes(), before.toString());
        assertTrue(before.minorFaults() > 0 && before.majorFaults() >= 0, before.toString());
        try (Arena arena = Arena.ofConfined()) {
            arena.allocate(32L * MIB); // zero-filled, so every page is touched
            ProcessMemory delta = ProcessMemory.read().minus(before);
            assertTrue(delta.minorFaults() >= 32L * MIB / MemoryHints.pageSize() / 4, "faults " + delta);
            assertTrue(delta.residentBytes() >= 16L * MIB, "RSS grew " + delta);
        }
        assertTrue(MemoryHints.lockLimit() == -1 || MemoryHints.lockLimit() >= 0);
        assertEquals("?", ProcessMemory.human(-1));
        assertEquals("1.5 KiB", ProcessMemory.human(1536));
    }
}
