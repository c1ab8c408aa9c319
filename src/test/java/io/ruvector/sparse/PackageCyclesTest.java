package io.ruvector.sparse;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Data flows one way through the engine's packages (file -> tensors -> model -> generation, CLI and C API on
 * top): the imports must say so. This asks the JDK's own {@code jdeps} for the package graph of the compiled
 * main classes and fails on any cycle, naming the packages in it.
 */
class PackageCyclesTest {

    private static final String ROOT = "io.ruvector.sparse";

    @Test
    void enginePackagesFormNoCycle() throws Exception {
        Map<String, Set<String>> graph = packageGraph();
        assertTrue(graph.containsKey(ROOT + ".model") && graph.containsKey(ROOT + ".quant"),
                "jdeps saw no engine packages: " + graph.keySet());
        List<List<String>> cycles = stronglyConnected(graph).stream().filter(c -> c.size() > 1).toList();
        if (!cycles.isEmpty()) fail("package cycles: " + cycles);
    }

    @Test
    void lowLevelPackagesStayBelowTheModel() throws Exception {
        Map<String, Set<String>> graph = packageGraph();
        // What each low-level package may use of ours: nothing above it in the flow.
        assertOnly(graph, "cpu", Set.of());
        assertOnly(graph, "gguf", Set.of());
        assertOnly(graph, "quant", Set.of("cpu", "gguf"));
        assertOnly(graph, "tensor", Set.of("gguf", "quant"));
        assertOnly(graph, "kernels", Set.of("cpu", "quant", "tensor", "gguf"));
    }

    @Test
    void theCycleFinderFindsACycle() {
        Map<String, Set<String>> g = new TreeMap<>();
        g.put("a", Set.of("b"));
        g.put("b", Set.of("c"));
        g.put("c", Set.of("a", "d"));
        g.put("d", Set.of());
        List<List<String>> big = stronglyConnected(g).stream().filter(c -> c.size() > 1).toList();
        assertEquals(List.of(List.of("a", "b", "c")), big);
    }

    private static void assertOnly(Map<String, Set<String>> graph, String pkg, Set<String> allowed) {
        Set<String> uses = new TreeSet<>();
        for (String to : graph.getOrDefault(ROOT + "." + pkg, Set.of())) uses.add(to.substring(ROOT.length() + 1));
        uses.removeAll(allowed);
        assertTrue(uses.isEmpty(), pkg + " must not use " + uses);
    }

    /** Package -> packages of ours it uses, from {@code jdeps -verbose:package} over the main classes. */
    static Map<String, Set<String>> packageGraph() throws URISyntaxException {
        Path classes = Path.of(PackageCyclesTest.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolveSibling("classes");
        assertTrue(Files.isDirectory(classes), "main classes not found at " + classes);
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("no jdeps in this JDK"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        // The classes hold module-info.class, so jdeps resolves the modules it requires: hand it those jars
        // from the test class path (automatic modules require nothing further; Jinjava's own dependencies
        // would only bring split packages into the graph).
        String jars = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(p -> p.matches(".*[/\\\\](picocli|jinjava)-[0-9.]+\\.jar"))
                .collect(Collectors.joining(File.pathSeparator));
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(err), "--module-path", jars, "-verbose:package",
                "-filter:none", "--multi-release", "25", classes.toString());
        assertEquals(0, rc, "jdeps failed: " + err + out);
        // Lines look like "   io.ruvector.sparse.model   ->   io.ruvector.sparse.quant   classes".
        Pattern edge = Pattern.compile("^\\s*(" + Pattern.quote(ROOT) + "[\\w.]*)\\s+->\\s+(" + Pattern.quote(ROOT) + "[\\w.]*)\\s");
        Map<String, Set<String>> graph = new TreeMap<>();
        for (String line : out.toString().split("\n")) {
            Matcher m = edge.matcher(line);
            if (!m.find()) continue;
            graph.computeIfAbsent(m.group(1), k -> new TreeSet<>());
            graph.computeIfAbsent(m.group(2), k -> new TreeSet<>());
            if (!m.group(1).equals(m.group(2))) graph.get(m.group(1)).add(m.group(2));
        }
        return graph;
    }

    /** Tarjan's strongly connected components, each sorted. */
    static List<List<String>> stronglyConnected(Map<String, Set<String>> graph) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<List<String>> out = new ArrayList<>();
        int[] next = {0};
        for (String v : graph.keySet()) {
            if (!index.containsKey(v)) connect(v, graph, index, low, stack, onStack, out, next);
        }
        return out;
    }

    private static void connect(String v, Map<String, Set<String>> graph, Map<String, Integer> index,
                                Map<String, Integer> low, Deque<String> stack, Set<String> onStack,
                                List<List<String>> out, int[] next) {
        index.put(v, next[0]);
        low.put(v, next[0]);
        next[0]++;
        stack.push(v);
        onStack.add(v);
        for (String w : graph.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                connect(w, graph, index, low, stack, onStack, out, next);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            List<String> component = new ArrayList<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            component.sort(null);
            out.add(component);
        }
    }
}
