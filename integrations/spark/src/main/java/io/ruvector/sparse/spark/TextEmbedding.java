package io.ruvector.sparse.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Sentence embeddings over a {@code Dataset<Row>}: each row's text column becomes a unit-length vector in a new
 * column, computed by the engine's {@link io.ruvector.sparse.embedding.EmbeddingModel} (BERT-family GGUF files).
 *
 * <pre>{@code
 * ModelFile model = ModelFile.ship(spark, Path.of("all-minilm-l6-v2.F32.gguf"));   // or ModelFile.path(...)
 * Dataset<Row> out = TextEmbedding.with(ModelSpec.of(model)).textColumn("text").embed(texts);
 * }</pre>
 *
 * <p>Columns added: {@code embedding} ({@code array<float>}, the vector {@code EmbeddingModel.embed} gives for
 * the text) and {@code error}; the names follow {@link #outputColumn} and {@link #errorColumn}. A row's vector
 * depends on its text alone, never on partitioning or which rows share a batch.
 *
 * <p>Each executor JVM opens the model once, lazily, and its tasks share it (see {@link ExecutorModels}); a task
 * embeds its partition's rows {@link #batchSize} at a time through one {@code embedAll} call, so the texts of a
 * batch share passes over the weights. Of the {@link ModelSpec} only the file, {@code threads} and
 * {@code contextLength} (the most tokens per text, longer texts are cut; 0 = the model's context) apply; a
 * sparse sidecar is refused.
 *
 * <p>Bad rows do not fail the job: a null or empty text gives a null vector and a one-line {@code error}. A missing
 * or corrupt model does fail it, at once: when the driver can read the file, {@link #embed} opens it there first
 * and throws {@link ModelLoadException} with the engine's message before any task starts; otherwise the first
 * task fails with that message.
 *
 * <p>Immutable and serializable: the {@code with...} methods return changed copies.
 */
public final class TextEmbedding implements Serializable {

    /** Texts per {@code embedAll} call by default: enough to fill the engine's passes, little held per task. */
    public static final int DEFAULT_BATCH_SIZE = 32;

    private final ModelSpec model;
    private final String textColumn;
    private final String outputColumn;
    private final String errorColumn;
    private final int batchSize;

    private TextEmbedding(ModelSpec model, String textColumn, String outputColumn, String errorColumn, int batchSize) {
        this.model = Objects.requireNonNull(model, "model");
        if (model.sidecar() != null) throw new IllegalArgumentException("embedding models run dense: a sparse sidecar is not supported");
        this.textColumn = requireName(textColumn, "text column");
        this.outputColumn = requireName(outputColumn, "output column");
        this.errorColumn = requireName(errorColumn, "error column");
        if (outputColumn.equals(errorColumn)) throw new IllegalArgumentException("output and error columns are both '" + outputColumn + "'");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, not " + batchSize);
        this.batchSize = batchSize;
    }

    private static String requireName(String name, String what) {
        if (name == null || name.isBlank()) throw new IllegalArgumentException(what + " name is null or blank");
        return name;
    }

    /** Embeddings with this model: texts in column {@code text}, {@value #DEFAULT_BATCH_SIZE} texts per call. */
    public static TextEmbedding with(ModelSpec model) {
        return new TextEmbedding(model, "text", "embedding", "error", DEFAULT_BATCH_SIZE);
    }

    /** {@link #with(ModelSpec)} of {@code ModelSpec.of(model)}. */
    public static TextEmbedding with(ModelFile model) {
        return with(ModelSpec.of(model));
    }

    /** {@link #with(ModelSpec)} of a path every executor can read. */
    public static TextEmbedding with(String path) {
        return with(ModelFile.path(path));
    }

    /** The string column holding the texts (default {@code text}). */
    public TextEmbedding textColumn(String c) { return new TextEmbedding(model, c, outputColumn, errorColumn, batchSize); }

    /** The vector column (default {@code embedding}). */
    public TextEmbedding outputColumn(String c) { return new TextEmbedding(model, textColumn, c, errorColumn, batchSize); }

    /** The column that says why a row has no vector (default {@code error}). */
    public TextEmbedding errorColumn(String c) { return new TextEmbedding(model, textColumn, outputColumn, c, batchSize); }

    /** Texts per {@code embedAll} call within a task (default {@value #DEFAULT_BATCH_SIZE}). */
    public TextEmbedding batchSize(int n) { return new TextEmbedding(model, textColumn, outputColumn, errorColumn, n); }

    /** The model these embeddings run. */
    public ModelSpec model() { return model; }

    int batchSize() { return batchSize; }

    /** The columns {@link #embed} adds, after the input's. */
    StructType addedColumns() {
        return new StructType()
                .add(outputColumn, DataTypes.createArrayType(DataTypes.FloatType, false), true)
                .add(errorColumn, DataTypes.StringType, true);
    }

    /**
     * The input with the embedding columns added. Lazy, like any Dataset transformation.
     *
     * @throws IllegalArgumentException when the text column is missing or not a string column, or an added
     *                                  column's name is taken
     * @throws ModelLoadException       when the driver can read the model file and it is not an embedding model
     *                                  the engine runs
     */
    public Dataset<Row> embed(Dataset<Row> input) {
        StructType in = input.schema();
        List<String> names = Arrays.asList(in.fieldNames());
        int textIndex = names.indexOf(textColumn);
        if (textIndex < 0) throw new IllegalArgumentException("text column '" + textColumn + "' is not in the input; it has " + names);
        if (!in.fields()[textIndex].dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("text column '" + textColumn + "' must be a string column, not "
                    + in.fields()[textIndex].dataType().simpleString());
        }
        StructType added = addedColumns();
        for (String name : added.fieldNames()) {
            if (names.contains(name)) {
                throw new IllegalArgumentException("the input already has a column '" + name
                        + "': choose other names with outputColumn(...) / errorColumn(...)");
            }
        }
        Path m = TextGeneration.driverPath(model.model(), input.sparkSession().sparkContext().isLocal());
        if (m != null) ExecutorModels.checkEmbeddings(m, model);
        StructType out = in;
        for (StructField f : added.fields()) out = out.add(f);
        return input.mapPartitions(new PartitionEmbedding(this, textIndex), Encoders.row(out));
    }
}
