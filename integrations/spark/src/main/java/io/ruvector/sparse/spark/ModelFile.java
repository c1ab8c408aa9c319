package io.ruvector.sparse.spark;

import org.apache.spark.SparkFiles;
import org.apache.spark.sql.SparkSession;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where executors find a GGUF file (a model or a sparse sidecar): either a path every executor sees (a shared
 * or network file system, or a file baked into the executors' image), or a file shipped with
 * {@link org.apache.spark.SparkContext#addFile} and found on each executor with {@link SparkFiles#get}.
 *
 * <p>Either way each executor maps its local copy once and its tasks share it through the page cache.
 *
 * @param location  the path, or the file name given to {@code addFile}
 * @param shipped   true when {@code location} is a name for {@link SparkFiles#get}
 * @param driverCopy the file on the driver, when the driver can read it (used to fail fast), else null
 */
public record ModelFile(String location, boolean shipped, String driverCopy) implements Serializable {

    public ModelFile {
        Objects.requireNonNull(location, "location");
        if (location.isBlank()) throw new IllegalArgumentException("model file location is blank");
    }

    /** A path every executor (and normally the driver) can read. */
    public static ModelFile path(String path) {
        return new ModelFile(path, false, path);
    }

    /**
     * Ships a local file to every executor with {@code SparkContext.addFile}: Spark copies it once into each
     * executor's work directory, where this file is then found by name.
     *
     * @throws IllegalArgumentException when the file does not exist (named)
     */
    public static ModelFile ship(SparkSession spark, Path local) {
        Objects.requireNonNull(spark, "spark");
        Path absolute = local.toAbsolutePath().normalize();
        if (!Files.isRegularFile(absolute)) throw new IllegalArgumentException("model file not found: " + local);
        spark.sparkContext().addFile(absolute.toString());
        return new ModelFile(absolute.getFileName().toString(), true, absolute.toString());
    }

    /** A file that was already added with {@code addFile} (by this name) by other code. */
    public static ModelFile shipped(String name) {
        return new ModelFile(name, true, null);
    }

    /** The file on this JVM: the executor's copy of a shipped file, else the path itself. */
    public Path resolve() {
        return shipped ? Path.of(SparkFiles.get(location)) : Path.of(location);
    }

    @Override
    public String toString() {
        return shipped ? "shipped file " + location : location;
    }
}
