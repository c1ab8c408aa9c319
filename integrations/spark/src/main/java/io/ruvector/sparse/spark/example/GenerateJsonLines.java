package io.ruvector.sparse.spark.example;

import io.ruvector.sparse.spark.ExecutorModels;
import io.ruvector.sparse.spark.ModelFile;
import io.ruvector.sparse.spark.ModelLoadException;
import io.ruvector.sparse.spark.ModelSpec;
import io.ruvector.sparse.spark.TextGeneration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A batch job: prompts from a JSON-lines (or Parquet) file in, completions out as JSON lines or Parquet.
 *
 * <pre>
 * GenerateJsonLines --model stories260K.gguf --input prompts.jsonl --output out [--master local[2]] ...
 * </pre>
 *
 * Each input record needs a string field {@code prompt}; an {@code id} field (string or integer), when present,
 * is the key each row's seed is derived from (else the prompt is), and a {@code seed} field, when asked for with
 * {@code --seed-column seed}, is the row's own seed. The output has the input's fields and {@code completion},
 * {@code completion_seed}, {@code completion_stop_reason}, {@code completion_tokens} and {@code error}.
 *
 * <p>With {@code --runs N} the job runs N times in one session and prints each run's rows/s and the median;
 * the first run includes opening the model and warming up the JIT.
 */
public final class GenerateJsonLines {

    private GenerateJsonLines() {}

    private static final String USAGE = """
            usage: GenerateJsonLines --model FILE --input FILE --output DIR [options]
              --model FILE        GGUF model (shipped to executors with addFile unless the master is local)
              --input FILE        prompts: JSON lines (.jsonl/.json) or Parquet (.parquet), field 'prompt'
              --output DIR        results, written as a Spark output directory (replaced)
              --format F          json (default) or parquet
              --master M          Spark master when not set by spark-submit (default local[*])
              --partitions N      split the input into N partitions (default: as read, at least one per core)
              --sparse FILE       sparse sidecar from 'sparse-infer calibrate', shipped like the model
              -n, --max-tokens N  tokens per row (default 200; -1 = to the end of text)
              --temp T, --top-k K, --top-p P, --min-p P, --repeat-penalty X, --stop TEXT   as the CLI
              --seed N            base seed of the rows' derived seeds (default 0)
              --key COLUMN        column the seeds are derived from (default: id when present, else the prompt)
              --seed-column C     integer column holding each row's seed
              -t, --threads N     engine threads per executor (default: the executor's cores)
              -c, --ctx-size N    context per row (default: the model's, at most 4096)
              --batch-slots N     rows decoded together per executor (default 8; 0 = one session per task)
              --runs N            run the job N times and print the median rows/s (default 1)
            """;

    public static void main(String[] args) {
        try {
            System.exit(run(args));
        } catch (IllegalArgumentException | ModelLoadException e) {
            System.err.println("spark-generate: " + e.getMessage());
            System.exit(2);
        }
    }

    static int run(String[] args) {
        Args a = Args.parse(args);
        if (a.help) {
            System.out.print(USAGE);
            return 0;
        }
        SparkSession.Builder builder = SparkSession.builder().appName("sparse-infer generate");
        if (a.master != null || !System.getProperties().containsKey("spark.master")) builder.master(a.master != null ? a.master : "local[*]");
        SparkSession spark = builder.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            // In local mode the driver is the executor and reads the file where it is; on a cluster it is shipped.
            boolean local = spark.sparkContext().isLocal();
            ModelSpec spec = ModelSpec.of(file(spark, a.model, local))
                    .withThreads(a.threads).withContextLength(a.contextLength).withBatchSlots(a.batchSlots);
            if (a.sparse != null) spec = spec.withSidecar(file(spark, a.sparse, local));

            Dataset<Row> input = a.input.endsWith(".parquet") ? spark.read().parquet(a.input) : spark.read().json(a.input);
            // A small file is read as one partition, which would keep all but one core idle.
            int partitions = a.partitions > 0 ? a.partitions : Math.max(input.rdd().getNumPartitions(), spark.sparkContext().defaultParallelism());
            if (partitions != input.rdd().getNumPartitions()) input = input.repartition(partitions);
            List<String> columns = Arrays.asList(input.columns());

            TextGeneration gen = TextGeneration.with(spec).maxTokens(a.maxTokens).temperature(a.temperature)
                    .topK(a.topK).topP(a.topP).minP(a.minP).repeatPenalty(a.repeatPenalty, 64).seed(a.seed)
                    .stopStrings(a.stops.toArray(String[]::new));
            if (a.seedColumn != null) gen = gen.seedColumn(a.seedColumn);
            else if (a.key != null) gen = gen.keyColumn(a.key);
            else if (columns.contains("id")) gen = gen.keyColumn("id");

            Dataset<Row> out = gen.generate(input);
            long rows = input.count();
            double[] rates = new double[a.runs];
            for (int run = 0; run < a.runs; run++) {
                long start = System.nanoTime();
                var writer = out.write().mode(SaveMode.Overwrite);
                if (a.format.equals("parquet")) writer.parquet(a.output);
                else writer.json(a.output);
                double seconds = (System.nanoTime() - start) / 1e9;
                rates[run] = rows / seconds;
                System.err.printf(Locale.ROOT, "run %d: %d rows in %.2f s, %.2f rows/s%n", run + 1, rows, seconds, rates[run]);
            }
            // JSON drops null fields, so a column with no value in any row (no errors) is not read back.
            Dataset<Row> written = a.format.equals("parquet") ? spark.read().parquet(a.output) : spark.read().json(a.output);
            List<String> writtenColumns = Arrays.asList(written.columns());
            long failed = writtenColumns.contains("error") ? written.filter(written.col("error").isNotNull()).count() : 0;
            Row tokens = writtenColumns.contains("completion_tokens")
                    ? written.agg(org.apache.spark.sql.functions.sum("completion_tokens")).first() : null;
            Arrays.sort(rates);
            System.err.printf(Locale.ROOT, "%d rows (%d with an error), %s tokens generated, median %.2f rows/s over %d run(s), master %s -> %s%n",
                    rows, failed, tokens == null || tokens.isNullAt(0) ? "0" : tokens.get(0).toString(), rates[rates.length / 2], a.runs,
                    spark.sparkContext().master(), a.output);
            return 0;
        } finally {
            spark.stop();
            ExecutorModels.closeAll();
        }
    }

    private static ModelFile file(SparkSession spark, String path, boolean local) {
        if (!java.nio.file.Files.isRegularFile(Path.of(path))) throw new IllegalArgumentException("model file not found: " + path);
        return local ? ModelFile.path(Path.of(path).toAbsolutePath().toString()) : ModelFile.ship(spark, Path.of(path));
    }

    /** The command line. */
    private static final class Args {
        String model, input, output, sparse, master, key, seedColumn;
        String format = "json";
        int partitions, threads, contextLength, runs = 1, maxTokens = 200, topK = 40;
        int batchSlots = ModelSpec.DEFAULT_BATCH_SLOTS;
        float temperature = 0.8f, topP = 0.95f, minP = 0.05f, repeatPenalty = 1f;
        long seed;
        boolean help;
        final List<String> stops = new ArrayList<>();

        static Args parse(String[] args) {
            Args a = new Args();
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("-h") || flag.equals("--help")) {
                    a.help = true;
                    return a;
                }
                if (i + 1 >= args.length) throw new IllegalArgumentException(flag + " needs a value (see --help)");
                String v = args[++i];
                try {
                    switch (flag) {
                        case "--model", "-m" -> a.model = v;
                        case "--input" -> a.input = v;
                        case "--output" -> a.output = v;
                        case "--format" -> a.format = v.toLowerCase(Locale.ROOT);
                        case "--master" -> a.master = v;
                        case "--partitions" -> a.partitions = Integer.parseInt(v);
                        case "--sparse" -> a.sparse = v;
                        case "--max-tokens", "-n" -> a.maxTokens = Integer.parseInt(v);
                        case "--temp" -> a.temperature = Float.parseFloat(v);
                        case "--top-k" -> a.topK = Integer.parseInt(v);
                        case "--top-p" -> a.topP = Float.parseFloat(v);
                        case "--min-p" -> a.minP = Float.parseFloat(v);
                        case "--repeat-penalty" -> a.repeatPenalty = Float.parseFloat(v);
                        case "--stop" -> a.stops.add(v);
                        case "--seed", "-s" -> a.seed = Long.parseLong(v);
                        case "--key" -> a.key = v;
                        case "--seed-column" -> a.seedColumn = v;
                        case "--threads", "-t" -> a.threads = Integer.parseInt(v);
                        case "--ctx-size", "-c" -> a.contextLength = Integer.parseInt(v);
                        case "--batch-slots" -> a.batchSlots = Integer.parseInt(v);
                        case "--runs" -> a.runs = Integer.parseInt(v);
                        default -> throw new IllegalArgumentException("unknown option " + flag + " (see --help)");
                    }
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(flag + " needs a number, not '" + v + "'");
                }
            }
            if (a.model == null || a.input == null || a.output == null) {
                throw new IllegalArgumentException("--model, --input and --output are required (see --help)");
            }
            if (!a.format.equals("json") && !a.format.equals("parquet")) throw new IllegalArgumentException("--format must be json or parquet, not " + a.format);
            if (a.runs < 1) throw new IllegalArgumentException("--runs must be >= 1");
            if (a.maxTokens == -1) a.maxTokens = Integer.MAX_VALUE;
            if (!java.nio.file.Files.isRegularFile(Path.of(a.input)) && !java.nio.file.Files.isDirectory(Path.of(a.input))) {
                throw new IllegalArgumentException("input not found: " + a.input);
            }
            return a;
        }
    }
}
