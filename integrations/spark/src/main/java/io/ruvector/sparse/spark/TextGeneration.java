package io.ruvector.sparse.spark;

import io.ruvector.sparse.generation.GenerationOptions;
import io.ruvector.sparse.sampling.SamplerConfig;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Text generation over a {@code Dataset<Row>}: each row's prompt column is continued by the model, and the
 * completion lands in new columns beside the row's own.
 *
 * <pre>{@code
 * ModelFile model = ModelFile.ship(spark, Path.of("model.gguf"));     // or ModelFile.path("/shared/model.gguf")
 * Dataset<Row> out = TextGeneration.with(ModelSpec.of(model))
 *         .promptColumn("prompt").maxTokens(64).temperature(0.8f).seed(42).keyColumn("id")
 *         .generate(prompts);
 * }</pre>
 *
 * <p>Columns added: {@code completion} (the generated text, without the prompt, as the CLI's
 * {@code --no-display-prompt} prints it), {@code completion_seed} (the seed the row was sampled with),
 * {@code completion_stop_reason} ({@code end of generation}, {@code max tokens}, {@code stop string},
 * {@code context full}), {@code completion_tokens} (tokens generated) and {@code error}. The names follow
 * {@link #outputColumn} and {@link #errorColumn}.
 *
 * <p>Each row is generated exactly as {@code sparse-infer generate -p PROMPT --seed SEED} with the same options
 * generates it: the result depends on the prompt, the options and the seed alone, never on partitioning,
 * thread counts or which rows share an executor. The seed of a row is its seed column when one is set, else
 * {@link RowSeeds#derive} of the base {@link #seed} and the row's key column (default: the prompt itself).
 *
 * <p>Bad rows do not fail the job: a null or empty prompt, a null seed, or a prompt longer than the context gives
 * null completion columns and a one-line {@code error}. A missing or corrupt model does fail it, at once: when
 * the driver can read the file, {@link #generate} opens it there first and throws {@link ModelLoadException}
 * with the engine's message before any task starts; otherwise the first task fails with that message.
 *
 * <p>Immutable and serializable: the {@code with...} methods return changed copies, and a copy travels to the
 * executors with each job.
 */
public final class TextGeneration implements Serializable {

    private final ModelSpec model;
    private final String promptColumn;
    private final String outputColumn;
    private final String errorColumn;
    private final String seedColumn;
    private final String keyColumn;
    private final long seed;
    private final int maxTokens;
    private final float temperature;
    private final int topK;
    private final float topP;
    private final float minP;
    private final float repeatPenalty;
    private final int repeatLastN;
    private final float frequencyPenalty;
    private final float presencePenalty;
    private final String[] stopStrings;

    private TextGeneration(ModelSpec model, String promptColumn, String outputColumn, String errorColumn,
                           String seedColumn, String keyColumn, long seed, int maxTokens, float temperature,
                           int topK, float topP, float minP, float repeatPenalty, int repeatLastN,
                           float frequencyPenalty, float presencePenalty, String[] stopStrings) {
        this.model = Objects.requireNonNull(model, "model");
        this.promptColumn = requireName(promptColumn, "prompt column");
        this.outputColumn = requireName(outputColumn, "output column");
        this.errorColumn = requireName(errorColumn, "error column");
        this.seedColumn = seedColumn;
        this.keyColumn = keyColumn;
        this.seed = seed;
        this.maxTokens = maxTokens;
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.minP = minP;
        this.repeatPenalty = repeatPenalty;
        this.repeatLastN = repeatLastN;
        this.frequencyPenalty = frequencyPenalty;
        this.presencePenalty = presencePenalty;
        this.stopStrings = stopStrings.clone();
        // Fail on bad settings here, on the driver, not in every task.
        options(seed);
    }

    private static String requireName(String name, String what) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException(what + " name is null or blank");
        return name;
    }

    /**
     * Generation with this model and the CLI's defaults: 200 tokens, llama.cpp's sampling (temperature 0.8,
     * top-k 40, top-p 0.95, min-p 0.05), base seed 0, prompts in column {@code prompt}.
     */
    public static TextGeneration with(ModelSpec model) {
        SamplerConfig d = SamplerConfig.defaults(0);
        return new TextGeneration(model, "prompt", "completion", "error", null, null, 0, 200,
                d.temperature(), d.topK(), d.topP(), d.minP(), d.repeatPenalty(), d.repeatLastN(),
                d.frequencyPenalty(), d.presencePenalty(), new String[0]);
    }

    private TextGeneration copy(ModelSpec m, String prompt, String output, String error, String seedCol,
                                String keyCol, long s, int n, float t, int k, float p, float mp, float rp,
                                int rn, float fp, float pp, String[] stops) {
        return new TextGeneration(m, prompt, output, error, seedCol, keyCol, s, n, t, k, p, mp, rp, rn, fp, pp, stops);
    }

    /** The string column holding the prompts (default {@code prompt}). */
    public TextGeneration promptColumn(String c) { return copy(model, c, outputColumn, errorColumn, seedColumn, keyColumn, seed, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** Name of the completion column and prefix of the others (default {@code completion}). */
    public TextGeneration outputColumn(String c) { return copy(model, promptColumn, c, errorColumn, seedColumn, keyColumn, seed, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** The column that says why a row has no completion (default {@code error}). */
    public TextGeneration errorColumn(String c) { return copy(model, promptColumn, outputColumn, c, seedColumn, keyColumn, seed, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** An integer column holding each row's sampling seed; overrides the derived seeds. */
    public TextGeneration seedColumn(String c) { return copy(model, promptColumn, outputColumn, errorColumn, requireName(c, "seed column"), keyColumn, seed, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /**
     * A string or integer column identifying rows (an id); each row's seed is derived from the base seed and its
     * key. Without one the prompt text is the key, so equal prompts get equal seeds.
     */
    public TextGeneration keyColumn(String c) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, requireName(c, "key column"), seed, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** The base seed rows' seeds are derived from (default 0). */
    public TextGeneration seed(long s) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, keyColumn, s, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** The most tokens per row (the CLI's {@code -n}); {@link GenerationOptions#UNLIMITED} runs to the end of text. */
    public TextGeneration maxTokens(int n) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, keyColumn, seed, n, temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** {@code --temp}; 0 is greedy. */
    public TextGeneration temperature(float t) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, keyColumn, seed, maxTokens, t, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** {@code --top-k}; 0 is off. */
    public TextGeneration topK(int k) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, keyColumn, seed, maxTokens, temperature, k, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** {@code --top-p}; 1 is off. */
    public TextGeneration topP(float p) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, keyColumn, seed, maxTokens, temperature, topK, p, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** {@code --min-p}; 0 is off. */
    public TextGeneration minP(float p) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, keyColumn, seed, maxTokens, temperature, topK, topP, p, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** {@code --repeat-penalty} and {@code --repeat-last-n}. */
    public TextGeneration repeatPenalty(float penalty, int lastN) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, keyColumn, seed, maxTokens, temperature, topK, topP, minP, penalty, lastN, frequencyPenalty, presencePenalty, stopStrings); }

    /** {@code --frequency-penalty} and {@code --presence-penalty}. */
    public TextGeneration frequencyAndPresencePenalty(float frequency, float presence) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, keyColumn, seed, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequency, presence, stopStrings); }

    /** {@code --stop}: generation ends when the text contains one of these (not included). */
    public TextGeneration stopStrings(String... stops) { return copy(model, promptColumn, outputColumn, errorColumn, seedColumn, keyColumn, seed, maxTokens, temperature, topK, topP, minP, repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty, stops.clone()); }

    /** The base seed of derived row seeds. */
    long baseSeed() { return seed; }

    /** The model this generation runs. */
    public ModelSpec model() { return model; }

    /** The engine's options for a row sampled with {@code rowSeed}. */
    GenerationOptions options(long rowSeed) {
        SamplerConfig sampling = new SamplerConfig(temperature, topK, topP, minP, repeatPenalty, repeatLastN,
                frequencyPenalty, presencePenalty, rowSeed);
        return new GenerationOptions(sampling, maxTokens, List.of(stopStrings));
    }

    /** The columns {@link #generate} adds, after the input's. */
    StructType addedColumns() {
        return new StructType()
                .add(outputColumn, DataTypes.StringType, true)
                .add(outputColumn + "_seed", DataTypes.LongType, true)
                .add(outputColumn + "_stop_reason", DataTypes.StringType, true)
                .add(outputColumn + "_tokens", DataTypes.IntegerType, true)
                .add(errorColumn, DataTypes.StringType, true);
    }

    private static final Set<DataType> INTEGERS = Set.of(DataTypes.LongType, DataTypes.IntegerType,
            DataTypes.ShortType, DataTypes.ByteType);

    /**
     * The input with the completion columns added. Lazy, like any Dataset transformation: rows are generated
     * when an action (write, collect, count) runs, in each executor with its one shared model.
     *
     * @throws IllegalArgumentException when a named column is missing or of the wrong type, or an added column's
     *                                  name is taken
     * @throws ModelLoadException       when the driver can read the model file and it is corrupt or unsupported
     */
    public Dataset<Row> generate(Dataset<Row> input) {
        StructType in = input.schema();
        List<String> names = Arrays.asList(in.fieldNames());
        int promptIndex = column(in, promptColumn, "prompt");
        if (!in.fields()[promptIndex].dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("prompt column '" + promptColumn + "' must be a string column, not "
                    + in.fields()[promptIndex].dataType().simpleString());
        }
        int seedIndex = -1;
        if (seedColumn != null) {
            seedIndex = column(in, seedColumn, "seed");
            if (!INTEGERS.contains(in.fields()[seedIndex].dataType())) {
                throw new IllegalArgumentException("seed column '" + seedColumn + "' must be an integer column, not "
                        + in.fields()[seedIndex].dataType().simpleString());
            }
        }
        int keyIndex = -1;
        if (keyColumn != null) {
            keyIndex = column(in, keyColumn, "key");
            DataType t = in.fields()[keyIndex].dataType();
            if (!t.equals(DataTypes.StringType) && !INTEGERS.contains(t)) {
                throw new IllegalArgumentException("key column '" + keyColumn + "' must be a string or integer column, not "
                        + t.simpleString());
            }
        }
        StructType added = addedColumns();
        for (String name : added.fieldNames()) {
            if (names.contains(name)) {
                throw new IllegalArgumentException("the input already has a column '" + name
                        + "': choose other names with outputColumn(...) / errorColumn(...)");
            }
        }
        checkOnDriver(input.sparkSession().sparkContext().isLocal());
        StructType out = in;
        for (StructField f : added.fields()) out = out.add(f);
        return input.mapPartitions(new PartitionGeneration(this, promptIndex, seedIndex, keyIndex), Encoders.row(out));
    }

    private static int column(StructType schema, String name, String what) {
        List<String> names = Arrays.asList(schema.fieldNames());
        int i = names.indexOf(name);
        if (i < 0) throw new IllegalArgumentException(what + " column '" + name + "' is not in the input; it has " + names);
        return i;
    }

    /** Opens the model on the driver when it can read the file, so a bad file fails before any task starts. */
    private void checkOnDriver(boolean local) {
        Path m = driverPath(model.model(), local);
        if (m == null) return;
        Path s = null;
        if (model.sidecar() != null) {
            s = driverPath(model.sidecar(), local);
            if (s == null) return;
        }
        ExecutorModels.check(m, s, model);
    }

    /** The file to check on the driver, or null to leave the check to the executors. */
    static Path driverPath(ModelFile f, boolean local) {
        if (f.driverCopy() == null) return null;
        Path p = Path.of(f.driverCopy());
        // A path only the executors see is checked there; in local mode the driver is the executor.
        if (!f.shipped() && !local && !Files.exists(p)) return null;
        return p;
    }
}
