package io.ruvector.sparse.cli;

import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.sparse.SparseModel;
import io.ruvector.sparse.sparse.SparseOptions;
import io.ruvector.sparse.sparse.SparseQuality;
import io.ruvector.sparse.sparse.SparseSidecar;
import io.ruvector.sparse.sparse.SparseStats;
import io.ruvector.sparse.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer sparse-eval}: quality of sparse decoding against dense at several sparsity levels, as a
 * markdown table: teacher-forced top-1 agreement with the dense greedy continuation, the identical greedy
 * prefix, and the negative log-likelihood of a held-out text. Rows for the calibrated threshold, for the
 * predictor's top-K at each density, for training-free gate selection where the sidecar has thresholds for
 * that sparsity ({@code calibrate --swiglu-sparsity}), and (with {@code --oracle}) for the exact top-K.
 */
@Command(name = "sparse-eval", mixinStandardHelpOptions = true,
        description = {"Quality of sparse decoding against dense at several sparsity levels (markdown table).",
                "Example: sparse-infer sparse-eval -m stories260K.gguf --sparse stories.sparse.gguf --text heldout.txt --oracle"})
public final class SparseEvalCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "GGUF model")
    private Path model;

    @Option(names = "--sparse", required = true, paramLabel = "SIDECAR", description = "sparse sidecar from calibrate")
    private Path sidecar;

    @Option(names = "--text", required = true, paramLabel = "FILE", description = "held-out text for the negative log-likelihood")
    private Path text;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", defaultValue = "",
            description = "prompt of the greedy continuations (default: BOS alone)")
    private String prompt;

    @Option(names = {"-n", "--steps"}, paramLabel = "N", defaultValue = "200", description = "greedy tokens compared (default ${DEFAULT-VALUE})")
    private int steps;

    @Option(names = "--sparsities", split = ",", paramLabel = "S", defaultValue = "0.25,0.4,0.5",
            description = "fractions of neurons skipped (default ${DEFAULT-VALUE})")
    private double[] sparsities;

    @Option(names = "--oracle", description = "also measure the exact top-K (what sparsity costs without prediction errors)")
    private boolean oracle;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", defaultValue = "1", description = "threads (default ${DEFAULT-VALUE})")
    private int threads;

    @Option(names = "--verbose", description = "show stack traces on errors")
    private boolean verbose;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(threads));
             SparseSidecar sc = SparseSidecar.open(sidecar)) {
            Tokenizer tok = Tokenizer.fromGguf(m.gguf());
            int[] promptIds = tok.encode(prompt, tok.addBosByDefault(), false, false);
            if (promptIds.length == 0) promptIds = new int[]{tok.bosId()};
            int[] heldOut = tok.encode(Files.readString(text, StandardCharsets.UTF_8), tok.addBosByDefault(), false, false);
            int[] reference = SparseQuality.greedy(m::newSession, promptIds, steps);
            List<SparseQuality.Row> rows = new ArrayList<>();
            err.println("dense ...");
            rows.add(SparseQuality.dense(m, promptIds, reference, heldOut));
            rows.add(sparse(m, sc, "predictor, calibrated threshold", SparseOptions.defaults(), promptIds, reference, heldOut, err));
            for (double s : sparsities) {
                if (!(s >= 0 && s < 1)) throw new IllegalArgumentException("sparsity must be in [0, 1): " + s);
                String pct = String.format(Locale.ROOT, "%.0f%%", 100 * s);
                rows.add(sparse(m, sc, "predictor, top-K at " + pct + " sparsity", SparseOptions.defaults().withDensity(1 - s),
                        promptIds, reference, heldOut, err));
                if (s > 0 && sc.hasGateThresholds() && hasLevel(sc, s)) {
                    rows.add(sparse(m, sc, "gate threshold (CATS) at " + pct + " sparsity",
                            SparseOptions.defaults().withGateSparsity(s), promptIds, reference, heldOut, err));
                }
                if (oracle) {
                    rows.add(sparse(m, sc, "exact top-K at " + pct + " sparsity",
                            SparseOptions.defaults().withDensity(1 - s).withOracle(true), promptIds, reference, heldOut, err));
                }
            }
            double denseNll = rows.get(0).nll();
            out.printf(Locale.ROOT, "%s, %d held-out tokens, %d greedy steps%n%n", model.getFileName(), heldOut.length, steps);
            out.println("| configuration | neurons computed | top-1 agreement | identical greedy prefix | NLL (nats/token) | NLL - dense |");
            out.println("|---|---:|---:|---:|---:|---:|");
            for (SparseQuality.Row r : rows) {
                out.printf(Locale.ROOT, "| %s | %.1f%% | %.1f%% | %d / %d | %.4f | %+.4f |%n", r.label(), 100 * r.density(),
                        100 * r.agreement(), r.identicalPrefix(), steps, r.nll(), r.nll() - denseNll);
            }
            out.flush();
        }
        return 0;
    }

    /** Whether the sidecar stores gate thresholds for sparsity {@code s}. */
    private static boolean hasLevel(SparseSidecar sc, double s) {
        for (float level : sc.gateThresholds().sparsity()) if (Math.abs(level - s) < 1e-6) return true;
        return false;
    }

    private static SparseQuality.Row sparse(LanguageModel m, SparseSidecar sc, String label, SparseOptions o, int[] prompt,
                                            int[] reference, int[] heldOut, PrintWriter err) {
        err.println(label + " ...");
        err.flush();
        try (SparseModel sm = SparseModel.attach(m, sc, o)) {
            return SparseQuality.measure(label, sm::newSession, prompt, reference, heldOut, () -> {
                SparseStats st = sm.stats();
                double d = 0;
                for (int l = 0; l < st.layers(); l++) d += st.density(l, m.config().ffnDim());
                return d / st.layers();
            });
        }
    }
}
