package io.ruvector.sparse.spark;

import io.ruvector.sparse.embedding.EmbeddingModel;
import io.ruvector.sparse.embedding.EmbeddingOptions;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.sparse.SparseModel;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The models open in this JVM (an executor, or the driver in local mode): one per file, options and kind
 * (a generating {@link LanguageModel} or an {@link EmbeddingModel}), opened
 * lazily by the first task that needs it and shared by every task after it, across partitions and jobs.
 *
 * <p>A task holds a {@link Lease} while it works. Models stay open when no task holds them (the next partition
 * or job reuses the mapping and the warmed-up JIT), until {@link #closeAll()} or the JVM ends; the weights are a
 * read-only mapping, so an ending executor needs no clean-up. {@code closeAll()} closes idle models at once
 * and the others when their last task lets go, so it is safe while jobs run.
 *
 * <p>Opening happens under the entry's own lock, so tasks that want one model wait for the one opening while
 * tasks of other models go on. A failed open is not remembered: each task that needs the model tries again and
 * fails with the same message (Spark gives up on the job after {@code spark.task.maxFailures}).
 */
public final class ExecutorModels {

    private ExecutorModels() {}

    /** What a task runs: text generation, or sentence embeddings. */
    enum Kind { GENERATION, EMBEDDING }

    /** What identifies an open model: what it is opened as, the local files and the resolved options. */
    private record Key(Kind kind, Path model, Path sidecar, ModelSpec spec, int threads) {}

    private static final Map<Key, Entry> OPEN = new HashMap<>();

    /** Models opened in this JVM so far, for tests that check a model is opened once. */
    private static final AtomicInteger OPENED = new AtomicInteger();

    /** A task's hold on an open model. */
    static final class Lease implements AutoCloseable {
        private final Entry entry;
        private boolean released;

        private Lease(Entry entry) { this.entry = entry; }

        CompletionEngine engine() { return entry.engine; }

        LanguageModel model() { return entry.model; }

        /** The embedding model of a lease from {@link #leaseEmbeddings}; thread-safe, shared by the executor's tasks. */
        EmbeddingModel embeddings() { return entry.embeddings; }

        @Override
        public void close() {
            synchronized (ExecutorModels.class) {
                if (released) return;
                released = true;
                entry.release();
            }
        }
    }

    /**
     * Opens (or finds) the model of {@code spec} and holds it until the lease is closed.
     *
     * @throws ModelLoadException when the model or sidecar is missing or cannot be read, with the engine's message
     */
    static Lease lease(ModelSpec spec) {
        return lease(Kind.GENERATION, spec);
    }

    /**
     * Opens (or finds) {@code spec}'s model as an {@link EmbeddingModel} and holds it until the lease is closed.
     *
     * @throws ModelLoadException when the model is missing or not an embedding model, with the engine's message
     */
    static Lease leaseEmbeddings(ModelSpec spec) {
        return lease(Kind.EMBEDDING, spec);
    }

    private static Lease lease(Kind kind, ModelSpec spec) {
        Path model = spec.model().resolve().toAbsolutePath().normalize();
        Path sidecar = spec.sidecar() == null ? null : spec.sidecar().resolve().toAbsolutePath().normalize();
        int threads = spec.threads() > 0 ? spec.threads() : executorCores();
        Key key = new Key(kind, model, sidecar, spec, threads);
        Entry entry;
        synchronized (ExecutorModels.class) {
            entry = OPEN.computeIfAbsent(key, Entry::new);
            entry.users++;
        }
        Lease lease = new Lease(entry);
        try {
            entry.open();
            return lease;
        } catch (RuntimeException e) {
            synchronized (ExecutorModels.class) {
                OPEN.remove(key, entry);
            }
            lease.close();
            throw e;
        }
    }

    /**
     * Closes every model of this JVM: those no task holds now, the others when their tasks finish. The next
     * job opens them again. For local-mode programs that want the memory back; executors need not call it.
     */
    public static void closeAll() {
        List<Entry> entries;
        synchronized (ExecutorModels.class) {
            entries = new ArrayList<>(OPEN.values());
            OPEN.clear();
            for (Entry e : entries) e.retire();
        }
    }

    /** Models open in this JVM now (for tests and monitoring). */
    public static synchronized int openCount() {
        int n = 0;
        for (Entry e : OPEN.values()) if (e.model != null || e.embeddings != null) n++;
        return n;
    }

    /** How many models this JVM has opened for tasks so far. */
    public static int modelsOpened() { return OPENED.get(); }

    /**
     * Opens the model (and sidecar) of {@code spec} on this JVM and closes it again: how the driver checks a file
     * it can read before a job starts, so a missing or corrupt model fails at once with the engine's message.
     */
    static void check(Path model, Path sidecar, ModelSpec spec) {
        try (Opened o = openFiles(model, sidecar, spec, 1)) {
            // Opening is the check; the weights are mapped, not read.
        }
    }

    /** {@link #check} for a model opened as an {@link EmbeddingModel}. */
    static void checkEmbeddings(Path model, ModelSpec spec) {
        try (EmbeddingModel m = openEmbeddings(model, spec, 1)) {
            // Opening is the check: it reads the configuration and vocabulary and maps the weights.
        }
    }

    private static EmbeddingModel openEmbeddings(Path model, ModelSpec spec, int threads) {
        if (!Files.isRegularFile(model)) throw new ModelLoadException("model file not found: " + model);
        EmbeddingOptions options = EmbeddingOptions.defaults().withThreads(threads).withMaxTokens(spec.contextLength());
        try {
            return EmbeddingModel.open(model, options);
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot open embedding model " + model + ": " + message(e), e);
        }
    }

    /** This executor's cores: {@code spark.executor.cores}, N of a {@code local[N]} master, else the machine's. */
    static int executorCores() {
        int machine = Runtime.getRuntime().availableProcessors();
        SparkEnv env = SparkEnv.get();
        if (env == null) return machine;
        SparkConf conf = env.conf();
        if (conf.contains("spark.executor.cores")) return Math.max(1, conf.getInt("spark.executor.cores", machine));
        return localThreads(conf.get("spark.master", ""), machine);
    }

    private static final Pattern LOCAL = Pattern.compile("local(?:-cluster)?\\[(\\d+|\\*)(?:,\\s*\\d+)?]");

    /** The task threads of a local master ({@code local}, {@code local[N]}, {@code local[*]}, {@code local[N,F]}). */
    static int localThreads(String master, int machine) {
        if (master.equals("local")) return 1;
        Matcher m = LOCAL.matcher(master);
        if (m.matches() && master.startsWith("local[")) return m.group(1).equals("*") ? machine : Math.max(1, Integer.parseInt(m.group(1)));
        return machine;
    }

    /** A model with its optional sparse layer. */
    private record Opened(LanguageModel model, SparseModel sparse) implements AutoCloseable {
        @Override
        public void close() {
            if (sparse != null) sparse.close();
            model.close();
        }
    }

    private static Opened openFiles(Path model, Path sidecar, ModelSpec spec, int threads) {
        if (!Files.isRegularFile(model)) throw new ModelLoadException("model file not found: " + model);
        if (sidecar != null && !Files.isRegularFile(sidecar)) throw new ModelLoadException("sidecar file not found: " + sidecar);
        LanguageModel lm;
        try {
            lm = LanguageModel.open(model, spec.options(threads));
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot open model " + model + ": " + message(e), e);
        }
        if (sidecar == null) return new Opened(lm, null);
        try {
            return new Opened(lm, SparseModel.attach(lm, sidecar, spec.sparseOptions()));
        } catch (IOException | RuntimeException e) {
            lm.close();
            throw new ModelLoadException("cannot attach sparse sidecar " + sidecar + ": " + message(e), e);
        }
    }

    private static String message(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** One model of this JVM: its users, and once open, the model and its engine. */
    private static final class Entry {
        private final Key key;
        // users and retired are guarded by ExecutorModels.class; the rest by this entry's lock.
        private int users;
        private boolean retired;
        private volatile LanguageModel model;
        private volatile CompletionEngine engine;
        private volatile EmbeddingModel embeddings;
        private Opened opened;

        Entry(Key key) { this.key = key; }

        synchronized void open() {
            if (engine != null || embeddings != null) return;
            if (key.kind == Kind.EMBEDDING) {
                embeddings = openEmbeddings(key.model, key.spec, key.threads);
                OPENED.incrementAndGet();
                return;
            }
            Opened o = openFiles(key.model, key.sidecar, key.spec, key.threads);
            OPENED.incrementAndGet();
            opened = o;
            model = o.model();
            // Tasks that run at once in this executor: its cores (a task takes one core unless spark.task.cpus says more).
            int tasks = executorCores();
            engine = o.sparse() != null
                    ? Engines.of(o.model(), o.sparse().feedForward(), o.sparse()::newSession, key.spec.batchSlots(), tasks)
                    : Engines.of(o.model(), null, o.model()::newSession, key.spec.batchSlots(), tasks);
        }

        void release() {
            users--;
            if (retired && users == 0) closeNow();
        }

        void retire() {
            retired = true;
            if (users == 0) closeNow();
        }

        private synchronized void closeNow() {
            if (engine != null) engine.close();
            if (opened != null) opened.close();
            if (embeddings != null) embeddings.close();
            embeddings = null;
            engine = null;
            model = null;
            opened = null;
        }
    }
}
