package io.ruvector.sparse.cli;

import io.ruvector.sparse.memory.CacheDirectory;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The model {@code generate} runs when no {@code --model} is given: Karpathy's 260K-parameter TinyStories
 * model (1.2 MB, MIT licence). Looked for in the local model cache, then in the test-fixtures folder, and
 * otherwise downloaded from its public Hugging Face location into the cache, checked by SHA-256.
 */
final class DemoModel {

    static final String FILE_NAME = "stories260K.gguf";
    static final String SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
    /** The public copies, tried in order: ggml-org's test-model repository (pinned revision), then its old name. */
    static final List<URI> SOURCES = List.of(
            URI.create("https://huggingface.co/ggml-org/models-moved/resolve/499bc8821c6b12b4e53c5bffcb21ec206f212d81/tinyllamas/stories260K.gguf"),
            URI.create("https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf"));

    /**
     * Where to look and whether downloading is allowed.
     *
     * @param cacheDir    the model cache (the download goes here)
     * @param fixtureDirs folders that may hold the file already (test fixtures)
     * @param sources     where to download it from
     * @param offline     never download
     */
    record Locations(Path cacheDir, List<Path> fixtureDirs, List<URI> sources, boolean offline) {

        /**
         * From the environment: cache {@code $SPARSE_INFER_CACHE} (or property {@code sparse.infer.cache}),
         * else {@code $XDG_CACHE_HOME/sparse-infer}, else {@code ~/.cache/sparse-infer}; fixtures
         * {@code $SPARSE_INFER_FIXTURES/models}, and {@code shared/models} beside the project the program
         * runs from; offline when {@code SPARSE_INFER_OFFLINE} or property {@code sparse.infer.offline} is
         * {@code true} or {@code 1}.
         */
        static Locations from(Map<String, String> env, Properties props, Path codeLocation) {
            Path cacheDir = CacheDirectory.resolve(env, props);
            List<Path> fixtures = new ArrayList<>();
            String fixturesEnv = env.get("SPARSE_INFER_FIXTURES");
            if (fixturesEnv != null && !fixturesEnv.isBlank()) fixtures.add(Path.of(fixturesEnv, "models"));
            // The jar sits in <project>/target/, the classes in <project>/target/classes/: look for shared/
            // beside the project (and beside target/, for a jar copied elsewhere).
            if (codeLocation != null) {
                Path dir = codeLocation.toAbsolutePath().getParent();
                for (int up = 0; up < 2 && dir != null; up++, dir = dir.getParent()) {
                    fixtures.add(dir.resolve("..").resolve("shared").resolve("models").normalize());
                }
            }
            String offline = props.getProperty("sparse.infer.offline", env.get("SPARSE_INFER_OFFLINE"));
            boolean isOffline = offline != null && (offline.equalsIgnoreCase("true") || offline.equals("1"));
            return new Locations(cacheDir, List.copyOf(fixtures), SOURCES, isOffline);
        }

        /** {@link #from} for this process. */
        static Locations fromEnvironment() {
            Path code = null;
            try {
                var source = DemoModel.class.getProtectionDomain().getCodeSource();
                if (source != null) code = Path.of(source.getLocation().toURI());
            } catch (URISyntaxException | RuntimeException e) {
                code = null; // no code location (unusual class loader): skip that guess
            }
            return from(System.getenv(), System.getProperties(), code);
        }

    }

    private DemoModel() {}

    /**
     * The demo model's path, downloading it when needed (progress on {@code err}).
     *
     * @throws IOException whose message says how to get a model, when none can be found or fetched
     */
    static Path locate(Locations where, Downloader downloader, PrintWriter err) throws IOException {
        return locate(where, FILE_NAME, SHA256, downloader, err);
    }

    /** {@link #locate(Locations, Downloader, PrintWriter)} for any file name and checksum (for tests). */
    static Path locate(Locations where, String fileName, String sha256, Downloader downloader, PrintWriter err)
            throws IOException {
        Path cached = where.cacheDir().resolve(fileName);
        if (Files.isRegularFile(cached)) {
            if (Downloader.sha256(cached).equals(sha256)) return cached;
            err.println("sparse-infer: " + cached + " is corrupt (SHA-256 mismatch); fetching it again");
        }
        for (Path dir : where.fixtureDirs()) {
            Path p = dir.resolve(fileName);
            if (Files.isRegularFile(p) && Downloader.sha256(p).equals(sha256)) return p;
        }
        if (where.offline()) {
            throw new IOException("no --model given and the demo model " + fileName + " is not here (offline mode): "
                    + howToGetOne(where, fileName, sha256));
        }
        List<String> failures = new ArrayList<>();
        for (URI source : where.sources()) {
            err.println("sparse-infer: no --model given; downloading the demo model " + fileName + " from " + source);
            try {
                downloader.download(source, cached, sha256, new ProgressBar(err, fileName));
                err.println("sparse-infer: saved " + cached);
                return cached;
            } catch (IOException e) {
                err.println();
                err.println("sparse-infer: " + e.getMessage());
                failures.add(e.getMessage());
            }
        }
        throw new IOException("no --model given and the demo model " + fileName + " could not be downloaded ("
                + String.join("; ", failures) + "): " + howToGetOne(where, fileName, sha256));
    }

    private static String howToGetOne(Locations where, String fileName, String sha256) {
        return "pass --model FILE.gguf, or put " + fileName + " (sha256 " + sha256 + ") into " + where.cacheDir()
                + (where.sources().isEmpty() ? "" : " (it is at " + where.sources().getFirst() + ")")
                + ", or set SPARSE_INFER_FIXTURES to a folder with models/" + fileName;
    }
}
