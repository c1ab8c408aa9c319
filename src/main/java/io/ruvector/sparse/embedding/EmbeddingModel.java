package io.ruvector.sparse.embedding;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A sentence-embedding model (BERT family: {@code bert}, {@code nomic-bert}) read in place from a GGUF file:
 * text in, one L2-normalized vector out, pooled as the file's {@code <arch>.pooling_type} says.
 *
 * <pre>{@code
 * try (EmbeddingModel model = EmbeddingModel.open(path, EmbeddingOptions.defaults().withThreads(2))) {
 *     List<float[]> vectors = model.embedAll(List.of("The cat sat on the mat.", "A dog barked."));
 *     float similarity = EmbeddingModel.dot(vectors.get(0), vectors.get(1));   // cosine: they are unit vectors
 * }
 * }</pre>
 *
 * <p>Texts are tokenized with the file's WordPiece vocabulary as Hugging Face's tokenizer does it, and cut at
 * {@link EmbeddingOptions#maxTokens()} tokens ([CLS] and [SEP] included). {@link #embedAll} runs many texts
 * through each weight matrix together, which is much faster than one at a time.
 *
 * <p>Thread-safe: concurrent calls each use their own working buffers and share the model's thread pool. Use
 * after {@link #close()} throws {@link IllegalStateException}; close waits for calls in flight.
 */
public final class EmbeddingModel implements AutoCloseable {

    private final GgufFile file;
    private final BertConfig config;
    private final BertWeights weights;
    private final Tokenizer tokenizer;
    private final EmbeddingOptions options;
    private final int maxTokens;
    private final Parallel pool;
    private final float[] ropeCos;
    private final float[] ropeSin;
    private final ConcurrentLinkedQueue<BertForward> idle = new ConcurrentLinkedQueue<>();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;   // guarded by lock

    private EmbeddingModel(GgufFile file, EmbeddingOptions options) {
        this.file = file;
        this.options = options;
        this.config = BertConfig.fromGguf(file);
        if (config.pooling() == Pooling.NONE) {
            throw new IllegalArgumentException(file.name() + ": " + config.architecture()
                    + ".pooling_type is none (per-token outputs); a sentence embedding needs mean, cls or last pooling");
        }
        this.weights = BertWeights.load(file, config);
        this.tokenizer = Tokenizer.fromGguf(file);
        if (!tokenizer.model().equals("bert")) {
            throw new IllegalArgumentException(file.name() + ": tokenizer '" + tokenizer.model() + "' is not WordPiece (bert)");
        }
        if (options.maxTokens() > config.contextLength()) {
            throw new IllegalArgumentException("max tokens " + options.maxTokens() + " exceeds the model's context of "
                    + config.contextLength());
        }
        this.maxTokens = options.maxTokens() == 0 ? config.contextLength() : options.maxTokens();
        if (config.rotary()) {
            int half = config.headDim() / 2;
            ropeCos = new float[config.contextLength() * half];
            ropeSin = new float[config.contextLength() * half];
            for (int p = 0; p < config.contextLength(); p++) {
                for (int i = 0; i < half; i++) {
                    double angle = p * Math.pow(config.ropeBase(), -2.0 * i / config.headDim());
                    ropeCos[p * half + i] = (float) Math.cos(angle);
                    ropeSin[p * half + i] = (float) Math.sin(angle);
                }
            }
        } else {
            ropeCos = null;
            ropeSin = null;
        }
        this.pool = new Parallel(options.threads());
    }

    /**
     * Maps {@code gguf} and reads the encoder's configuration, weights and vocabulary.
     *
     * @throws IOException                   when the file cannot be read
     * @throws IllegalArgumentException      when it is not an embedding model we run (the message names the
     *                                       architecture, key or tensor)
     * @throws UnsupportedOperationException when a tensor is of a type we cannot read or is not part of the layout
     */
    public static EmbeddingModel open(Path gguf, EmbeddingOptions options) throws IOException {
        Objects.requireNonNull(options, "options");
        GgufFile file = GgufFile.open(gguf);
        try {
            return new EmbeddingModel(file, options);
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    /**
     * Whether {@code architecture} ({@code general.architecture}) is an encoder this class runs ({@code bert},
     * {@code nomic-bert}): lets a caller holding any GGUF file choose between this and a generating model.
     */
    public static boolean supportsArchitecture(String architecture) {
        return BertConfig.SUPPORTED.contains(architecture);
    }

    /** {@link #open(Path, EmbeddingOptions)} with {@link EmbeddingOptions#defaults()}. */
    public static EmbeddingModel open(Path gguf) throws IOException { return open(gguf, EmbeddingOptions.defaults()); }

    /** Width of the vectors. */
    public int dimension() { return config.dim(); }

    /** {@code general.architecture}. */
    public String architecture() { return config.architecture(); }

    /** How token vectors become one ({@code <arch>.pooling_type}). */
    public Pooling pooling() { return config.pooling(); }

    /** The most tokens of a text that are embedded ([CLS] and [SEP] included). */
    public int maxTokens() { return maxTokens; }

    /** The model's vocabulary. */
    public Tokenizer tokenizer() { return tokenizer; }

    /**
     * The token ids {@code text} is embedded from: [CLS], the WordPiece ids, [SEP], cut to {@link #maxTokens()}
     * with the [SEP] kept last.
     */
    public int[] tokenize(String text) {
        Objects.requireNonNull(text, "text");
        int[] ids = tokenizer.encode(text);
        if (ids.length <= maxTokens) return ids;
        int[] cut = Arrays.copyOf(ids, maxTokens);
        cut[maxTokens - 1] = ids[ids.length - 1];
        return cut;
    }

    /** The unit-length embedding of {@code text}. */
    public float[] embed(String text) {
        return embedAll(List.of(text)).getFirst();
    }

    /**
     * The unit-length embeddings of {@code texts}, in order. Consecutive texts share passes over the weights up
     * to {@link EmbeddingOptions#batchTokens()} tokens per pass.
     */
    public List<float[]> embedAll(List<String> texts) {
        Objects.requireNonNull(texts, "texts");
        List<int[]> ids = new ArrayList<>(texts.size());
        for (String t : texts) ids.add(tokenize(t));
        lock.readLock().lock();
        try {
            if (closed) throw new IllegalStateException("the embedding model is closed");
            BertForward forward = idle.poll();
            if (forward == null) forward = new BertForward(config, weights, pool, ropeCos, ropeSin);
            try {
                List<float[]> out = new ArrayList<>(texts.size());
                int from = 0;
                while (from < ids.size()) {
                    int to = from + 1;
                    int tokens = ids.get(from).length;
                    while (to < ids.size() && tokens + ids.get(to).length <= options.batchTokens()) tokens += ids.get(to++).length;
                    out.addAll(Arrays.asList(forward.embed(ids.subList(from, to), config.pooling())));
                    from = to;
                }
                return out;
            } finally {
                idle.add(forward);
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The dot product of two vectors: their cosine similarity when both are embeddings from here. */
    public static float dot(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("vectors of " + a.length + " and " + b.length + " values");
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return (float) s;
    }

    /** Waits for calls in flight, stops the threads and unmaps the file. Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            idle.clear();
            pool.close();
            file.close();
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return "EmbeddingModel[" + config.architecture() + ", " + config.layers() + " layers, dim " + config.dim()
                + ", " + config.pooling().name().toLowerCase(java.util.Locale.ROOT) + " pooling, max " + maxTokens + " tokens]";
    }
}
