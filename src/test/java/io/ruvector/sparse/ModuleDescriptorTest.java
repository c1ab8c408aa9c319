package io.ruvector.sparse;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The module exports the API packages and keeps the engine's internals (kernels, types, memory) to itself. */
class ModuleDescriptorTest {

    private static final String ROOT = "io.ruvector.sparse";

    @Test
    void exportsTheApiAndNothingElse() throws Exception {
        ModuleDescriptor module = descriptor();
        assertEquals(ROOT, module.name());
        Set<String> exported = module.exports().stream()
                .peek(e -> assertTrue(e.targets().isEmpty(), "qualified export " + e))
                .map(e -> e.source().substring(ROOT.length() + 1))
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(Set.of("gguf", "model", "embedding", "generation", "sampling", "tokenizer", "sparse", "quantize")), exported);
        for (String internal : Set.of("cpu", "kernels", "quant", "tensor", "memory")) {
            assertTrue(module.packages().contains(ROOT + "." + internal), "package " + internal + " is in the module");
        }
    }

    private static ModuleDescriptor descriptor() throws Exception {
        Path classes = Path.of(ModuleDescriptorTest.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolveSibling("classes");
        Path info = classes.resolve("module-info.class");
        assertTrue(Files.isRegularFile(info), "no module-info.class in " + classes);
        try (InputStream in = Files.newInputStream(info)) {
            return ModuleDescriptor.read(in, () -> packagesUnder(classes));
        } catch (IOException e) {
            throw new AssertionError("unreadable module-info.class", e);
        }
    }

    private static Set<String> packagesUnder(Path classes) {
        try (var files = Files.walk(classes)) {
            return files.filter(p -> p.toString().endsWith(".class") && !p.endsWith("module-info.class"))
                    .map(p -> classes.relativize(p.getParent()).toString().replace('/', '.'))
                    .collect(Collectors.toSet());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
