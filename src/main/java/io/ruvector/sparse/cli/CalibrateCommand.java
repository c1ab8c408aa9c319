package io.ruvector.sparse.cli;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.sparse.Calibrator;
import io.ruvector.sparse.sparse.LayerReport;
import io.ruvector.sparse.sparse.PredictorTrainer;
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
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer calibrate}: runs the dense model over a calibration text, fits one activation predictor
 * per layer and writes the sparse sidecar (predictors, thresholds, neuron order, transposed down projections,
 * report) next to the model.
 */
@Command(name = "calibrate", mixinStandardHelpOptions = true,
        description = {"Fit per-layer activation predictors on a calibration text and write the sparse sidecar.",
                "Example: sparse-infer calibrate -m model.gguf --text calib.txt  (writes model.sparse.gguf)"})
public final class CalibrateCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "FILE", description = "GGUF model")
    private Path model;

    @Option(names = "--text", paramLabel = "FILE", description = "calibration text (UTF-8), tokenized with the model's tokenizer")
    private Path text;

    @Option(names = "--tokens", paramLabel = "FILE", description = "calibration token ids (separated by spaces, commas or newlines)")
    private Path tokensFile;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "sidecar to write (default: MODEL with .sparse.gguf)")
    private Path out;

    @Option(names = "--recall", defaultValue = "0.99", description = "target recall of firing neurons per layer (default ${DEFAULT-VALUE})")
    private double recall;

    @Option(names = "--density", defaultValue = "0.5",
            description = "for activations without exact zeros (SiLU, GeLU): fraction of neurons counted as firing (default ${DEFAULT-VALUE})")
    private double density;

    @Option(names = "--swiglu-sparsity", split = ",", paramLabel = "S",
            description = "also calibrate training-free gate selection (CATS) for these fractions of neurons skipped, "
                    + "e.g. 0.25,0.4,0.5: per layer the quantile S of |act(gate)| over the calibration samples")
    private float[] swigluSparsity;

    @Option(names = "--ranks", split = ",", paramLabel = "R", description = "candidate predictor ranks (default 16,32,64,96,128,192,256)")
    private int[] ranks;

    @Option(names = "--predictor-type", paramLabel = "TYPE", defaultValue = "q8_0",
            description = "storage of the predictors: q8_0, f16 or f32 (falls back when rows do not fit; default ${DEFAULT-VALUE})")
    private String predictorType;

    @Option(names = "--down-type", paramLabel = "TYPE",
            description = "type of the transposed down projection: auto (the model's if 8-bit or wider, else Q8_0), model, or a type name")
    private String downType = "auto";

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "0", description = "use at most N calibration tokens (0: all)")
    private int maxTokens;

    @Option(names = "--max-samples", paramLabel = "N", defaultValue = "4096", description = "FFN inputs kept per layer (default ${DEFAULT-VALUE})")
    private int maxSamples;

    @Option(names = "--sample-memory", paramLabel = "MB", defaultValue = "256", description = "memory for kept samples, all layers (default ${DEFAULT-VALUE} MB)")
    private long sampleMemoryMb;

    @Option(names = "--seq-len", paramLabel = "N", defaultValue = "256", description = "tokens per dense pass (default ${DEFAULT-VALUE})")
    private int sequenceLength;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "threads (default: all processors)")
    private Integer threads;

    @Option(names = "--seed", defaultValue = "1234", description = "seed of sampling and splits (default ${DEFAULT-VALUE})")
    private long seed;

    @Option(names = "--verbose", description = "show stack traces on errors")
    private boolean verbose;

    @Override
    public Integer call() throws IOException {
        if ((text == null) == (tokensFile == null)) throw new IllegalArgumentException("give exactly one of --text FILE or --tokens FILE");
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("model file not found: " + model);
        Path sidecar = out != null ? out : defaultSidecar(model);
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();

        ModelOptions mo = ModelOptions.defaults();
        if (threads != null) mo = mo.withThreads(threads);
        try (LanguageModel m = LanguageModel.open(model, mo)) {
            int bos = -1;
            int[] tokens;
            if (text != null) {
                Tokenizer tok = Tokenizer.fromGguf(m.gguf());
                tokens = tok.encode(Files.readString(text, StandardCharsets.UTF_8), false, false, false);
                bos = tok.addBosByDefault() ? tok.bosId() : -1;
            } else {
                tokens = readTokens(tokensFile);
            }
            if (maxTokens > 0 && tokens.length > maxTokens) tokens = Arrays.copyOf(tokens, maxTokens);
            for (int t : tokens) {
                if (t < 0 || t >= m.config().vocabSize()) {
                    throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + m.config().vocabSize() + ")");
                }
            }
            PredictorTrainer.Options fit = PredictorTrainer.Options.defaults().withTargetRecall(recall).withTargetDensity(density)
                    .withPredictorTypes(predictorTypes(predictorType));
            if (ranks != null) fit = fit.withRanks(ranks);
            Calibrator.requireDown(m);
            Calibrator.Options o = Calibrator.Options.defaults().withFit(fit).withMaxSamples(maxSamples)
                    .withSampleBytes(sampleMemoryMb << 20).withSequenceLength(sequenceLength)
                    .withDownType(downType(downType, m.weights().layers().get(0).down().ggmlType()));
            if (swigluSparsity != null) {
                float[] levels = swigluSparsity.clone();
                Arrays.sort(levels);
                o = o.withGateSparsity(levels);
            }
            err.printf(Locale.ROOT, "calibrating %s on %d tokens (%d layers, %d neurons per layer)%n",
                    model.getFileName(), tokens.length, m.config().layers(), m.config().ffnDim());
            long t0 = System.nanoTime();
            Calibrator.Result r = Calibrator.calibrate(m, tokens, bos, sidecar, o, new Bar(err));
            double seconds = (System.nanoTime() - t0) / 1e9;
            printReport(stdout, r.reports(), m.config().ffnDim());
            if (r.gate() != null) printGateThresholds(stdout, r.gate());
            long bytes = Files.size(sidecar);
            err.printf(Locale.ROOT, "wrote %s (%.1f MB) in %.1f s%n", sidecar, bytes / 1e6, seconds);
        }
        return 0;
    }

    static Path defaultSidecar(Path model) {
        String name = model.getFileName().toString();
        String base = name.endsWith(".gguf") ? name.substring(0, name.length() - 5) : name;
        return model.resolveSibling(base + ".sparse.gguf");
    }

    static GgmlType downType(String name, GgmlType model) {
        String n = name.trim().toUpperCase(Locale.ROOT);
        if (n.equals("AUTO")) return null;
        if (n.equals("MODEL")) return model;
        try {
            return GgmlType.valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown --down-type '" + name + "' (auto, model, or a type such as Q8_0, F16)");
        }
    }

    static List<GgmlType> predictorTypes(String name) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "q8_0" -> List.of(GgmlType.Q8_0, GgmlType.F16);
            case "f16" -> List.of(GgmlType.F16);
            case "f32" -> List.of(GgmlType.F32);
            default -> throw new IllegalArgumentException("predictor type must be q8_0, f16 or f32, not '" + name + "'");
        };
    }

    /** Token ids separated by whitespace, commas or brackets (the output of {@code tokenize} works). */
    static int[] readTokens(Path file) throws IOException {
        String s = Files.readString(file, StandardCharsets.UTF_8).replaceAll("[\\[\\],]", " ").trim();
        if (s.isEmpty()) throw new IllegalArgumentException(file + " holds no token ids");
        String[] parts = s.split("\\s+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(file + ": '" + parts[i] + "' (entry " + (i + 1) + ") is not a token id");
            }
        }
        return ids;
    }

    static void printReport(PrintWriter out, List<LayerReport> reports, int ffn) {
        out.println(LayerReport.header());
        double oracle = 0, pred = 0, recallTest = 0;
        long bytes = 0;
        for (LayerReport r : reports) {
            out.println(r.toRow());
            oracle += r.oracleDensity();
            pred += r.predictedDensity();
            recallTest += r.recallTest();
            bytes += r.predictorBytes();
        }
        int n = reports.size();
        out.printf(Locale.ROOT, "  all       %9s %8.4f %8.4f %8s %8.4f %10d%n", "", oracle / n, pred / n, "", recallTest / n, bytes);
        out.flush();
    }

    static void printGateThresholds(PrintWriter out, io.ruvector.sparse.sparse.GateThresholds g) {
        StringBuilder head = new StringBuilder("  layer  |act(gate)| threshold at sparsity");
        for (float s : g.sparsity()) head.append(String.format(Locale.ROOT, " %9.3f", s));
        out.println(head);
        for (int l = 0; l < g.layers(); l++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "  %5d %34s", l, ""));
            for (float t : g.threshold()[l]) row.append(String.format(Locale.ROOT, " %9.5f", t));
            out.println(row);
        }
        out.flush();
    }

    /** One progress line per phase on stderr, redrawn at most every 100 ms. */
    static final class Bar implements Calibrator.Progress {
        private static final int WIDTH = 30;
        private final PrintWriter err;
        private String phase;
        private long lastDraw;

        Bar(PrintWriter err) { this.err = err; }

        @Override
        public void update(String phase, long done, long total) {
            long now = System.nanoTime();
            boolean finished = done >= total;
            if (phase.equals(this.phase) && !finished && now - lastDraw < 100_000_000L) return;
            if (this.phase != null && !phase.equals(this.phase)) err.println();
            this.phase = phase;
            lastDraw = now;
            int filled = total <= 0 ? WIDTH : (int) (WIDTH * Math.min(done, total) / total);
            String unit = switch (phase) {
                case "record" -> "tokens";
                case "fit" -> "layers";
                default -> "bytes";
            };
            err.printf(Locale.ROOT, "\r%-6s [%s%s] %3d%% %d/%d %s", phase, "=".repeat(filled), " ".repeat(WIDTH - filled),
                    total <= 0 ? 100 : 100 * Math.min(done, total) / total, done, total, unit);
            if (finished && phase.equals("write")) err.println();
            err.flush();
        }
    }
}
