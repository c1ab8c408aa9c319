package io.ruvector.sparse;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one way tests find the shared test data (real models, llama.cpp references, tokenizer cases).
 *
 * <p>Location: env {@code SPARSE_INFER_FIXTURES}, else {@code ../shared} beside the project. Where it is
 * absent a test is skipped with a message saying so, except under CI ({@code CI=true}), where a missing
 * fixture is a failure: CI always has the data, so a skip there would hide a broken test ({@link Required}).
 */
public final class Fixtures {

    private Fixtures() {}

    /** The fixtures root, which may not exist. */
    public static Path root() {
        String env = System.getenv("SPARSE_INFER_FIXTURES");
        if (env != null && !env.isBlank()) return Path.of(env);
        String projectRoot = System.getenv("SPARSE_INFER_ROOT");
        Path base = projectRoot != null ? Path.of(projectRoot) : Path.of("").toAbsolutePath();
        return base.resolve("..").resolve("shared").normalize();
    }

    /**
     * A file under the fixtures root, e.g. {@code require("models/stories260K.gguf")}. Skips the calling
     * test when it is missing (fails under CI).
     */
    public static Path require(String relative) {
        Path p = root().resolve(relative);
        Required.that(Files.exists(p),
                "test fixture " + p + " is missing (set SPARSE_INFER_FIXTURES to the shared test-data folder)");
        return p;
    }

    /** True when the fixtures root exists. */
    public static boolean available() { return Files.isDirectory(root()); }
}
