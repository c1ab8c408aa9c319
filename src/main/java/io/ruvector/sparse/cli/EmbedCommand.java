package io.ruvector.sparse.cli;

import io.ruvector.sparse.embedding.EmbeddingModel;
import io.ruvector.sparse.embedding.EmbeddingOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer embed}: sentence embeddings from a BERT-family GGUF model, one unit vector per text; with
 * {@code --bench}, the throughput of {@link EmbeddingModel#embedAll} on the texts.
 */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Sentence embeddings (bert, nomic-bert GGUF models): one L2-normalized vector per text.",
                "Texts come from --text, or --file / standard input with one text per line (empty lines skipped).",
                "Prints one line of space-separated values per text, or a JSON document with --json.",
                "With --bench: embeds all texts together, warm-up rounds then timed rounds, and reports sentences/s."})
public final class EmbedCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @ParentCommand
    private Main main;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "GGUF embedding model")
    private Path model;

    @Option(names = {"-p", "--text"}, paramLabel = "TEXT", description = "one text to embed")
    private String text;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "texts to embed, one per line (UTF-8)")
    private Path file;

    @Option(names = "--json", description = "print {\"model\", \"dimension\", \"pooling\", \"data\": [{\"index\", \"tokens\", \"embedding\"}]}")
    private boolean json;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "threads (default: all processors)")
    private Integer threads;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "0",
            description = "cut texts at N tokens, [CLS] and [SEP] included (default 0: the model's context)")
    private int maxTokens;

    @Option(names = "--batch-tokens", paramLabel = "N", defaultValue = "" + EmbeddingOptions.DEFAULT_BATCH_TOKENS,
            description = "tokens per pass over the weights (default: ${DEFAULT-VALUE})")
    private int batchTokens;

    @Option(names = "--bench", description = "measure sentences/s of embedding all texts together")
    private boolean bench;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "--bench: untimed rounds first (default: ${DEFAULT-VALUE})")
    private int warmup;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "10", description = "--bench: timed rounds (default: ${DEFAULT-VALUE})")
    private int rounds;

    @Option(names = "--verbose", description = "show stack traces on errors")
    private boolean verbose;

    @Override
    public Integer call() throws IOException {
        if (text != null && file != null) throw new IllegalArgumentException("give the texts with --text or --file, not both");
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("model file not found: " + model);
        if (file != null && !Files.isRegularFile(file)) throw new IllegalArgumentException("text file not found: " + file);
        if (warmup < 0 || rounds < 1) throw new IllegalArgumentException("--warmup must be >= 0 and --rounds >= 1");
        List<String> texts = text != null ? List.of(text)
                : lines(file != null ? Files.readString(file, StandardCharsets.UTF_8)
                : new String(main.stdin().readAllBytes(), StandardCharsets.UTF_8));
        if (texts.isEmpty()) throw new IllegalArgumentException("no text to embed");
        EmbeddingOptions options = EmbeddingOptions.defaults().withMaxTokens(maxTokens).withBatchTokens(batchTokens);
        if (threads != null) options = options.withThreads(threads);
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingModel m = EmbeddingModel.open(model, options)) {
            if (bench) bench(m, texts, options, out);
            else print(m, texts, out);
        }
        out.flush();
        return 0;
    }

    private static List<String> lines(String content) {
        List<String> texts = new ArrayList<>();
        for (String line : content.split("\r?\n")) if (!line.isEmpty()) texts.add(line);
        return texts;
    }

    private void print(EmbeddingModel m, List<String> texts, PrintWriter out) {
        List<float[]> vectors = m.embedAll(texts);
        if (!json) {
            for (float[] v : vectors) {
                StringBuilder sb = new StringBuilder(v.length * 12);
                for (int i = 0; i < v.length; i++) sb.append(i == 0 ? "" : " ").append(v[i]);
                out.println(sb);
            }
            return;
        }
        StringBuilder sb = new StringBuilder();
        sb.append("{\"model\":\"").append(escape(model.getFileName().toString())).append("\",\"architecture\":\"")
                .append(m.architecture()).append("\",\"dimension\":").append(m.dimension()).append(",\"pooling\":\"")
                .append(m.pooling().name().toLowerCase(Locale.ROOT)).append("\",\"data\":[");
        for (int t = 0; t < vectors.size(); t++) {
            if (t > 0) sb.append(',');
            sb.append("\n{\"index\":").append(t).append(",\"tokens\":").append(m.tokenize(texts.get(t)).length).append(",\"embedding\":[");
            float[] v = vectors.get(t);
            for (int i = 0; i < v.length; i++) sb.append(i == 0 ? "" : ",").append(v[i]);
            sb.append("]}");
        }
        out.println(sb.append("\n]}"));
    }

    private void bench(EmbeddingModel m, List<String> texts, EmbeddingOptions options, PrintWriter out) {
        long tokens = 0;
        for (String t : texts) tokens += m.tokenize(t).length;
        for (int i = 0; i < warmup; i++) m.embedAll(texts);
        double[] perSecond = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long start = System.nanoTime();
            m.embedAll(texts);
            perSecond[r] = texts.size() / ((System.nanoTime() - start) / 1e9);
        }
        Stats s = Stats.of(perSecond);
        if (json) {
            out.printf(Locale.ROOT, "{\"model\":\"%s\",\"texts\":%d,\"tokens\":%d,\"threads\":%d,\"warmup\":%d,\"rounds\":%d,"
                            + "\"sentences_per_s_median\":%.1f,\"sentences_per_s_min\":%.1f,\"sentences_per_s_max\":%.1f,\"tokens_per_s_median\":%.0f}%n",
                    escape(model.getFileName().toString()), texts.size(), tokens, options.threads(), warmup, rounds,
                    s.median(), s.min(), s.max(), s.median() * tokens / texts.size());
        } else {
            out.printf(Locale.ROOT, "%s: %d texts, %d tokens, %d threads, %d warm-up + %d rounds of embedAll%n",
                    model.getFileName(), texts.size(), tokens, options.threads(), warmup, rounds);
            out.printf(Locale.ROOT, "sentences/s  median %.1f  (min %.1f, max %.1f)   tokens/s median %.0f%n",
                    s.median(), s.min(), s.max(), s.median() * tokens / texts.size());
        }
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.toString();
    }
}
