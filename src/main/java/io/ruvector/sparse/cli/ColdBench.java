package io.ruvector.sparse.cli;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bench --cold}: one-shot {@code generate} runs, each in a fresh JVM started with this JVM's own command line
 * (so with the launcher's flags and AOT cache), as a person who types one command meets the engine, alternating
 * with the other variants (another set of flags, or llama.cpp's {@code llama-simple}/{@code llama-completion})
 * round by round so that the machine's load falls on all of them alike.
 */
final class ColdBench {

    /** One variant: how to start a run, and what it is called in the table. */
    record Variant(String name, List<String> command, boolean ours) {}

    /**
     * What one run measured. Times in seconds, NaN when the run did not report them. {@code firstToken}: from the
     * start of the process to the first generated token (ours); for llama.cpp, its load plus prompt time.
     */
    record Run(String variant, double wall, double load, double prompt, double firstToken, double generationTps,
               double[] tokenMs, int exitCode) {}

    private static final Pattern OUR_SUMMARY = Pattern.compile(
            "load: ([\\d.]+) s \\| prompt: (\\d+) tokens in ([\\d.]+) s .*generated: (\\d+) tokens in ([\\d.]+) s \\(([\\d.]+) tokens/s\\)");
    private static final Pattern OUR_TIMES = Pattern.compile("\\(epoch-us (\\d+)\\) \\| token ms:([\\d. ]*)");
    private static final Pattern LLAMA_LOAD = Pattern.compile("\\bload time\\s*=\\s*([\\d.]+) ms");
    private static final Pattern LLAMA_PROMPT = Pattern.compile("prompt eval time\\s*=\\s*([\\d.]+) ms");
    private static final Pattern LLAMA_EVAL = Pattern.compile("(?<!prompt )\\beval time\\s*=\\s*([\\d.]+) ms\\s*/\\s*(\\d+) runs");

    private ColdBench() {}

    /**
     * This JVM's command line up to the main class or jar, then {@code args}: the launcher's flags and AOT cache
     * come along. Without {@code -jar} (tests, IDEs) the class path and the main class are used.
     */
    static List<String> sameJvm(List<String> dropFlagsStartingWith, List<String> extraJvmFlags, List<String> args) {
        ProcessHandle.Info info = ProcessHandle.current().info();
        String java = info.command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> jvmArgs = new ArrayList<>(Arrays.asList(info.arguments().orElse(new String[0])));
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        int jar = jvmArgs.indexOf("-jar");
        List<String> flags = new ArrayList<>();
        List<String> main;
        if (jar >= 0 && jar + 1 < jvmArgs.size()) {
            flags.addAll(jvmArgs.subList(0, jar));
            main = List.of("-jar", jvmArgs.get(jar + 1));
        } else {
            flags.add("--add-modules");
            flags.add("jdk.incubator.vector");
            flags.add("--enable-native-access=ALL-UNNAMED");
            main = List.of("-cp", System.getProperty("java.class.path"), Main.class.getName());
        }
        for (String f : flags) {
            if (dropFlagsStartingWith.stream().noneMatch(f::startsWith)) cmd.add(f);
        }
        cmd.addAll(extraJvmFlags);
        cmd.addAll(main);
        cmd.addAll(args);
        return cmd;
    }

    /** The arguments of llama.cpp's one-shot tool {@code tool} for the same run. */
    static List<String> llamaCommand(Path tool, Path model, String prompt, int tokens, int threads) {
        String name = tool.getFileName().toString();
        List<String> cmd = new ArrayList<>(List.of(tool.toString(), "-m", model.toString(), "-n", Integer.toString(tokens)));
        if (name.contains("simple")) {
            cmd.add(prompt);   // llama-simple takes no thread count: it runs with llama.cpp's default
        } else {
            cmd.addAll(List.of("-t", Integer.toString(threads), "-p", prompt, "--temp", "0"));
            if (name.equals("llama-cli")) cmd.add("-no-cnv");
        }
        return cmd;
    }

    /** Runs {@code v} once and reads what it printed. */
    static Run run(Variant v) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(v.command()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Instant spawned = Instant.now();
        long start = System.nanoTime();
        Process p = pb.start();
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        int code = p.waitFor();
        double wall = (System.nanoTime() - start) / 1e9;
        String text = out.join() + "\n" + err.join();
        if (v.ours()) return parseOurs(v.name(), text, wall, spawned, code);
        return parseLlama(v.name(), text, wall, code);
    }

    static Run parseOurs(String name, String text, double wall, Instant spawned, int code) {
        double load = Double.NaN, prompt = Double.NaN, first = Double.NaN, tps = Double.NaN;
        double[] tokenMs = new double[0];
        Matcher m = OUR_SUMMARY.matcher(text);
        if (m.find()) {
            load = Double.parseDouble(m.group(1));
            prompt = Double.parseDouble(m.group(3));
            tps = Double.parseDouble(m.group(6));
        }
        Matcher t = OUR_TIMES.matcher(text);
        if (t.find()) {
            long firstUs = Long.parseLong(t.group(1));
            long spawnUs = spawned.getEpochSecond() * 1_000_000L + spawned.getNano() / 1_000;
            first = (firstUs - spawnUs) / 1e6;
            String list = t.group(2).trim();
            tokenMs = list.isEmpty() ? new double[0] : Arrays.stream(list.split("\\s+")).mapToDouble(Double::parseDouble).toArray();
        }
        return new Run(name, wall, load, prompt, first, tps, tokenMs, code);
    }

    static Run parseLlama(String name, String text, double wall, int code) {
        double load = find(LLAMA_LOAD, text).map(ms -> ms / 1e3).orElse(Double.NaN);
        double prompt = find(LLAMA_PROMPT, text).map(ms -> ms / 1e3).orElse(Double.NaN);
        double tps = Double.NaN;
        Matcher e = LLAMA_EVAL.matcher(text);
        if (e.find()) tps = Integer.parseInt(e.group(2)) / (Double.parseDouble(e.group(1)) / 1e3);
        return new Run(name, wall, load, prompt, load + prompt, tps, new double[0], code);
    }

    private static Optional<Double> find(Pattern p, String text) {
        Matcher m = p.matcher(text);
        return m.find() ? Optional.of(Double.parseDouble(m.group(1))) : Optional.empty();
    }

    private static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        }, r -> Thread.ofPlatform().daemon().start(r));
    }

    /** Every variant {@code rounds} times, alternating, each run's line printed as it ends; then the medians. */
    static List<Run> measure(List<Variant> variants, int rounds, PrintWriter out, PrintWriter err)
            throws IOException, InterruptedException {
        List<Run> runs = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            for (Variant v : variants) {
                Run run = run(v);
                runs.add(run);
                err.println(String.format(Locale.ROOT, "round %d %-10s %s", r + 1, v.name(), line(run)));
                err.flush();
                if (run.exitCode() != 0) {
                    throw new IllegalStateException(v.name() + " exited with " + run.exitCode() + ": " + String.join(" ", v.command()));
                }
            }
        }
        printSummary(variants, runs, out);
        return runs;
    }

    static String line(Run r) {
        return String.format(Locale.ROOT, "wall %.2f s | load %.2f s | prompt %.2f s | first token %.2f s | gen %.1f t/s%s",
                r.wall(), r.load(), r.prompt(), r.firstToken(), r.generationTps(),
                r.tokenMs().length == 0 ? "" : " | token ms " + joined(r.tokenMs()));
    }

    private static String joined(double[] ms) {
        StringBuilder s = new StringBuilder();
        for (double v : ms) s.append(s.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.0f", v));
        return s.toString();
    }

    static void printSummary(List<Variant> variants, List<Run> runs, PrintWriter out) {
        out.println("| variant | runs | wall (s) | load (s) | prompt (s) | first token (s) | gen (t/s) | token ms 2..16 (median per position) |");
        out.println("|---|---:|---:|---:|---:|---:|---:|---|");
        double baseWall = Double.NaN, baseFirst = Double.NaN;
        for (Variant v : variants) {
            List<Run> mine = runs.stream().filter(r -> r.variant().equals(v.name())).toList();
            double wall = median(mine.stream().mapToDouble(Run::wall).toArray());
            out.println(String.format(Locale.ROOT, "| %s | %d | %s | %.2f | %.2f | %.2f | %.1f | %s |", v.name(), mine.size(),
                    withRange(mine.stream().mapToDouble(Run::wall).toArray()),
                    median(mine.stream().mapToDouble(Run::load).toArray()),
                    median(mine.stream().mapToDouble(Run::prompt).toArray()),
                    median(mine.stream().mapToDouble(Run::firstToken).toArray()),
                    median(mine.stream().mapToDouble(Run::generationTps).toArray()),
                    joined(medianPerPosition(mine))));
            if (!v.ours() && Double.isNaN(baseWall)) {
                baseWall = wall;
                baseFirst = median(mine.stream().mapToDouble(Run::firstToken).toArray());
            }
        }
        if (!Double.isNaN(baseWall)) {
            for (Variant v : variants) {
                if (!v.ours()) continue;
                List<Run> mine = runs.stream().filter(r -> r.variant().equals(v.name())).toList();
                out.println(String.format(Locale.ROOT, "%s / llama.cpp: wall %.2fx, first token %.2fx llama.cpp's load + prompt",
                        v.name(), median(mine.stream().mapToDouble(Run::wall).toArray()) / baseWall,
                        median(mine.stream().mapToDouble(Run::firstToken).toArray()) / baseFirst));
            }
        }
        out.flush();
    }

    private static String withRange(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, "%.2f (%.2f-%.2f)", median(v), s[0], s[s.length - 1]);
    }

    private static double[] medianPerPosition(List<Run> runs) {
        int n = runs.stream().mapToInt(r -> r.tokenMs().length).min().orElse(0);
        double[] m = new double[n];
        for (int i = 0; i < n; i++) {
            int k = i;
            m[i] = median(runs.stream().mapToDouble(r -> r.tokenMs()[k]).toArray());
        }
        return m;
    }

    static double median(double[] v) {
        double[] s = Arrays.stream(v).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (s.length == 0) return Double.NaN;
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
