package io.ruvector.sparse.memory;

import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * The folder where sparse-infer keeps what it can rebuild (the demo model, repacked weight layouts, the launcher's
 * JVM cache): {@code $SPARSE_INFER_CACHE} (or system property {@code sparse.infer.cache}, which wins), else
 * {@code $XDG_CACHE_HOME/sparse-infer}, else {@code ~/.cache/sparse-infer}. One rule for the CLI, the library and
 * the launcher script, so that one variable moves all of it.
 */
public final class CacheDirectory {

    private CacheDirectory() {}

    /** The cache folder for this environment and these properties (not created). */
    public static Path resolve(Map<String, String> env, Properties props) {
        String cache = props.getProperty("sparse.infer.cache", env.get("SPARSE_INFER_CACHE"));
        if (cache != null && !cache.isBlank()) return Path.of(cache);
        String xdg = env.get("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "sparse-infer");
        return Path.of(props.getProperty("user.home", "."), ".cache", "sparse-infer");
    }

    /** {@link #resolve} for this process. */
    public static Path forProcess() { return resolve(System.getenv(), System.getProperties()); }
}
