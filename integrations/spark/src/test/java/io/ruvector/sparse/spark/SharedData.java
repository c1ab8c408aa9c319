package io.ruvector.sparse.spark;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shared test data, found as the engine's tests find it (its {@code Fixtures}, which the engine does not
 * publish for other modules): env {@code SPARSE_INFER_FIXTURES}, else {@code ../shared} beside the repository.
 * A missing file skips the test with a message, and fails it under {@code CI=true}, where the data is always
 * present and a skip would hide a broken test.
 */
final class SharedData {

    private SharedData() {}

    static Path root() {
        String env = System.getenv("SPARSE_INFER_FIXTURES");
        if (env != null && !env.isBlank()) return Path.of(env);
        String repo = System.getenv("SPARSE_INFER_ROOT");
        Path base = repo != null ? Path.of(repo) : Path.of("").toAbsolutePath().resolve("../..");
        return base.resolve("..").resolve("shared").normalize();
    }

    /** A file under the shared data, e.g. {@code require("models/stories260K.gguf")}. */
    static Path require(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            String message = "test fixture " + p + " is missing (set SPARSE_INFER_FIXTURES to the shared test-data folder)";
            if ("true".equals(System.getenv("CI"))) throw new AssertionError(message);
            Assumptions.abort(message);
        }
        return p;
    }
}
