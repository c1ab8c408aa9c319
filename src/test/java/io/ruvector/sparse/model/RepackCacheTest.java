package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.kernels.RepackCache;
import io.ruvector.sparse.kernels.RepackedWeights;
import io.ruvector.sparse.memory.MappedRam;
import io.ruvector.sparse.quant.InterleavedKQuant;
import io.ruvector.sparse.quant.InterleavedQ4_0;
import io.ruvector.sparse.synth.SyntheticModel;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The repacked copies kept in a cache file ({@link ModelOptions#repackCache}): the first open writes it, later opens
 * map it and repack nothing, the logits are the same bits with and without it, and a cache that does not fit the
 * model (changed model, truncated, garbage, damaged header) is rebuilt, while a folder that cannot be written
 * falls back to copies in memory. The file is never visible half-written.
 */
class RepackCacheTest {

    private static final int[] PROMPT = {1, 300, 301, 302, 303, 304, 305};
    private static final int STEPS = 4;

    @TempDir
    Path dir;

    private Path synth(GgmlType type, String name) throws Exception {
        Path file = dir.resolve(name);
        try (Parallel pool = new Parallel(1)) {
            SyntheticModel.write(SyntheticModel.Options.preset("tiny").withWeightType(type), file, pool, null);
        }
        return file;
    }

    private static ModelOptions options(Path cache) {
        return ModelOptions.defaults().withThreads(2).withRepackCache(cache);
    }

    /** What one run of a model saw: its logits (prompt, then greedy steps) and its repacked copies. */
    private record Run(float[] logits, Path cacheFile, int repacks, boolean allMapped) {}

    private static Run run(Path model, ModelOptions options) throws Exception {
        try (LanguageModel m = LanguageModel.open(model, options); Session s = m.newSession()) {
            int vocab = m.config().vocabSize();
            float[] all = new float[(STEPS + 1) * vocab];
            Logits l = s.evaluate(PROMPT);
            for (int i = 0; ; i++) {
                System.arraycopy(l.toArray(), 0, all, i * vocab, vocab);
                if (i == STEPS) break;
                l = s.evaluate(l.argmax());
            }
            RepackedWeights r = m.repacked();
            boolean mapped = true;
            for (Tensor w : LanguageModel.decodingMatrices(m.weights())) {
                InterleavedQ4_0 q4 = r.interleavedQ4_0(w, m.pool());
                InterleavedKQuant k = r.interleavedK(w, m.pool());
                if (q4 != null) mapped &= q4.isMapped();
                if (k != null) mapped &= k.isMapped();
            }
            return new Run(all, r.cacheFile(), r.repackCount(), mapped);
        }
    }

    private static Path onlyCacheFile(Path cacheDir) throws Exception {
        try (Stream<Path> files = Files.list(cacheDir)) {
            List<Path> all = files.toList();
            assertEquals(1, all.size(), "one file in the cache folder: " + all);
            assertTrue(all.get(0).getFileName().toString().endsWith(RepackCache.SUFFIX), all.get(0).toString());
            return all.get(0);
        }
    }

    private static Object fileKey(Path p) throws Exception {
        return Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
    }

    @Test
    void aLaterOpenMapsTheCacheRepacksNothingAndComputesTheSameBits() throws Exception {
        for (GgmlType t : List.of(GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K)) {
            Path model = synth(t, "tiny-" + t + ".gguf");
            Path cache = dir.resolve("cache-" + t);

            Run memory = run(model, options(null));
            assertNull(memory.cacheFile(), "no cache folder: no cache file");
            assertTrue(memory.repacks() > 0, t + ": without a cache, decoding repacks on first use");
            assertTrue(memory.allMapped(), t + ": copies in memory are mapped RAM files too (one kind of segment)");

            Run first = run(model, options(cache));
            Path file = onlyCacheFile(cache);
            assertEquals(file, first.cacheFile());
            assertEquals(0, first.repacks(), t + ": the first open made every copy while writing the cache");
            Object written = fileKey(file);

            Run later = run(model, options(cache));
            assertEquals(file, later.cacheFile());
            assertEquals(0, later.repacks(), t + ": a later open repacks nothing");
            assertTrue(later.allMapped(), t + ": the copies are slices of the mapped cache file");
            assertEquals(written, fileKey(file), t + ": a later open does not rewrite the cache");

            assertArrayEquals(memory.logits(), first.logits(), t + ": the same bits with the copies written to the cache");
            assertArrayEquals(memory.logits(), later.logits(), t + ": the same bits with the copies read from the cache");
        }
    }

    @Test
    void aChangedModelOrADamagedCacheIsRebuiltNeverRead() throws Exception {
        Path model = synth(GgmlType.Q4_K, "tiny.gguf");
        Path cache = dir.resolve("cache");
        float[] expected = run(model, options(null)).logits();
        run(model, options(cache));
        Path file = onlyCacheFile(cache);
        long size = Files.size(file);

        long firstMatrix;
        try (LanguageModel m = LanguageModel.open(model, options(null))) {
            Tensor w = LanguageModel.decodingMatrices(m.weights()).get(0);
            firstMatrix = m.gguf().dataOffset() + w.data().address() - m.gguf().data().address();
        }

        List<String> damages = List.of("model touched", "model data changed, same size and time stamp", "truncated",
                "garbage", "header byte flipped", "empty");
        for (String damage : damages) {
            switch (damage) {
                case "model data changed, same size and time stamp" -> {
                    FileTime stamp = Files.getLastModifiedTime(model);
                    try (FileChannel ch = FileChannel.open(model, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                        ByteBuffer b = ByteBuffer.allocate(1);
                        ch.read(b, firstMatrix + 100);
                        b.put(0, (byte) (b.get(0) ^ 0x01));
                        ch.write(b.rewind(), firstMatrix + 100);
                    }
                    Files.setLastModifiedTime(model, stamp);
                    float[] before = expected;
                    expected = run(model, options(null)).logits();
                    assertFalse(java.util.Arrays.equals(before, expected), "the changed weight changes the logits");
                }
                case "model touched" -> Files.setLastModifiedTime(model,
                        FileTime.fromMillis(Files.getLastModifiedTime(model).toMillis() + 2000));
                case "truncated" -> {
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                        ch.truncate(size / 2);
                    }
                }
                case "garbage" -> {
                    byte[] noise = new byte[(int) size];
                    new Random(7).nextBytes(noise);
                    Files.write(file, noise);
                }
                case "header byte flipped" -> {
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                        ByteBuffer b = ByteBuffer.allocate(1);
                        ch.read(b, 200);
                        b.put(0, (byte) (b.get(0) ^ 0x10));
                        ch.write(b.rewind(), 200);
                    }
                }
                case "empty" -> Files.write(file, new byte[0]);
                default -> throw new AssertionError(damage);
            }
            Object damaged = fileKey(file);
            Run rebuilt = run(model, options(cache));
            assertEquals(file, rebuilt.cacheFile(), damage + ": rebuilt in place");
            assertNotEquals(damaged, fileKey(file), damage + ": a new file replaced the damaged one");
            assertEquals(size, Files.size(file), damage + ": complete again");
            assertArrayEquals(expected, rebuilt.logits(), damage + ": the same bits as without a cache");
            Run after = run(model, options(cache));
            assertEquals(0, after.repacks(), damage + ": the rebuilt cache is read by the next open");
        }
    }

    @Test
    void aFolderThatCannotBeWrittenFallsBackToCopiesInMemory() throws Exception {
        Path model = synth(GgmlType.Q4_0, "tiny.gguf");
        Path notADir = dir.resolve("a-file");
        Files.write(notADir, new byte[] {1});
        float[] expected = run(model, options(null)).logits();
        Run r = run(model, options(notADir.resolve("repacked")));
        assertNull(r.cacheFile(), "no cache file where none can be written");
        assertTrue(r.repacks() > 0, "copies made on first use instead");
        assertArrayEquals(expected, r.logits());
    }

    @Test
    void theCacheFileIsNeverVisibleHalfWritten() throws Exception {
        Path model = synth(GgmlType.Q4_0, "tiny.gguf");
        Path cache = dir.resolve("cache");
        Files.createDirectories(cache);
        List<Tensor> matrices;
        RepackCache.Fingerprint fp;
        try (LanguageModel m = LanguageModel.open(model, options(null))) {
            matrices = LanguageModel.decodingMatrices(m.weights());
            fp = RepackCache.Fingerprint.of(model, m.gguf().dataOffset());   // no samples: the header and time stamp tell
            Path file = RepackCache.fileFor(cache, model);
            AtomicInteger checks = new AtomicInteger();
            // Called after each matrix is copied, while the cache is being written: the file must not exist yet.
            // (Called again for every matrix once the file is mapped: only the first round is during the write.)
            try (RepackedWeights r = RepackCache.open(file, fp, matrices, 1, w -> {
                if (checks.getAndIncrement() < matrices.size()) {
                    assertFalse(Files.exists(file), "the cache file appears only when complete");
                }
            }, MappedRam::allocator)) {
                assertTrue(checks.get() >= matrices.size(), "checked while each matrix was written");
                assertEquals(file, r.cacheFile());
            }
            long size = Files.size(file);
            Object complete = fileKey(file);
            // A rewrite (the model changed) keeps the old complete file visible until the new one replaces it.
            Files.setLastModifiedTime(model, FileTime.fromMillis(Files.getLastModifiedTime(model).toMillis() + 2000));
            RepackCache.Fingerprint changed = RepackCache.Fingerprint.of(model, m.gguf().dataOffset());
            AtomicInteger during = new AtomicInteger();
            try (RepackedWeights r = RepackCache.open(file, changed, matrices, 1, w -> {
                if (during.getAndIncrement() >= matrices.size()) return;
                try {
                    assertEquals(complete, fileKey(file), "the old file stays until the new one is complete");
                    assertEquals(size, Files.size(file));
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, MappedRam::allocator)) {
                assertEquals(file, r.cacheFile());
            }
            assertNotEquals(complete, fileKey(file));
            try (Stream<Path> left = Files.list(cache)) {
                assertEquals(List.of(file), left.toList(), "no temporary file left behind");
            }
        }
    }

    @Test
    void processesOpeningAtOnceEachGetACompleteCache() throws Exception {
        Path model = synth(GgmlType.Q4_K, "tiny.gguf");
        Path cache = dir.resolve("cache");
        float[] expected = run(model, options(null)).logits();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Callable<Run>> opens = new ArrayList<>();
            for (int i = 0; i < 3; i++) opens.add(() -> run(model, options(cache)));
            for (Future<Run> f : pool.invokeAll(opens)) {
                Run r = f.get();
                assertNotNull(r.cacheFile());
                assertArrayEquals(expected, r.logits());
            }
        } finally {
            pool.shutdown();
        }
        onlyCacheFile(cache);
        assertEquals(0, run(model, options(cache)).repacks(), "what the last writer left is a valid cache");
    }

    @Test
    void writingSweepsCachesOfModelsThatAreGone() throws Exception {
        Path cache = dir.resolve("cache");
        Path gone = synth(GgmlType.Q4_0, "gone.gguf");
        run(gone, options(cache));
        Path stale = onlyCacheFile(cache);
        Files.delete(gone);
        Path model = synth(GgmlType.Q4_0, "kept.gguf");
        run(model, options(cache));
        assertFalse(Files.exists(stale), "the cache of a deleted model goes when another is written");
        assertEquals(RepackCache.fileFor(cache, model), onlyCacheFile(cache));
    }
}
