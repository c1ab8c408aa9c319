package io.ruvector.sparse.cli;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufArray;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.model.ActivationPrecision;
import io.ruvector.sparse.model.KvCacheType;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Logits;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.sparse.SparseModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer logits}: evaluates a prompt of token ids and writes the logits at every position, plus
 * an optional greedy continuation, as a GGUF file laid out like the llama.cpp references of the test data
 * (tensor {@code logits} F32 [n_vocab, n_prompt]; metadata {@code reference.prompt}, {@code reference.greedy}).
 */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Write the logits of every prompt position (and a greedy continuation) to a GGUF file.")
public final class LogitsCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "GGUF model")
    private Path model;

    @Option(names = "--tokens", required = true, split = ",", paramLabel = "IDS",
            description = "prompt token ids, comma separated (include BOS yourself)")
    private List<Integer> tokens;

    @Option(names = "--greedy", paramLabel = "N", defaultValue = "0",
            description = "greedy tokens to generate after the prompt (default: ${DEFAULT-VALUE})")
    private int greedy;

    @Option(names = {"-t", "--threads"}, paramLabel = "T", description = "threads (default: all processors)")
    private Integer threads;

    @Option(names = "--kv", paramLabel = "TYPE", defaultValue = "f32",
            description = "KV cache type: f32 or f16 (default: ${DEFAULT-VALUE})")
    private String kv;

    @Option(names = "--activations", paramLabel = "P", defaultValue = "f32",
            description = "f32 (exact), int8 (rounded as ggml-cpu does, to compare with llama.cpp) or auto (int8 "
                    + "only where that is faster, as generate and bench do by default) (default: ${DEFAULT-VALUE})")
    private String activations;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "GGUF file to write")
    private Path out;

    @Mixin
    private SparseArgs sparseArgs;

    @Mixin
    private CommonOptions common;

    @Override
    public Integer call() throws IOException {
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("model file not found: " + model);
        if (greedy < 0) throw new IllegalArgumentException("--greedy must be >= 0, not " + greedy);
        KvCacheType kvType = switch (kv.toLowerCase(Locale.ROOT)) {
            case "f32" -> KvCacheType.F32;
            case "f16" -> KvCacheType.F16;
            default -> throw new IllegalArgumentException("--kv must be f32 or f16, not '" + kv + "'");
        };
        ActivationPrecision precision = ActivationPrecision.parse(activations);
        int[] prompt = tokens.stream().mapToInt(Integer::intValue).toArray();
        ModelOptions options = ModelOptions.defaults().withKvCacheType(kvType).withActivations(precision);
        if (threads != null) options = options.withThreads(threads);

        float[] logits;
        int[] continuation = new int[greedy];
        float[] margins = new float[greedy];
        int vocab;
        try (LanguageModel lm = LanguageModel.open(model, options);
             SparseModel sparse = sparseArgs.attach(lm);
             Session session = SparseArgs.newSession(lm, sparse)) {
            vocab = lm.config().vocabSize();
            if (prompt.length + Math.max(0, greedy - 1) > session.contextLength()) {
                throw new IllegalArgumentException(prompt.length + " prompt tokens and " + greedy
                        + " greedy steps do not fit the context of " + session.contextLength());
            }
            // Sparse steps are single-token steps: feed the prompt one token at a time so every position is sparse.
            logits = sparse == null ? session.evaluateAll(prompt) : evaluateOneByOne(session, prompt, vocab);
            Logits last = session.logits();
            for (int i = 0; i < greedy; i++) {
                continuation[i] = last.argmax();
                margins[i] = topMargin(last);
                if (i + 1 < greedy) last = session.evaluate(continuation[i]);
            }
        }

        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "reference")
                .putString("reference.model", String.valueOf(model.getFileName()))
                .putString("reference.model_sha256", sha256(model))
                .putString("reference.engine", spec.root().version()[0])
                .putArray("reference.prompt", GgufArray.ofInts(prompt))
                .putArray("reference.greedy", GgufArray.ofInts(continuation))
                .putU32("reference.n_threads", options.threads())
                .putArray("reference.greedy_margin", GgufArray.ofFloats(margins))
                .putU32("reference.n_vocab", vocab)
                .putString("reference.kv_cache_type", kvType.name().toLowerCase(Locale.ROOT))
                .putString("reference.activations", precision.name().toLowerCase(Locale.ROOT));
        w.addTensor("logits", GgmlType.F32, new long[]{vocab, prompt.length}, TensorTypes.encoded(GgmlType.F32, new long[]{vocab, prompt.length}, logits));
        w.writeAtomically(out);
        spec.commandLine().getErr().printf("wrote %d x %d logits and %d greedy tokens to %s%n",
                prompt.length, vocab, greedy, out);
        return 0;
    }

    /** The logits after each token, evaluating one token per call. */
    private static float[] evaluateOneByOne(Session session, int[] prompt, int vocab) {
        float[] all = new float[Math.multiplyExact(prompt.length, vocab)];
        for (int t = 0; t < prompt.length; t++) System.arraycopy(session.evaluate(prompt[t]).toArray(), 0, all, t * vocab, vocab);
        return all;
    }

    /** Top-1 minus top-2 logit. */
    private static float topMargin(Logits l) {
        float first = Float.NEGATIVE_INFINITY;
        float second = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < l.size(); i++) {
            float v = l.get(i);
            if (v > first) {
                second = first;
                first = v;
            } else if (v > second) {
                second = v;
            }
        }
        return first - second;
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
