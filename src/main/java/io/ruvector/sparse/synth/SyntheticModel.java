package io.ruvector.sparse.synth;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufArray;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Writes synthetic llama-architecture models with random weights, for tests and for measuring speed at
 * real shapes without downloading real weights. The files load in llama.cpp.
 *
 * <p>Weights follow the recipe of the shared reference models: 2-D weights ~ N(0, 1/fan_in), RMSNorm
 * weights 1 + 0.1 N(0,1), {@code token_embd} ~ N(0,1), {@code output} ~ N(0, 9/dim) times a per-row
 * log-normal factor exp(0.4 N(0,1)) of unit RMS, so logits have a std of about 3 with a heavier upper tail
 * (with a tied output: token_embd ~ N(0, 0.75^2/dim) and the output norm times 4, as the qwen2 references).
 * Every 2-D weight is stored in {@link Options#weightType()} (quantized row by row with
 * {@link TensorTypes}), norms stay F32. Row {@code r} of tensor {@code name} comes from its own random
 * stream seeded by (seed, name, r): the file is the same whatever the number of threads.
 *
 * <p><b>ReLU models with planted sparsity</b> ({@link FfnActivation#RELU}): the FFN is
 * {@code down(relu(gate x) * up x)} (metadata {@code llama.feed_forward_activation = "relu"}) and about
 * {@link Options#activeFraction()} of the neurons fire per token, with power-law per-neuron frequencies as
 * in real ReLU LLMs (a fifth of the neurons account for ~80% of the firings), and predictable from a few
 * directions of the input (see {@link #GATE_RANK}). How: every token embedding
 * carries a constant component {@code alpha u} along one unit direction {@code u} (alpha = 0.5 sqrt(dim));
 * after RMSNorm every token's FFN input has nearly the same projection {@code m} on {@code u}, while the
 * rest varies. Gate row {@code j} is {@code v_j - b_j u} with {@code v_j} of variance 1/dim per element,
 * orthogonal to {@code u} (mostly in a per-layer subspace of {@link #GATE_RANK} directions), so its pre-activation is N(0, s^2) - b_j m and fires with probability Phi(-b_j m / s); b_j is
 * set to hit a target frequency p_j = pmax U^k (U uniform, k = 6, pmax = activeFraction (k+1)). The
 * residual projections ({@code attn_output}, {@code ffn_down}) are scaled by 1/sqrt(2 layers) so deeper
 * layers keep the pattern; a per-layer estimate of the residual growth corrects b_j. Layer 0 hits the
 * target closely (a test checks it); deeper layers approximately.
 */
public final class SyntheticModel {

    /** Feed-forward nonlinearity of the generated model. */
    public enum FfnActivation { SILU, RELU }

    /** Strength c of the planted direction: alpha = c sqrt(dim). */
    static final double PLANT_STRENGTH = 0.5;
    /**
     * Rank of the predictable part of each planted gate row: the random part of row j is
     * {@code sqrt(1 - GATE_NOISE^2) A_j B + GATE_NOISE z_j} with B a per-layer orthonormal basis of
     * GATE_RANK directions (orthogonal to u) and z_j full-rank noise, the same variance as a fully random
     * row. Real ReLU models fire predictably from a few directions of their input (what PowerInfer's and
     * Deja Vu's low-rank predictors exploit); a fully random gate would fire unpredictably, and no low-rank
     * predictor could then beat per-neuron frequencies.
     */
    static final int GATE_RANK = 32;
    /** Share of each planted gate row's random part (as a standard deviation) that is full-rank noise. */
    static final double GATE_NOISE = 0.1;
    /** Exponent k of the per-neuron frequency law p = pmax U^k. */
    static final double FREQUENCY_EXPONENT = 6;
    static final double MIN_NEURON_FREQUENCY = 1e-5;

    private SyntheticModel() {}

    /**
     * What to generate.
     *
     * @param name           label written as {@code general.name} ("synthetic-NAME")
     * @param dim            embedding length
     * @param layers         transformer blocks
     * @param ffn            feed-forward length
     * @param heads          attention heads
     * @param kvHeads        key/value heads (GQA when fewer than heads)
     * @param vocab          vocabulary size (see {@link SyntheticVocab})
     * @param context        context length written to the metadata
     * @param ropeBase       RoPE frequency base
     * @param normEps        RMSNorm epsilon
     * @param weightType     type of every 2-D weight (norms stay F32)
     * @param seed           random seed
     * @param activation     FFN activation; RELU plants the sparse firing pattern
     * @param activeFraction target mean fraction of FFN neurons firing per token (RELU only), in (0, 0.5]
     * @param tiedOutput     when true no {@code output.weight} is written (the output reuses token_embd)
     */
    public record Options(String name, int dim, int layers, int ffn, int heads, int kvHeads, int vocab, int context,
                          double ropeBase, double normEps, GgmlType weightType, long seed, FfnActivation activation,
                          double activeFraction, boolean tiedOutput) {

        public Options {
            if (name == null || name.isBlank()) throw new IllegalArgumentException("name must not be empty");
            positive("dim", dim);
            positive("layers", layers);
            positive("ffn", ffn);
            positive("heads", heads);
            positive("kv heads", kvHeads);
            positive("context", context);
            if (dim % heads != 0) throw new IllegalArgumentException("dim " + dim + " is not a multiple of heads " + heads);
            if (heads % kvHeads != 0) {
                throw new IllegalArgumentException("heads " + heads + " is not a multiple of kv heads " + kvHeads);
            }
            if ((dim / heads) % 2 != 0) throw new IllegalArgumentException("head dim " + dim / heads + " must be even (RoPE)");
            if (vocab < SyntheticVocab.MIN_SIZE) {
                throw new IllegalArgumentException("vocab must be at least " + SyntheticVocab.MIN_SIZE + ", not " + vocab);
            }
            if (!(ropeBase > 0) || !(normEps > 0)) throw new IllegalArgumentException("rope base and norm eps must be > 0");
            if (weightType == null || activation == null) throw new IllegalArgumentException("weight type and activation are required");
            if (!(activeFraction > 0 && activeFraction <= 0.5)) {
                throw new IllegalArgumentException("active fraction must be in (0, 0.5], not " + activeFraction);
            }
        }

        private static void positive(String what, int v) {
            if (v <= 0) throw new IllegalArgumentException(what + " must be positive, not " + v);
        }

        /** Names of the presets: {@code tiny}, {@code tl1b} (TinyLlama-1.1B shape), {@code 7b2l} (two Llama-2-7B layers). */
        public static List<String> presets() { return List.of("tiny", "tl1b", "7b2l"); }

        /**
         * A preset (F32, seed 42, SiLU): {@code tiny} dim 256, 2 layers, ffn 768, 8 heads, 2 kv heads, vocab
         * 1024 (every row a multiple of 256, so every type fits); {@code tl1b} dim 2048, 22 layers, ffn
         * 5632, 32 heads, 4 kv heads, vocab 32000; {@code 7b2l} dim 4096, 2 layers, ffn 11008, 32 heads,
         * 32 kv heads, vocab 32000.
         */
        public static Options preset(String preset) {
            return switch (preset.toLowerCase(Locale.ROOT)) {
                case "tiny" -> new Options("tiny", 256, 2, 768, 8, 2, 1024, 256, 10000, 1e-5, GgmlType.F32, 42,
                        FfnActivation.SILU, 0.1, false);
                case "tl1b" -> new Options("tl1b", 2048, 22, 5632, 32, 4, 32000, 2048, 10000, 1e-5, GgmlType.F32, 42,
                        FfnActivation.SILU, 0.1, false);
                case "7b2l" -> new Options("7b2l", 4096, 2, 11008, 32, 32, 32000, 4096, 10000, 1e-5, GgmlType.F32, 42,
                        FfnActivation.SILU, 0.1, false);
                default -> throw new IllegalArgumentException("unknown preset '" + preset + "' (known: " + presets() + ")");
            };
        }

        public Options withWeightType(GgmlType t) {
            return new Options(name, dim, layers, ffn, heads, kvHeads, vocab, context, ropeBase, normEps, t, seed,
                    activation, activeFraction, tiedOutput);
        }

        public Options withSeed(long s) {
            return new Options(name, dim, layers, ffn, heads, kvHeads, vocab, context, ropeBase, normEps, weightType, s,
                    activation, activeFraction, tiedOutput);
        }

        public Options withActivation(FfnActivation a, double fraction) {
            return new Options(name, dim, layers, ffn, heads, kvHeads, vocab, context, ropeBase, normEps, weightType, seed,
                    a, fraction, tiedOutput);
        }

        /** The same options with other shape values (name, dim, layers, ffn, heads, kv heads, vocab, context). */
        public Options withShape(String n, int d, int l, int f, int h, int kv, int v, int ctx) {
            return new Options(n, d, l, f, h, kv, v, ctx, ropeBase, normEps, weightType, seed, activation,
                    activeFraction, tiedOutput);
        }

        public Options withTiedOutput(boolean tied) {
            return new Options(name, dim, layers, ffn, heads, kvHeads, vocab, context, ropeBase, normEps, weightType, seed,
                    activation, activeFraction, tied);
        }

        public int headDim() { return dim / heads; }

        public int kvDim() { return headDim() * kvHeads; }

        /** Number of weights in the model. */
        public long parameterCount() {
            long perLayer = 2L * dim + (long) dim * dim * 2 + 2L * dim * kvDim() + 3L * dim * ffn;
            return (long) vocab * dim * (tiedOutput ? 1 : 2) + dim + perLayer * layers;
        }
    }

    /** Writes the model to {@code out} (replacing it). */
    public static void write(Options o, Path out, Parallel pool, GgufWriter.Progress progress) throws IOException {
        declare(o, pool).progress(progress).write(out);
    }

    /**
     * A writer with the model's metadata and tensors declared (nothing generated yet): generation and
     * quantization run on {@code pool} while the file is written. Callers may add metadata first.
     *
     * @throws IllegalArgumentException naming the type when it cannot be written (no quantizer yet, or
     *                                  rows that are not whole blocks)
     */
    public static GgufWriter declare(Options o, Parallel pool) { return declare(o, pool, false); }

    /**
     * A writer like {@link #declare}'s, but each matrix repeats one quantized row: quick to make, with every
     * shape and type of the real thing, for running code paths (e.g. to let the JIT compile kernels), not for
     * its output.
     */
    public static GgufWriter declareRepeatedRows(Options o, Parallel pool) { return declare(o, pool, true); }

    private static GgufWriter declare(Options o, Parallel pool, boolean repeatRows) {
        checkWritable(o);
        GgufWriter w = new GgufWriter().alignment(32);
        w.putString("general.architecture", "llama");
        w.putString("general.name", "synthetic-" + o.name());
        w.putU32("general.file_type", fileType(o.weightType()));
        if (o.weightType() != GgmlType.F32 && o.weightType() != GgmlType.F16 && o.weightType() != GgmlType.BF16) {
            w.putU32("general.quantization_version", 2);
        }
        w.putU32("llama.vocab_size", o.vocab());
        w.putU32("llama.context_length", o.context());
        w.putU32("llama.embedding_length", o.dim());
        w.putU32("llama.block_count", o.layers());
        w.putU32("llama.feed_forward_length", o.ffn());
        w.putU32("llama.attention.head_count", o.heads());
        w.putU32("llama.attention.head_count_kv", o.kvHeads());
        w.putU32("llama.rope.dimension_count", o.headDim());
        w.putF32("llama.attention.layer_norm_rms_epsilon", (float) o.normEps());
        w.putF32("llama.rope.freq_base", (float) o.ropeBase());
        if (o.activation() == FfnActivation.RELU) {
            w.putString("llama.feed_forward_activation", "relu");
            w.putF32("synth.active_fraction", (float) o.activeFraction());
            w.putU32("synth.gate_rank", Math.min(GATE_RANK, o.dim() - 1));
            w.putF32("synth.gate_noise", (float) GATE_NOISE);
        }
        w.putU64("synth.seed", o.seed());
        SyntheticVocab v = SyntheticVocab.llama(o.vocab());
        w.putString("tokenizer.ggml.model", "llama");
        w.putArray("tokenizer.ggml.tokens", GgufArray.ofStrings(v.tokens()));
        w.putArray("tokenizer.ggml.scores", GgufArray.ofFloats(v.scores()));
        w.putArray("tokenizer.ggml.token_type", GgufArray.ofInts(v.types()));
        w.putU32("tokenizer.ggml.unknown_token_id", SyntheticVocab.UNK);
        w.putU32("tokenizer.ggml.bos_token_id", SyntheticVocab.BOS);
        w.putU32("tokenizer.ggml.eos_token_id", SyntheticVocab.EOS);
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_eos_token", false);

        Generator g = new Generator(o);
        GgmlType t = o.weightType();
        MatrixWriter matrix = repeatRows ? SyntheticModel::repeatedRowMatrix : SyntheticModel::matrix;
        matrix.add(w, pool, "token_embd.weight", t, o.dim(), o.vocab(), g::tokenEmbedding);
        for (int l = 0; l < o.layers(); l++) {
            String p = "blk." + l + ".";
            int layer = l;
            w.addTensor(p + "attn_norm.weight", GgmlType.F32, new long[] {o.dim()}, TensorTypes.encoded(GgmlType.F32, new long[] {o.dim()}, g.norm(p + "attn_norm.weight")));
            matrix.add(w, pool, p + "attn_q.weight", t, o.dim(), o.dim(), g.gaussian(p + "attn_q.weight", 1 / Math.sqrt(o.dim())));
            matrix.add(w, pool, p + "attn_k.weight", t, o.dim(), o.kvDim(), g.gaussian(p + "attn_k.weight", 1 / Math.sqrt(o.dim())));
            matrix.add(w, pool, p + "attn_v.weight", t, o.dim(), o.kvDim(), g.gaussian(p + "attn_v.weight", 1 / Math.sqrt(o.dim())));
            matrix.add(w, pool, p + "attn_output.weight", t, o.dim(), o.dim(),
                    g.gaussian(p + "attn_output.weight", g.residualScale / Math.sqrt(o.dim())));
            w.addTensor(p + "ffn_norm.weight", GgmlType.F32, new long[] {o.dim()}, TensorTypes.encoded(GgmlType.F32, new long[] {o.dim()}, g.norm(p + "ffn_norm.weight")));
            matrix.add(w, pool, p + "ffn_gate.weight", t, o.dim(), o.ffn(), o.activation() == FfnActivation.RELU
                    ? g.plantedGate(layer) : g.gaussian(p + "ffn_gate.weight", 1 / Math.sqrt(o.dim())));
            matrix.add(w, pool, p + "ffn_up.weight", t, o.dim(), o.ffn(), g.gaussian(p + "ffn_up.weight", 1 / Math.sqrt(o.dim())));
            matrix.add(w, pool, p + "ffn_down.weight", t, o.ffn(), o.dim(),
                    g.gaussian(p + "ffn_down.weight", g.residualScale / Math.sqrt(o.ffn())));
        }
        w.addTensor("output_norm.weight", GgmlType.F32, new long[] {o.dim()}, TensorTypes.encoded(GgmlType.F32, new long[] {o.dim()}, g.norm("output_norm.weight")));
        if (!o.tiedOutput()) matrix.add(w, pool, "output.weight", t, o.dim(), o.vocab(), g::outputRow);
        return w;
    }

    /** llama.cpp's {@code general.file_type} for a model whose 2-D weights are all {@code t}. */
    public static int fileType(GgmlType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q2_K -> 10;
            case Q3_K -> 11; // Q3_K_S
            case Q4_K -> 14; // Q4_K_S
            case Q5_K -> 16; // Q5_K_S
            case Q6_K -> 18;
            case IQ4_NL -> 25;
            case IQ4_XS -> 30;
            case BF16 -> 32;
            case TQ1_0 -> 36;
            case TQ2_0 -> 37;
            default -> throw new IllegalArgumentException("synthetic models cannot be written in " + t);
        };
    }

    private static void checkWritable(Options o) {
        GgmlType t = o.weightType();
        fileType(t);
        if (!TensorTypes.isSupported(t)) {
            throw new IllegalArgumentException("tensor type " + t + " is not supported yet: it has no implementation in TensorTypes");
        }
        int[] rowLengths = {o.dim(), o.ffn()};
        for (int n : rowLengths) {
            if (n % t.blockSize() != 0) {
                throw new IllegalArgumentException("a row of " + n + " values is not a whole number of " + t
                        + " blocks of " + t.blockSize() + " (dim and ffn must be multiples of " + t.blockSize() + ")");
            }
        }
        // Fail now, naming the type, rather than deep inside a worker thread.
        try (Arena arena = Arena.ofConfined()) {
            TensorTypes.of(t).quantize(new float[t.blockSize()], 0, arena.allocate(t.blockBytes()), 0, t.blockSize());
        } catch (UnsupportedOperationException e) {
            throw new IllegalArgumentException("tensor type " + t + " has no quantizer yet: " + e.getMessage(), e);
        }
    }

    /** Fills row {@code row} of a matrix. */
    @FunctionalInterface
    interface RowSource {
        void fill(int row, float[] out);
    }

    @FunctionalInterface
    private interface MatrixWriter {
        void add(GgufWriter w, Parallel pool, String name, GgmlType type, int cols, int rows, RowSource src);
    }

    /** Declares a [cols, rows] matrix whose every row is {@code src}'s row 0, quantized once. */
    private static void repeatedRowMatrix(GgufWriter w, Parallel pool, String name, GgmlType type, int cols, int rows, RowSource src) {
        TensorType tt = TensorTypes.of(type);
        long rowBytes = type.bytesFor(cols);
        w.addTensor(name, type, new long[] {cols, rows}, dst -> {
            float[] buf = new float[cols];
            src.fill(0, buf);
            tt.quantize(buf, 0, dst, 0, cols);
            for (int r = 1; r < rows; r++) MemorySegment.copy(dst, 0, dst, r * rowBytes, rowBytes);
        });
    }

    /** Declares a [cols, rows] matrix generated and quantized row by row on the pool. */
    private static void matrix(GgufWriter w, Parallel pool, String name, GgmlType type, int cols, int rows, RowSource src) {
        TensorType tt = TensorTypes.of(type);
        long rowBytes = type.bytesFor(cols);
        w.addTensor(name, type, new long[] {cols, rows}, dst -> pool.forRange(rows, (from, to) -> {
            float[] buf = new float[cols];
            for (int r = from; r < to; r++) {
                src.fill(r, buf);
                tt.quantize(buf, 0, dst, r * rowBytes, cols);
            }
        }));
    }

    /** The random streams and the planted-sparsity geometry. */
    static final class Generator {
        final Options o;
        /** Scale of the residual projections: 1, or 1/sqrt(2 layers) for planted ReLU models. */
        final double residualScale;
        /** Unit direction u of the planted component (RELU only). */
        final double[] direction;

        Generator(Options o) {
            this.o = o;
            boolean relu = o.activation() == FfnActivation.RELU;
            this.residualScale = relu ? 1 / Math.sqrt(2.0 * o.layers()) : 1;
            this.direction = relu ? unitDirection(o) : null;
        }

        private static double[] unitDirection(Options o) {
            SplittableRandom r = rowRandom(tensorSeed(o.seed(), "synth.direction"), 0);
            double[] u = new double[o.dim()];
            double norm = 0;
            for (int i = 0; i < u.length; i++) {
                u[i] = r.nextGaussian();
                norm += u[i] * u[i];
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < u.length; i++) u[i] /= norm;
            return u;
        }

        RowSource gaussian(String name, double std) {
            long ts = tensorSeed(o.seed(), name);
            return (row, out) -> {
                SplittableRandom r = rowRandom(ts, row);
                for (int i = 0; i < out.length; i++) out[i] = (float) (std * r.nextGaussian());
            };
        }

        /** 1 + 0.1 N(0,1); the output norm of a tied-output model 4 times that. */
        float[] norm(String name) {
            SplittableRandom r = rowRandom(tensorSeed(o.seed(), name), 0);
            double scale = o.tiedOutput() && name.equals("output_norm.weight") ? 4 : 1;
            float[] w = new float[o.dim()];
            for (int i = 0; i < w.length; i++) w[i] = (float) (scale * (1 + 0.1 * r.nextGaussian()));
            return w;
        }

        /**
         * N(0,1), or N(0, 0.75^2/dim) when the output is tied to it (so logits keep a std of about 3; the
         * output norm makes up the scale); for planted models made orthogonal to u, plus alpha u.
         */
        void tokenEmbedding(int row, float[] out) {
            SplittableRandom r = rowRandom(tensorSeed(o.seed(), "token_embd.weight"), row);
            double std = o.tiedOutput() ? 0.75 / Math.sqrt(o.dim()) : 1;
            if (direction == null) {
                for (int i = 0; i < out.length; i++) out[i] = (float) (std * r.nextGaussian());
                return;
            }
            double[] z = new double[out.length];
            for (int i = 0; i < z.length; i++) z[i] = r.nextGaussian();
            double along = dot(z, direction);
            double alpha = PLANT_STRENGTH * Math.sqrt(o.dim());
            for (int i = 0; i < out.length; i++) out[i] = (float) (std * (z[i] + (alpha - along) * direction[i]));
        }

        /** N(0, 9/dim) times exp(0.4 g - 0.16): a log-normal row factor of unit RMS. */
        void outputRow(int row, float[] out) {
            SplittableRandom r = rowRandom(tensorSeed(o.seed(), "output.weight"), row);
            double std = 3 / Math.sqrt(o.dim()) * Math.exp(0.4 * r.nextGaussian() - 0.16);
            for (int i = 0; i < out.length; i++) out[i] = (float) (std * r.nextGaussian());
        }

        /**
         * Target firing frequency of neuron {@code j} of {@code layer}: pmax U^k, mean = activeFraction.
         */
        double neuronFrequency(int layer, int j) {
            double k = Math.min(FREQUENCY_EXPONENT, 0.95 / o.activeFraction() - 1);
            double pmax = o.activeFraction() * (k + 1);
            double u = rowRandom(tensorSeed(o.seed(), "blk." + layer + ".ffn_gate.frequency"), j).nextDouble();
            return Math.max(MIN_NEURON_FREQUENCY, pmax * Math.pow(u, k));
        }

        /**
         * Estimated growth of the residual's variance (beyond the token embedding's) at the FFN input of
         * {@code layer}: each attention block adds about residualScale^2 per element (exactly that for a
         * lone token), each FFN a little more.
         */
        double residualGrowth(int layer) {
            return residualScale * residualScale * (layer + 1 + 0.05 * layer);
        }

        RowSource plantedGate(int layer) {
            long ts = tensorSeed(o.seed(), "blk." + layer + ".ffn_gate.weight");
            double std = 1 / Math.sqrt(o.dim());
            double scale = Math.sqrt(1 + residualGrowth(layer)) / (PLANT_STRENGTH * Math.sqrt(o.dim()));
            double[][] basis = gateBasis(layer);
            int rank = basis.length;
            double lowRank = Math.sqrt(1 - GATE_NOISE * GATE_NOISE) * Math.sqrt((double) o.dim() / rank);
            return (row, out) -> {
                SplittableRandom r = rowRandom(ts, row);
                double[] v = new double[out.length];
                for (int i = 0; i < v.length; i++) v[i] = GATE_NOISE * std * r.nextGaussian();
                for (double[] b : basis) {
                    double a = lowRank * std * r.nextGaussian();
                    for (int i = 0; i < v.length; i++) v[i] += a * b[i];
                }
                double along = dot(v, direction);
                double b = -Normal.inverseCdf(neuronFrequency(layer, row)) * scale;
                for (int i = 0; i < out.length; i++) out[i] = (float) (v[i] - (along + b) * direction[i]);
            };
        }

        /** GATE_RANK orthonormal directions, orthogonal to u, drawn for one layer. */
        double[][] gateBasis(int layer) {
            int rank = Math.min(GATE_RANK, o.dim() - 1);
            SplittableRandom r = rowRandom(tensorSeed(o.seed(), "blk." + layer + ".ffn_gate.basis"), 0);
            double[][] basis = new double[rank][];
            for (int k = 0; k < rank; k++) {
                double[] b = new double[o.dim()];
                for (int i = 0; i < b.length; i++) b[i] = r.nextGaussian();
                for (int pass = 0; pass < 2; pass++) {
                    subtract(b, direction);
                    for (int j = 0; j < k; j++) subtract(b, basis[j]);
                }
                double norm = Math.sqrt(dot(b, b));
                for (int i = 0; i < b.length; i++) b[i] /= norm;
                basis[k] = b;
            }
            return basis;
        }

        /** b -= (b . unit) unit. */
        private static void subtract(double[] b, double[] unit) {
            double p = dot(b, unit);
            for (int i = 0; i < b.length; i++) b[i] -= p * unit[i];
        }

        private static double dot(double[] a, double[] b) {
            double s = 0;
            for (int i = 0; i < a.length; i++) s += a[i] * b[i];
            return s;
        }
    }

    /** Seed of a tensor's streams: a hash of the model seed and the tensor name. */
    static long tensorSeed(long seed, String name) {
        long h = mix(seed);
        for (int i = 0; i < name.length(); i++) h = mix(h ^ name.charAt(i));
        return h;
    }

    /** The random stream of one row. */
    static SplittableRandom rowRandom(long tensorSeed, int row) {
        return new SplittableRandom(mix(tensorSeed ^ mix(row + 0x9E3779B97F4A7C15L)));
    }

    /** SplitMix64 finalizer: a bijective 64-bit mix. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The standard normal distribution, to the accuracy planting needs (about 1e-7 absolute). */
    static final class Normal {
        private Normal() {}

        /** P(Z <= x), from the Abramowitz-Stegun 7.1.26 approximation of erf. */
        static double cdf(double x) {
            double z = Math.abs(x) / Math.sqrt(2);
            double t = 1 / (1 + 0.3275911 * z);
            double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
            double tail = 0.5 * poly * Math.exp(-z * z); // P(Z > |x|), computed directly: no cancellation
            return x >= 0 ? 1 - tail : tail;
        }

        /** The x with cdf(x) = p, by bisection. */
        static double inverseCdf(double p) {
            if (!(p > 0 && p < 1)) throw new IllegalArgumentException("probability must be in (0, 1), not " + p);
            double lo = -12, hi = 12;
            for (int i = 0; i < 80; i++) {
                double mid = 0.5 * (lo + hi);
                if (cdf(mid) < p) lo = mid;
                else hi = mid;
            }
            return 0.5 * (lo + hi);
        }
    }

    /** Tensor names of the model in file order (for tests and tools). */
    public static List<String> tensorNames(Options o) {
        List<String> names = new ArrayList<>();
        names.add("token_embd.weight");
        for (int l = 0; l < o.layers(); l++) {
            for (String s : List.of("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate",
                    "ffn_up", "ffn_down")) {
                names.add("blk." + l + "." + s + ".weight");
            }
        }
        names.add("output_norm.weight");
        if (!o.tiedOutput()) names.add("output.weight");
        return names;
    }
}
