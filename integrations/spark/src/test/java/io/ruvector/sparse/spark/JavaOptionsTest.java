package io.ruvector.sparse.spark;

import org.apache.spark.launcher.JavaModuleOptions;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tests' JVM runs with every option Spark's launcher gives its JVMs (the pom's list is a copy of it). */
class JavaOptionsTest {

    @Test
    void theTestJvmHasSparksOptions() {
        List<String> jvm = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (String option : JavaModuleOptions.defaultModuleOptionArray()) {
            if (option.equals("-XX:+IgnoreUnrecognizedVMOptions")) continue;   // only for older JDKs
            assertTrue(jvm.contains(option), "the surefire argLine lacks Spark's " + option);
        }
    }
}
