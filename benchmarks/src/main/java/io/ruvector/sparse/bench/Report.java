package io.ruvector.sparse.bench;

import io.ruvector.sparse.quant.GgmlType;
import io.ruvector.sparse.quant.Int8DotProduct;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs the bandwidth probe and the matvec benchmarks back to back for several rounds and prints weight GB/s
 * per type with its fraction of the probe measured in the same round (medians over rounds).
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp target/benchmarks.jar io.ruvector.sparse.bench.Report \
 *     [types=Q8_0,Q4_0|all] [shapes=2048x5632,4096x11008] [threads=1,2] [precisions=F32,INT8] [rounds=3] [seconds=1]
 * </pre>
 * Shapes are rows x cols; the default two are the down projections (long rows); add 5632x2048 or 11008x4096
 * for the gate/up shapes.
 * <pre>
 * </pre>
 */
public final class Report {

    public static void main(String[] args) throws RunnerException {
        Map<String, String> opt = new LinkedHashMap<>();
        opt.put("types", "all");
        opt.put("shapes", "2048x5632,4096x11008");
        opt.put("threads", "1,2");
        opt.put("precisions", "F32,INT8");
        opt.put("rounds", "3");
        opt.put("seconds", "1");
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq < 0 || !opt.containsKey(a.substring(0, eq))) throw new IllegalArgumentException("unknown argument " + a + "; known: " + opt.keySet());
            opt.put(a.substring(0, eq), a.substring(eq + 1));
        }
        List<String> types = new ArrayList<>();
        if (opt.get("types").equals("all")) {
            for (TensorType t : TensorTypes.all()) types.add(t.ggmlType().name());
        } else {
            types.addAll(Arrays.asList(opt.get("types").split(",")));
        }
        String[] shapes = opt.get("shapes").split(",");
        String[] threads = opt.get("threads").split(",");
        String[] precisions = opt.get("precisions").split(",");
        int rounds = Integer.parseInt(opt.get("rounds"));
        int seconds = Integer.parseInt(opt.get("seconds"));

        // key -> one GB/s value per round; the probe's key is "probe/<threads>"
        Map<String, List<Double>> gbs = new LinkedHashMap<>();
        Map<String, List<Double>> fraction = new LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            for (String th : threads) {
                double probe = run(base(seconds).include(BandwidthProbe.class.getName() + ".read").param("threads", th));
                gbs.computeIfAbsent("probe/" + th, k -> new ArrayList<>()).add(probe);
                System.out.printf(Locale.ROOT, "round %d  threads %s  probe %.2f GB/s%n", round, th, probe);
                for (String type : types) {
                    boolean int8 = TensorTypes.of(GgmlType.valueOf(type)) instanceof Int8DotProduct;
                    for (String shape : shapes) {
                        for (String p : precisions) {
                            if (p.equals("INT8") && !int8) continue;
                            double v = run(base(seconds).include(MatVecBenchmark.class.getName() + ".matvec")
                                    .param("type", type).param("shape", shape).param("threads", th).param("precision", p));
                            String key = type + "/" + shape + "/" + th + "/" + p;
                            gbs.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
                            fraction.computeIfAbsent(key, k -> new ArrayList<>()).add(v / probe);
                            System.out.printf(Locale.ROOT, "round %d  %-40s %6.2f GB/s  %4.0f%% of probe%n", round, key, v, 100 * v / probe);
                        }
                    }
                }
            }
        }
        System.out.println();
        System.out.println("| type | shape | threads | activations | weight GB/s (median) | fraction of probe (median) |");
        System.out.println("|---|---|---:|---|---:|---:|");
        for (String th : threads) {
            System.out.printf(Locale.ROOT, "| probe | - | %s | - | %.1f | 100%% |%n", th, median(gbs.get("probe/" + th)));
        }
        for (Map.Entry<String, List<Double>> e : gbs.entrySet()) {
            if (e.getKey().startsWith("probe/")) continue;
            String[] k = e.getKey().split("/");
            System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %.1f | %.0f%% |%n", k[0], k[1], k[2], k[3],
                    median(e.getValue()), 100 * median(fraction.get(e.getKey())));
        }
    }

    private static ChainedOptionsBuilder base(int seconds) {
        return new OptionsBuilder().forks(1).warmupIterations(2).warmupTime(TimeValue.seconds(seconds))
                .measurementIterations(3).measurementTime(TimeValue.seconds(seconds)).verbosity(VerboseMode.SILENT)
                .shouldFailOnError(true);
    }

    /** Median over measurement iterations of the {@code bytes} counter, in GB/s. */
    private static double run(ChainedOptionsBuilder options) throws RunnerException {
        Collection<RunResult> results = new Runner(options.build()).run();
        List<Double> perIteration = new ArrayList<>();
        for (RunResult r : results) {
            for (var br : r.getBenchmarkResults()) {
                for (IterationResult ir : br.getIterationResults()) {
                    perIteration.add(ir.getSecondaryResults().get("bytes").getScore() / 1e9);
                }
            }
        }
        if (perIteration.isEmpty()) throw new IllegalStateException("no result");
        return median(perIteration);
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }
}
