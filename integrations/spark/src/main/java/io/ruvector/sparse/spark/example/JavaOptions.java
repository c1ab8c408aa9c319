package io.ruvector.sparse.spark.example;

import org.apache.spark.launcher.JavaModuleOptions;

/**
 * Prints the options a JVM running Spark and the engine needs on JDK 25, one per line, for launchers that start
 * it with {@code java -cp}: Spark's own list (what {@code spark-submit} adds by itself), which in Spark 4.2 also
 * covers the engine's ({@code --add-modules=jdk.incubator.vector}, {@code --enable-native-access=ALL-UNNAMED}).
 */
public final class JavaOptions {

    private JavaOptions() {}

    public static void main(String[] args) {
        for (String option : JavaModuleOptions.defaultModuleOptionArray()) System.out.println(option);
    }
}
