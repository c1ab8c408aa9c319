package io.ruvector.sparse.spark;

import io.ruvector.sparse.embedding.EmbeddingModel;
import io.ruvector.sparse.embedding.EmbeddingOptions;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Embeddings over a Dataset in Spark local mode ({@code local[2]}) on all-MiniLM-L6-v2: each row's vector is the
 * one the library's {@link EmbeddingModel#embed} gives for its text, whatever the partitioning and batching.
 */
class TextEmbeddingTest {

    private static SparkSession spark;
    private static Path model;
    private static EmbeddingModel library;

    @BeforeAll
    static void start() throws IOException {
        model = SharedData.require("models/all-minilm-l6-v2.F32.gguf");
        library = EmbeddingModel.open(model, EmbeddingOptions.defaults().withThreads(1));
        spark = SparkSession.builder().master("local[2]").appName("TextEmbeddingTest")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stop();
        ExecutorModels.closeAll();
        if (library != null) library.close();
    }

    private static final StructType TEXTS = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("text", DataTypes.StringType, true);

    private static final String[] SENTENCES = {"The cat sat on the mat.", "A dog barked at the mailman.",
            "Spark splits a dataset into partitions.", "Quantum computers use qubits.", "I like green tea",
            "Un café, s'il vous plaît.", "   ", "Embeddings map text to vectors; similar texts land close together."};

    private static Dataset<Row> texts(List<Row> rows, int partitions) {
        return spark.createDataFrame(rows, TEXTS).repartition(partitions);
    }

    private static List<Row> sentences() {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < SENTENCES.length; i++) rows.add(RowFactory.create((long) i, SENTENCES[i]));
        return rows;
    }

    private static Map<Long, Row> byId(Dataset<Row> out) {
        Map<Long, Row> m = new HashMap<>();
        for (Row r : out.collectAsList()) m.put(r.getLong(r.fieldIndex("id")), r);
        return m;
    }

    private static float[] vector(Row r) {
        List<Float> v = r.getList(r.fieldIndex("embedding"));
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) f[i] = v.get(i);
        return f;
    }

    private static void assertLibraryVector(String text, float[] actual) {
        float[] expected = library.embed(text);
        assertEquals(expected.length, actual.length, "dimension of " + text);
        // The same engine on the same text: its products are exact in float, so only batching could move a
        // value, by at most a rounding of the pooled sum; 1e-6 is a few ulps of a unit vector's components.
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-6f, "component " + i + " of '" + text + "'");
        }
    }

    @Test
    void vectorsAreTheLibrarysWhateverThePartitionsAndBatches() {
        TextEmbedding emb = TextEmbedding.with(ModelSpec.of(ModelFile.path(model.toString())));
        Map<Long, Row> one = byId(emb.embed(texts(sentences(), 1)));
        // Three partitions, and batches of two texts per embedAll call: other rows share each pass.
        Map<Long, Row> three = byId(emb.batchSize(2).embed(texts(sentences(), 3)));
        assertEquals(SENTENCES.length, one.size());
        assertEquals(SENTENCES.length, three.size());
        for (int i = 0; i < SENTENCES.length; i++) {
            Row a = one.get((long) i), b = three.get((long) i);
            assertNull(a.getAs("error"), SENTENCES[i]);
            assertNull(b.getAs("error"), SENTENCES[i]);
            assertEquals(SENTENCES[i], a.getAs("text"));
            assertLibraryVector(SENTENCES[i], vector(a));
            assertLibraryVector(SENTENCES[i], vector(b));
            assertArrayEquals(vector(a), vector(b), 1e-6f, "1 vs 3 partitions: " + SENTENCES[i]);
        }
        assertEquals(DataTypes.createArrayType(DataTypes.FloatType, false), one.get(0L).schema().apply("embedding").dataType());
    }

    @Test
    void nullAndEmptyTextsGiveNullVectorsAndAnErrorNotAFailedJob() {
        List<Row> rows = new ArrayList<>(sentences());
        rows.add(RowFactory.create(100L, null));
        rows.add(RowFactory.create(101L, ""));
        Map<Long, Row> out = byId(TextEmbedding.with(model.toString()).batchSize(3).embed(texts(rows, 2)));
        assertEquals(rows.size(), out.size());
        assertEquals("the text is null", out.get(100L).getAs("error"));
        assertEquals("the text is empty", out.get(101L).getAs("error"));
        for (long id : new long[]{100L, 101L}) assertNull(out.get(id).getAs("embedding"));
        for (int i = 0; i < SENTENCES.length; i++) {
            Row r = out.get((long) i);
            assertNull(r.getAs("error"));
            assertLibraryVector(SENTENCES[i], vector(r));
        }
    }

    @Test
    void aCorruptOrMissingModelFailsOnTheDriverWithTheEnginesMessage(@TempDir Path dir) throws IOException {
        Path truncated = dir.resolve("truncated.gguf");
        byte[] bytes = Files.readAllBytes(model);
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        Exception engine = assertThrows(Exception.class, () -> EmbeddingModel.open(truncated).close());
        assertNotNull(engine.getMessage());
        Dataset<Row> input = texts(sentences(), 2);

        ModelLoadException corrupt = assertThrows(ModelLoadException.class, () ->
                TextEmbedding.with(truncated.toString()).embed(input));
        assertTrue(corrupt.getMessage().contains(engine.getMessage()), corrupt.getMessage());
        assertFalse(corrupt.getMessage().contains("\n"));

        ModelLoadException missing = assertThrows(ModelLoadException.class, () ->
                TextEmbedding.with(dir.resolve("absent.gguf").toString()).embed(input));
        assertTrue(missing.getMessage().startsWith("model file not found: "), missing.getMessage());

        // A file only the executors read: the first task fails the job with the same message.
        Dataset<Row> lazy = TextEmbedding.with(new ModelFile(truncated.toString(), false, null)).embed(input);
        Exception job = assertThrows(Exception.class, lazy::collectAsList);
        assertTrue(job.getMessage().contains(engine.getMessage()), job.getMessage());
    }

    @Test
    void oneModelPerExecutorJvmIsSharedByTasksAndJobs() {
        TextEmbedding emb = TextEmbedding.with(ModelSpec.of(ModelFile.path(model.toString())).withContextLength(64));
        int before = ExecutorModels.modelsOpened();
        emb.embed(texts(sentences(), 3)).collectAsList();
        emb.batchSize(1).embed(texts(sentences(), 4)).collectAsList();
        assertEquals(1, ExecutorModels.modelsOpened() - before, "models opened by two jobs of 3 and 4 partitions");
    }

    @Test
    void columnsAreCheckedOnTheDriver() {
        TextEmbedding emb = TextEmbedding.with(model.toString());
        Dataset<Row> input = texts(sentences(), 1);
        IllegalArgumentException absent = assertThrows(IllegalArgumentException.class, () -> emb.textColumn("body").embed(input));
        assertTrue(absent.getMessage().contains("'body'"), absent.getMessage());
        IllegalArgumentException notText = assertThrows(IllegalArgumentException.class, () -> emb.textColumn("id").embed(input));
        assertTrue(notText.getMessage().contains("string column"), notText.getMessage());
        assertThrows(IllegalArgumentException.class, () -> emb.outputColumn("text").embed(input));
        assertThrows(IllegalArgumentException.class, () -> emb.batchSize(0));
    }
}
