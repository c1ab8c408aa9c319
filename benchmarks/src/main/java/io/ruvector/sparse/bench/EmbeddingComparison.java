package io.ruvector.sparse.bench;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;
import io.ruvector.sparse.embedding.EmbeddingModel;
import io.ruvector.sparse.embedding.EmbeddingOptions;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Sentences per second of our {@link EmbeddingModel#embedAll} against ONNX Runtime through LangChain4j's
 * {@code AllMiniLmL6V2EmbeddingModel.embedAll} (the in-process embedding Java programs use today), same sentences,
 * same thread count, in one process: both warmed up, then timed rounds alternating A B A B so that the machine's
 * drift hits both alike; medians and their ratio. Also prints the smallest cosine between the two engines'
 * vectors, so a fast wrong answer cannot pass unnoticed.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp target/benchmarks.jar io.ruvector.sparse.bench.EmbeddingComparison \
 *     all-minilm-l6-v2.F32.gguf embedding-sentences.txt [threads=2] [rounds=10] [warmupSeconds=20] [batchTokens]
 * </pre>
 *
 * Our side cuts texts at 128 tokens, as the tokenizer in LangChain4j's jar does, so both do the same work.
 */
public final class EmbeddingComparison {

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: EmbeddingComparison MODEL.gguf SENTENCES.txt [threads=2] [rounds=10] [warmupSeconds=20] [batchTokens]");
            System.exit(1);
        }
        Path model = Path.of(args[0]);
        List<String> sentences = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[1]), StandardCharsets.UTF_8)) if (!line.isEmpty()) sentences.add(line);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        int warmupSeconds = args.length > 4 ? Integer.parseInt(args[4]) : 20;
        int batchTokens = args.length > 5 ? Integer.parseInt(args[5]) : EmbeddingOptions.DEFAULT_BATCH_TOKENS;
        List<TextSegment> segments = sentences.stream().map(TextSegment::from).toList();

        ExecutorService executor = Executors.newFixedThreadPool(threads);
        AllMiniLmL6V2EmbeddingModel onnx = new AllMiniLmL6V2EmbeddingModel(executor);
        try (EmbeddingModel ours = EmbeddingModel.open(model, EmbeddingOptions.defaults().withThreads(threads).withMaxTokens(128).withBatchTokens(batchTokens))) {
            long tokens = 0;
            for (String s : sentences) tokens += ours.tokenize(s).length;
            System.out.printf(Locale.ROOT, "%d sentences, %d tokens (ours, cut at 128), %d threads, %d rounds after %d s warm-up each%n",
                    sentences.size(), tokens, threads, rounds, warmupSeconds);

            List<float[]> a = ours.embedAll(sentences);
            List<Embedding> b = onnx.embedAll(segments).content();
            double minCos = 1;
            for (int i = 0; i < a.size(); i++) minCos = Math.min(minCos, EmbeddingModel.dot(a.get(i), b.get(i).vector()));
            System.out.printf(Locale.ROOT, "agreement: min cosine ours vs ONNX Runtime %.7f%n", minCos);

            warm(() -> ours.embedAll(sentences), warmupSeconds);
            warm(() -> onnx.embedAll(segments), warmupSeconds);
            double[] oursRate = new double[rounds];
            double[] onnxRate = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                ours.embedAll(sentences);
                long t1 = System.nanoTime();
                onnx.embedAll(segments);
                long t2 = System.nanoTime();
                oursRate[r] = sentences.size() / ((t1 - t0) / 1e9);
                onnxRate[r] = sentences.size() / ((t2 - t1) / 1e9);
                System.out.printf(Locale.ROOT, "round %2d: ours %7.1f/s   ONNX Runtime %7.1f/s%n", r + 1, oursRate[r], onnxRate[r]);
            }
            double mo = median(oursRate);
            double mx = median(onnxRate);
            System.out.printf(Locale.ROOT, "median sentences/s: ours %.1f, ONNX Runtime (LangChain4j embedAll) %.1f, ratio %.2fx%n",
                    mo, mx, mo / mx);
        } finally {
            executor.shutdownNow();
        }
    }

    private static void warm(Runnable run, int seconds) {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        do run.run(); while (System.nanoTime() < end);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
