package io.ruvector.sparse.model;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.synth.SyntheticModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The warm-up of {@link ModelOptions#warmUpMillis}: on one background thread, prompts and decoding steps on small
 * synthetic models, one per weight type of the real model, with the real model's options. A fresh JVM runs the
 * first real prompt in the interpreter and C1 code while C2 has not compiled the kernels yet; these runs give the
 * JIT the invocations and loop iterations it waits for, while the real model is still being opened and its first
 * tokens prepared. The shapes are the {@code tiny} preset's (dim 256, ffn 768: whole blocks of every type, rows
 * by 32 as the interleaved copies need, products large enough to be split over the pool), so the same branches
 * are taken as with the real model.
 *
 * <p>Nothing here can fail the real model: an exception ends the warm-up, quietly.
 */
final class KernelWarmUp implements AutoCloseable {

    /** Prompt tokens per round: a batch, as a real prompt is. */
    private static final int PROMPT = 14;
    /** Decoding steps per round: single-vector products, the repacked kernels. */
    private static final int STEPS = 24;

    private final Thread thread;
    private volatile boolean stop;

    private KernelWarmUp(List<GgmlType> types, ModelOptions options) {
        long deadline = System.nanoTime() + options.warmUpMillis() * 1_000_000L;
        ModelOptions tinyOptions = options.withWarmUp(0).withContextLength(PROMPT + STEPS + 1).withRepackCache(null);
        this.thread = Thread.ofPlatform().daemon().name("sparse-infer-warm-up").unstarted(() -> run(types, tinyOptions, deadline));
    }

    /**
     * Starts the warm-up for {@code file}'s weight types, or returns null when {@code options} ask for none or no
     * type can be warmed up.
     */
    static KernelWarmUp start(GgufFile file, ModelOptions options) {
        if (options.warmUpMillis() == 0) return null;
        List<GgmlType> types = matrixTypes(file);
        if (types.isEmpty()) return null;
        KernelWarmUp w = new KernelWarmUp(types, options);
        w.thread.start();
        return w;
    }

    /** The distinct types of the file's matrices that a synthetic model can be written in, most frequent first. */
    static List<GgmlType> matrixTypes(GgufFile file) {
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        for (TensorInfo t : file.tensors()) {
            if (t.nDims() == 2) counts.merge(t.type(), 1, Integer::sum);
        }
        List<GgmlType> types = new ArrayList<>(counts.keySet());
        types.sort((a, b) -> counts.get(b) - counts.get(a));
        Set<GgmlType> writable = new LinkedHashSet<>();
        for (GgmlType t : types) {
            try {
                SyntheticModel.fileType(t);
                writable.add(t);
            } catch (IllegalArgumentException notWritable) {
                // e.g. a type we read but do not write: its kernels stay cold
            }
        }
        return List.copyOf(writable);
    }

    private void run(List<GgmlType> types, ModelOptions tinyOptions, long deadline) {
        List<LanguageModel> models = new ArrayList<>();
        List<Session> sessions = new ArrayList<>();
        try {
            for (GgmlType t : types) {
                if (stop) return;
                LanguageModel m = tinyModel(t, tinyOptions);
                models.add(m);
                sessions.add(m.newSession());
            }
            int[] prompt = new int[PROMPT];
            for (int i = 0; i < PROMPT; i++) prompt[i] = 300 + 7 * i;
            while (!stop && System.nanoTime() < deadline) {
                for (Session s : sessions) {
                    s.reset();
                    s.evaluate(prompt);
                    for (int i = 0; i < STEPS && !stop; i++) s.evaluate(400 + i);
                }
            }
        } catch (RuntimeException | Error e) {
            // A warm-up is an optimization: whatever went wrong, the real model goes on without it.
        } finally {
            for (LanguageModel m : models) m.close();
        }
    }

    /** The {@code tiny} preset in type {@code t}, every matrix one repeated row: made in milliseconds. */
    private static LanguageModel tinyModel(GgmlType t, ModelOptions options) {
        SyntheticModel.Options o = SyntheticModel.Options.preset("tiny").withWeightType(t);
        Path file = null;
        try (Parallel one = new Parallel(1)) {
            file = Files.createTempFile("sparse-infer-warm-up-", ".gguf");
            SyntheticModel.declareRepeatedRows(o, one).write(file);
            return LanguageModel.open(file, options);   // mapped: the file can go
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // a temporary file left behind
                }
            }
        }
    }

    /** Whether the warm-up thread is still running. */
    boolean running() { return thread.isAlive(); }

    /** Stops the warm-up and waits for it (its models are closed when this returns). */
    @Override
    public void close() {
        stop = true;
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
