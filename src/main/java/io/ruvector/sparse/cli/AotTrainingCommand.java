package io.ruvector.sparse.cli;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.synth.SyntheticModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer aot-training}, hidden: the training run of the JVM's AOT cache, which the launcher runs once
 * per jar and JDK with {@code -XX:AOTCacheOutput} (docs/cold-start.md). It runs {@code generate} as a user would,
 * on small synthetic models of the common weight types, so the cache holds the classes a real run loads and
 * links, and the method profiles it would gather (JEP 515), from the command line parser down to the kernels.
 */
@Command(name = "aot-training", hidden = true,
        description = "The AOT cache's training run (the launcher runs it once): generate on small synthetic models.")
public final class AotTrainingCommand implements Callable<Integer> {

    /** The types of llama-quantize's common files (Q4_0 and Q4_K_M mixes carry Q6_K outputs), and F16. */
    static final List<GgmlType> TYPES = List.of(GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F16);

    @Option(names = "-n", paramLabel = "N", description = "tokens generated per model (default: ${DEFAULT-VALUE})")
    private int tokens = 24;

    @Override
    public Integer call() throws IOException {
        Path dir = Files.createTempDirectory("sparse-infer-aot-training-");
        PrintWriter sink = new PrintWriter(OutputStream.nullOutputStream());
        try (Parallel pool = Parallel.forMachine()) {
            for (GgmlType t : TYPES) {
                Path file = dir.resolve("tiny-" + t.name().toLowerCase(Locale.ROOT) + ".gguf");
                SyntheticModel.declareRepeatedRows(SyntheticModel.Options.preset("tiny").withWeightType(t), pool).write(file);
                String[] generate = {"generate", "-m", file.toString(), "-p", "Once upon a time there was a little girl",
                        "-n", Integer.toString(tokens), "--temp", "0", "--timings", "--warm-up", "200"};
                int code = Main.run(new ByteArrayInputStream(new byte[0]), sink, sink, generate);
                if (code != Main.EXIT_OK) return code;
                Files.delete(file);
            }
        } finally {
            try (var left = Files.list(dir)) {
                for (Path p : left.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
        return Main.EXIT_OK;
    }
}
