package io.ruvector.sparse.spark;

import io.ruvector.sparse.cli.Main;
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

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generation over a Dataset in Spark local mode ({@code local[2]}: two tasks at once share the one model) on the
 * stories260K model: what the job writes is what the CLI prints for the same prompt, options and seed.
 */
class TextGenerationTest {

    private static final int MAX_TOKENS = 24;

    private static SparkSession spark;
    private static Path model;

    @BeforeAll
    static void startSpark() {
        model = SharedData.require("models/stories260K.gguf");
        spark = SparkSession.builder().master("local[2]").appName("TextGenerationTest")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
    }

    @AfterAll
    static void stopSpark() {
        if (spark != null) spark.stop();
        ExecutorModels.closeAll();
    }

    private static final StructType PROMPTS = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("prompt", DataTypes.StringType, true)
            .add("seed", DataTypes.LongType, true);

    private static Dataset<Row> prompts(List<Row> rows, int partitions) {
        return spark.createDataFrame(rows, PROMPTS).repartition(partitions);
    }

    private static List<Row> storyPrompts() {
        String[] starts = {"Once upon a time", "The little dog", "Lily and Ben went to the park", "One day",
                "Tom had a red ball", "The sun was", "Mom said", "In the forest there lived"};
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < starts.length; i++) rows.add(RowFactory.create((long) i, starts[i], 1000L + 37L * i));
        return rows;
    }

    /** The CLI's output for a prompt: {@code generate --no-display-prompt} prints the completion and a newline. */
    private static String cli(Path gguf, String prompt, long seed, String... extra) {
        List<String> args = new ArrayList<>(List.of("generate", "-m", gguf.toString(), "-p", prompt,
                "--seed", Long.toString(seed), "-n", Integer.toString(MAX_TOKENS), "--no-display-prompt", "-t", "1"));
        args.addAll(List.of(extra));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new ByteArrayInputStream(new byte[0]), new PrintWriter(out), new PrintWriter(err),
                args.toArray(String[]::new));
        assertEquals(0, code, () -> "CLI failed: " + err);
        String text = out.toString();
        assertTrue(text.endsWith("\n"), "the CLI ends its output with a newline");
        return text.substring(0, text.length() - 1);
    }

    /** The CLI's one-line error for a model file, without its "sparse-infer: " prefix. */
    private static String cliError(Path gguf) {
        StringWriter err = new StringWriter();
        int code = Main.run(new ByteArrayInputStream(new byte[0]), new PrintWriter(new StringWriter()), new PrintWriter(err),
                "generate", "-m", gguf.toString(), "-p", "hi", "-n", "1");
        assertEquals(Main.EXIT_BAD_INPUT, code);
        String line = err.toString().strip();
        assertTrue(line.startsWith("sparse-infer: "), line);
        return line.substring("sparse-infer: ".length());
    }

    private static Map<Long, Row> byId(Dataset<Row> out) {
        Map<Long, Row> rows = new HashMap<>();
        for (Row r : out.collectAsList()) rows.put(r.getLong(r.fieldIndex("id")), r);
        return rows;
    }

    @Test
    void sampledCompletionsEqualTheCliForTheSameSeeds() {
        // Through the continuous batcher (3 slots shared by both tasks) and through per-task sessions alike.
        for (int slots : new int[] {3, 0}) {
            TextGeneration gen = TextGeneration.with(ModelSpec.of(ModelFile.path(model.toString())).withBatchSlots(slots))
                    .maxTokens(MAX_TOKENS).seedColumn("seed");
            List<Row> input = storyPrompts();
            Map<Long, Row> out = byId(gen.generate(prompts(input, 3)));
            assertEquals(input.size(), out.size());
            for (Row in : input) {
                Row r = out.get(in.getLong(0));
                assertNull(r.getAs("error"), () -> "row " + in + ": " + r.getAs("error"));
                assertEquals((Long) in.getLong(2), r.<Long>getAs("completion_seed"));
                assertEquals(cli(model, in.getString(1), in.getLong(2)), r.getAs("completion"),
                        "prompt " + in.getString(1) + ", batch slots " + slots);
                assertTrue(r.<Integer>getAs("completion_tokens") >= 1);
                assertNotNull(r.getAs("completion_stop_reason"));
            }
        }
    }

    @Test
    void sparseCompletionsEqualTheCliWithTheSameSidecar(@TempDir Path dir) throws IOException {
        Path text = dir.resolve("calibration.txt");
        Files.writeString(text, ("Once upon a time there was a little girl named Lily. She liked to play in the park with her dog. "
                + "One day the sun was hot and Tom had a red ball. Mom said they could go to the forest. ").repeat(20));
        Path sidecar = dir.resolve("stories.sparse.gguf");
        StringWriter err = new StringWriter();
        int code = Main.run(new ByteArrayInputStream(new byte[0]), new PrintWriter(new StringWriter()), new PrintWriter(err),
                "calibrate", "-m", model.toString(), "--text", text.toString(), "-o", sidecar.toString(), "-t", "1");
        assertEquals(0, code, err::toString);

        TextGeneration gen = TextGeneration.with(ModelSpec.of(ModelFile.ship(spark, model))
                        .withSidecar(ModelFile.ship(spark, sidecar)))
                .maxTokens(MAX_TOKENS).seedColumn("seed");
        List<Row> input = storyPrompts().subList(0, 4);
        Map<Long, Row> out = byId(gen.generate(prompts(input, 2)));
        for (Row in : input) {
            assertEquals(cli(model, in.getString(1), in.getLong(2), "--sparse", sidecar.toString()),
                    out.get(in.getLong(0)).getAs("completion"), "prompt " + in.getString(1));
        }
    }

    @Test
    void greedyCompletionsWithStopStringsEqualTheCli() {
        TextGeneration gen = TextGeneration.with(ModelSpec.of(ModelFile.ship(spark, model)))
                .maxTokens(MAX_TOKENS).temperature(0).stopStrings(".");
        List<Row> input = storyPrompts().subList(0, 4);
        Map<Long, Row> out = byId(gen.generate(prompts(input, 2)));
        for (Row in : input) {
            Row r = out.get(in.getLong(0));
            assertEquals(cli(model, in.getString(1), 0, "--temp", "0", "--stop", "."), r.getAs("completion"));
        }
    }

    @Test
    void derivedSeedsDoNotDependOnPartitioning() {
        // Seeds from the base seed and the id column: the same rows split 1, 3 and 5 ways give the same text.
        TextGeneration gen = TextGeneration.with(ModelSpec.of(ModelFile.path(model.toString())))
                .maxTokens(MAX_TOKENS).seed(42).keyColumn("id");
        List<Row> input = storyPrompts();
        Map<Long, Row> one = byId(gen.generate(prompts(input, 1)));
        for (int partitions : new int[] {3, 5}) {
            Map<Long, Row> many = byId(gen.generate(prompts(input, partitions)));
            for (Row in : input) {
                long id = in.getLong(0);
                assertEquals(one.get(id).<String>getAs("completion"), many.get(id).getAs("completion"), "id " + id);
                assertEquals(RowSeeds.derive(42, Long.toString(id)), (long) many.get(id).<Long>getAs("completion_seed"));
            }
        }
        // The reported seed reproduces the row with the CLI.
        Row first = one.get(0L);
        assertEquals(cli(model, first.getString(1), first.<Long>getAs("completion_seed")), first.getAs("completion"));
        // Different keys give different seeds, so rows with one prompt are not all alike.
        assertFalse(one.get(0L).<Long>getAs("completion_seed").equals(one.get(1L).<Long>getAs("completion_seed")));
    }

    @Test
    void badRowsGetAnErrorAndTheOthersTheirCompletion() {
        // A short context (64 positions) makes a long prompt cheap to refuse.
        String tooLong = "once upon a time there was a cat ".repeat(10);
        List<Row> input = List.of(
                RowFactory.create(0L, "Once upon a time", 5L),
                RowFactory.create(1L, null, 5L),
                RowFactory.create(2L, "", 5L),
                RowFactory.create(3L, tooLong, 5L),
                RowFactory.create(4L, "The little dog", null));
        TextGeneration gen = TextGeneration.with(ModelSpec.of(ModelFile.path(model.toString())).withContextLength(64))
                .maxTokens(MAX_TOKENS).seedColumn("seed");
        Map<Long, Row> out = byId(gen.generate(prompts(input, 2)));
        assertEquals(cli(model, "Once upon a time", 5, "-c", "64"), out.get(0L).getAs("completion"));
        assertNull(out.get(0L).getAs("error"));
        assertEquals("the prompt is null", out.get(1L).getAs("error"));
        assertEquals("the prompt is empty", out.get(2L).getAs("error"));
        assertTrue(out.get(3L).<String>getAs("error").contains("does not fit in the context"), out.get(3L).<String>getAs("error"));
        assertEquals("the seed is null", out.get(4L).getAs("error"));
        for (long id = 1; id <= 4; id++) {
            Row r = out.get(id);
            assertNull(r.getAs("completion"));
            assertNull(r.getAs("completion_tokens"));
            assertNull(r.getAs("completion_stop_reason"));
            assertFalse(r.<String>getAs("error").contains("\n"), "one line");
        }
    }

    @Test
    void aCorruptModelFailsBeforeAnyTaskWithTheCliMessage(@TempDir Path dir) throws IOException {
        Path truncated = dir.resolve("truncated.gguf");
        byte[] bytes = Files.readAllBytes(model);
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        String expected = cliError(truncated);
        Dataset<Row> input = prompts(storyPrompts(), 2);

        ModelLoadException onDriver = assertThrows(ModelLoadException.class, () ->
                TextGeneration.with(ModelSpec.of(ModelFile.path(truncated.toString()))).generate(input));
        assertTrue(onDriver.getMessage().contains(expected), onDriver.getMessage());
        assertFalse(onDriver.getMessage().contains("\n"));

        ModelLoadException missing = assertThrows(ModelLoadException.class, () ->
                TextGeneration.with(ModelSpec.of(ModelFile.path(dir.resolve("absent.gguf").toString()))).generate(input));
        assertTrue(missing.getMessage().startsWith("model file not found: "), missing.getMessage());

        // A file only the executors read (the driver has no copy to check): the first task fails the job.
        ModelFile executorsOnly = new ModelFile(truncated.toString(), false, null);
        Dataset<Row> lazy = TextGeneration.with(ModelSpec.of(executorsOnly)).generate(input);
        Exception job = assertThrows(Exception.class, lazy::collectAsList);
        assertTrue(job.getMessage().contains(expected), job.getMessage());
    }

    @Test
    void oneModelPerExecutorJvmIsSharedByConcurrentTasksAndJobs() {
        ModelSpec spec = ModelSpec.of(ModelFile.path(model.toString())).withContextLength(256);
        TextGeneration gen = TextGeneration.with(spec).maxTokens(4).seedColumn("seed");
        int before = ExecutorModels.modelsOpened();
        gen.generate(prompts(storyPrompts(), 4)).collectAsList();
        gen.generate(prompts(storyPrompts(), 6)).collectAsList();
        assertEquals(1, ExecutorModels.modelsOpened() - before, "models opened by two jobs of 4 and 6 partitions");
    }

    @Test
    void settingsAndColumnsAreCheckedOnTheDriver() {
        TextGeneration gen = TextGeneration.with(ModelSpec.of(ModelFile.path(model.toString())));
        Dataset<Row> input = prompts(storyPrompts(), 1);
        assertThrows(IllegalArgumentException.class, () -> gen.promptColumn("text").generate(input));
        assertThrows(IllegalArgumentException.class, () -> gen.seedColumn("prompt").generate(input));
        assertThrows(IllegalArgumentException.class, () -> gen.outputColumn("prompt").generate(input));
        assertThrows(IllegalArgumentException.class, () -> gen.maxTokens(0));
        assertThrows(IllegalArgumentException.class, () -> gen.temperature(-1));
    }
}
