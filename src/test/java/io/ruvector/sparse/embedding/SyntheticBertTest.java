package io.ruvector.sparse.embedding;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufArray;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.quant.TensorTypes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Small random encoders written with {@link GgufWriter} (bert with CLS and LAST pooling, nomic-bert with MEAN),
 * embedded by {@link EmbeddingModel} and by a plain float64 forward pass written here from the architecture's
 * definition: the vectors must agree to float32 rounding. Also: batching and thread count change nothing,
 * truncation keeps [SEP] last, and bad files and use after close fail with a message.
 */
class SyntheticBertTest {

    static final int DIM = 48, LAYERS = 2, HEADS = 4, FFN = 96, CTX = 24;
    static final String[] VOCAB = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "\u2581the", "\u2581cat", "\u2581sat",
            "\u2581on", "\u2581mat", "s", "\u2581a", "\u2581.", "\u2581,", "\u2581dog", "\u2581runs", "ing", "\u2581fast"};
    static final List<String> TEXTS = List.of("The cat sat on the mat.", "A dog runs fast", "cats, dogs.", "",
            "the the the cat sat on a mat, running fast. the dog sat on the mat.");

    enum Variant {
        BERT_CLS("bert", Pooling.CLS), BERT_LAST("bert", Pooling.LAST), NOMIC_MEAN("nomic-bert", Pooling.MEAN);

        final String arch;
        final Pooling pooling;

        Variant(String arch, Pooling pooling) {
            this.arch = arch;
            this.pooling = pooling;
        }

        boolean rotary() { return arch.equals("nomic-bert"); }
    }

    /** The weights of one model, as written, by tensor name (ggml order: rows of {@code cols} values). */
    record Model(Path path, Map<String, float[]> t, Variant variant) {}

    static Model write(Path dir, Variant variant, long seed, int poolingCode) throws Exception {
        Random rnd = new Random(seed);
        Map<String, float[]> t = new HashMap<>();
        GgufWriter w = new GgufWriter();
        String a = variant.arch;
        w.putString("general.architecture", a);
        w.putU32(a + ".block_count", LAYERS);
        w.putU32(a + ".context_length", CTX);
        w.putU32(a + ".embedding_length", DIM);
        w.putU32(a + ".feed_forward_length", FFN);
        w.putU32(a + ".attention.head_count", HEADS);
        w.putF32(a + ".attention.layer_norm_epsilon", 1e-12f);
        w.putBool(a + ".attention.causal", false);
        w.putU32(a + ".pooling_type", poolingCode);
        if (variant.rotary()) w.putF32(a + ".rope.freq_base", 1000f);
        w.putString("tokenizer.ggml.model", "bert");
        w.putArray("tokenizer.ggml.tokens", GgufArray.ofStrings(VOCAB));
        w.putU32("tokenizer.ggml.bos_token_id", 2);
        w.putU32("tokenizer.ggml.seperator_token_id", 3);
        w.putU32("tokenizer.ggml.unknown_token_id", 1);
        w.putU32("tokenizer.ggml.padding_token_id", 0);
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_sep_token", true);
        add(w, t, rnd, "token_embd.weight", VOCAB.length, DIM, 1);
        add(w, t, rnd, "token_types.weight", 2, DIM, 0.5);
        if (!variant.rotary()) add(w, t, rnd, "position_embd.weight", CTX, DIM, 0.5);
        norm(w, t, rnd, "token_embd_norm");
        for (int l = 0; l < LAYERS; l++) {
            String p = "blk." + l + ".";
            if (variant.rotary()) {
                add(w, t, rnd, p + "attn_qkv.weight", 3 * DIM, DIM, 1 / Math.sqrt(DIM));
                add(w, t, rnd, p + "attn_output.weight", DIM, DIM, 1 / Math.sqrt(DIM));
                add(w, t, rnd, p + "ffn_gate.weight", FFN, DIM, 1 / Math.sqrt(DIM));
                add(w, t, rnd, p + "ffn_up.weight", FFN, DIM, 1 / Math.sqrt(DIM));
                add(w, t, rnd, p + "ffn_down.weight", DIM, FFN, 1 / Math.sqrt(FFN));
            } else {
                for (String m : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"}) {
                    add(w, t, rnd, p + m + ".weight", DIM, DIM, 1 / Math.sqrt(DIM));
                    add(w, t, rnd, p + m + ".bias", 1, DIM, 0.2);
                }
                add(w, t, rnd, p + "ffn_up.weight", FFN, DIM, 1 / Math.sqrt(DIM));
                add(w, t, rnd, p + "ffn_up.bias", 1, FFN, 0.2);
                add(w, t, rnd, p + "ffn_down.weight", DIM, FFN, 1 / Math.sqrt(FFN));
                add(w, t, rnd, p + "ffn_down.bias", 1, DIM, 0.2);
            }
            norm(w, t, rnd, p + "attn_output_norm");
            norm(w, t, rnd, p + "layer_output_norm");
        }
        Path path = dir.resolve(variant + "-" + poolingCode + ".gguf");
        w.write(path);
        return new Model(path, t, variant);
    }

    private static void add(GgufWriter w, Map<String, float[]> t, Random rnd, String name, int rows, int cols, double scale) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * scale);
        put(w, t, name, rows, cols, v);
    }

    private static void norm(GgufWriter w, Map<String, float[]> t, Random rnd, String prefix) {
        float[] g = new float[DIM];
        float[] b = new float[DIM];
        for (int i = 0; i < DIM; i++) {
            g[i] = (float) (1 + 0.2 * rnd.nextGaussian());
            b[i] = (float) (0.1 * rnd.nextGaussian());
        }
        put(w, t, prefix + ".weight", 1, DIM, g);
        put(w, t, prefix + ".bias", 1, DIM, b);
    }

    private static void put(GgufWriter w, Map<String, float[]> t, String name, int rows, int cols, float[] v) {
        long[] dims = rows == 1 ? new long[] {cols} : new long[] {cols, rows};
        w.addTensor(name, GgmlType.F32, dims, TensorTypes.encoded(GgmlType.F32, dims, v));
        t.put(name, v);
    }

    // ---------------------------------------------------------------- float64 reference

    /** The pooled, normalized embedding of {@code ids}, in double, from the definition of the architecture. */
    static double[] reference(Model m, int[] ids) {
        Map<String, float[]> t = m.t;
        boolean rotary = m.variant.rotary();
        int n = ids.length;
        int hd = DIM / HEADS;
        double[][] x = new double[n][DIM];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < DIM; j++) {
                x[i][j] = t.get("token_embd.weight")[ids[i] * DIM + j] + t.get("token_types.weight")[j]
                        + (rotary ? 0 : t.get("position_embd.weight")[i * DIM + j]);
            }
            x[i] = layerNorm(x[i], t, "token_embd_norm");
        }
        for (int l = 0; l < LAYERS; l++) {
            String p = "blk." + l + ".";
            double[][] q = new double[n][], k = new double[n][], v = new double[n][];
            for (int i = 0; i < n; i++) {
                if (rotary) {
                    double[] qkv = linear(t.get(p + "attn_qkv.weight"), null, x[i], 3 * DIM);
                    q[i] = java.util.Arrays.copyOfRange(qkv, 0, DIM);
                    k[i] = java.util.Arrays.copyOfRange(qkv, DIM, 2 * DIM);
                    v[i] = java.util.Arrays.copyOfRange(qkv, 2 * DIM, 3 * DIM);
                    rope(q[i], i, hd);
                    rope(k[i], i, hd);
                } else {
                    q[i] = linear(t.get(p + "attn_q.weight"), t.get(p + "attn_q.bias"), x[i], DIM);
                    k[i] = linear(t.get(p + "attn_k.weight"), t.get(p + "attn_k.bias"), x[i], DIM);
                    v[i] = linear(t.get(p + "attn_v.weight"), t.get(p + "attn_v.bias"), x[i], DIM);
                }
            }
            double[][] next = new double[n][];
            for (int i = 0; i < n; i++) {
                double[] att = new double[DIM];
                for (int h = 0; h < HEADS; h++) {
                    double[] s = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        for (int e = 0; e < hd; e++) s[j] += q[i][h * hd + e] * k[j][h * hd + e];
                        s[j] /= Math.sqrt(hd);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) sum += s[j] = Math.exp(s[j] - max);
                    for (int j = 0; j < n; j++) for (int e = 0; e < hd; e++) att[h * hd + e] += s[j] / sum * v[j][h * hd + e];
                }
                double[] o = linear(t.get(p + "attn_output.weight"), rotary ? null : t.get(p + "attn_output.bias"), att, DIM);
                for (int j = 0; j < DIM; j++) o[j] += x[i][j];
                double[] a = layerNorm(o, t, p + "attn_output_norm");
                double[] hidden;
                if (rotary) {
                    double[] g = linear(t.get(p + "ffn_gate.weight"), null, a, FFN);
                    double[] u = linear(t.get(p + "ffn_up.weight"), null, a, FFN);
                    hidden = new double[FFN];
                    for (int j = 0; j < FFN; j++) hidden[j] = g[j] / (1 + Math.exp(-g[j])) * u[j];
                } else {
                    hidden = linear(t.get(p + "ffn_up.weight"), t.get(p + "ffn_up.bias"), a, FFN);
                    for (int j = 0; j < FFN; j++) hidden[j] = 0.5 * hidden[j] * erfc(-hidden[j] / Math.sqrt(2));
                }
                double[] f = linear(t.get(p + "ffn_down.weight"), rotary ? null : t.get(p + "ffn_down.bias"), hidden, DIM);
                for (int j = 0; j < DIM; j++) f[j] += a[j];
                next[i] = layerNorm(f, t, p + "layer_output_norm");
            }
            x = next;
        }
        double[] out = new double[DIM];
        switch (m.variant.pooling) {
            case CLS -> out = x[0].clone();
            case LAST -> out = x[n - 1].clone();
            case MEAN -> {
                for (double[] row : x) for (int j = 0; j < DIM; j++) out[j] += row[j] / n;
            }
            default -> throw new AssertionError();
        }
        double norm = 0;
        for (double e : out) norm += e * e;
        for (int j = 0; j < DIM; j++) out[j] /= Math.sqrt(norm);
        return out;
    }

    private static double[] linear(float[] w, float[] b, double[] x, int rows) {
        int cols = x.length;
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = b == null ? 0 : b[r];
            for (int c = 0; c < cols; c++) s += (double) w[r * cols + c] * x[c];
            y[r] = s;
        }
        return y;
    }

    private static double[] layerNorm(double[] x, Map<String, float[]> t, String prefix) {
        double mean = 0, var = 0;
        for (double e : x) mean += e / x.length;
        for (double e : x) var += (e - mean) * (e - mean) / x.length;
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (x[i] - mean) / Math.sqrt(var + 1e-12) * t.get(prefix + ".weight")[i] + t.get(prefix + ".bias")[i];
        }
        return y;
    }

    /** NeoX rotation: dimension i of each head turns with i + hd/2 by pos * 1000^(-2i/hd). */
    private static void rope(double[] a, int pos, int hd) {
        for (int h = 0; h < HEADS; h++) {
            for (int i = 0; i < hd / 2; i++) {
                double th = pos * Math.pow(1000, -2.0 * i / hd);
                double x0 = a[h * hd + i], x1 = a[h * hd + i + hd / 2];
                a[h * hd + i] = x0 * Math.cos(th) - x1 * Math.sin(th);
                a[h * hd + i + hd / 2] = x0 * Math.sin(th) + x1 * Math.cos(th);
            }
        }
    }

    /** erfc to double precision (continued fraction / series), independent of the engine's fit. */
    private static double erfc(double x) {
        if (x < 0) return 2 - erfc(-x);
        if (x < 3) {   // erf series
            double sum = x, term = x;
            for (int n = 1; n < 200; n++) {
                term *= -x * x / n;
                sum += term / (2 * n + 1);
            }
            return 1 - 2 / Math.sqrt(Math.PI) * sum;
        }
        double f = 0;   // continued fraction, from the tail in
        for (int n = 60; n >= 1; n--) f = n / 2.0 / (x + f);
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
    }

    // ---------------------------------------------------------------- tests

    @ParameterizedTest
    @EnumSource(Variant.class)
    void matchesTheFloat64Forward(Variant variant, @TempDir Path dir) throws Exception {
        Model m = write(dir, variant, 42 + variant.ordinal(), variant.pooling.code());
        try (EmbeddingModel model = EmbeddingModel.open(m.path, EmbeddingOptions.defaults().withThreads(2))) {
            assertEquals(variant.pooling, model.pooling());
            assertEquals(DIM, model.dimension());
            List<float[]> got = model.embedAll(TEXTS);
            for (int i = 0; i < TEXTS.size(); i++) {
                int[] ids = model.tokenize(TEXTS.get(i));
                double[] want = reference(m, ids);
                float[] g = got.get(i);
                double maxDiff = 0;
                for (int j = 0; j < DIM; j++) maxDiff = Math.max(maxDiff, Math.abs(g[j] - want[j]));
                // unit vectors after 2 post-norm layers in float32: errors of a few 1e-7 per op, ~1e-6 overall
                assertTrue(maxDiff < 2e-5, variant + " text " + i + ": max |ours - float64| = " + maxDiff);
            }
        }
    }

    @Test
    void batchingAndThreadCountChangeNothing(@TempDir Path dir) throws Exception {
        Model m = write(dir, Variant.BERT_CLS, 7, Pooling.CLS.code());
        List<float[]> together;
        try (EmbeddingModel one = EmbeddingModel.open(m.path, EmbeddingOptions.defaults().withThreads(1))) {
            together = one.embedAll(TEXTS);
        }
        try (EmbeddingModel three = EmbeddingModel.open(m.path, EmbeddingOptions.defaults().withThreads(3))) {
            List<float[]> again = three.embedAll(TEXTS);
            for (int i = 0; i < TEXTS.size(); i++) {
                assertArrayEquals(together.get(i), again.get(i), "text " + i + " with 3 threads vs 1");
                float[] alone = three.embed(TEXTS.get(i));
                // one text alone takes other product kernels than a batch: float32 summation order only
                for (int j = 0; j < DIM; j++) assertEquals(together.get(i)[j], alone[j], 1e-5, "text " + i + " alone vs batched");
            }
        }
    }

    @Test
    void concurrentCallersGetTheirOwnResults(@TempDir Path dir) throws Exception {
        Model m = write(dir, Variant.NOMIC_MEAN, 9, Pooling.MEAN.code());
        try (EmbeddingModel model = EmbeddingModel.open(m.path, EmbeddingOptions.defaults().withThreads(2))) {
            List<float[]> want = model.embedAll(TEXTS);
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int c = 0; c < 4; c++) {
                int shift = c;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int r = 0; r < 20; r++) {
                            int i = (r + shift) % TEXTS.size();
                            assertArrayEquals(want.get(i), model.embedAll(List.of(TEXTS.get(i))).getFirst(), 1e-5f);
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread t : threads) t.join();
            assertEquals(List.of(), failures);
        }
    }

    @Test
    void truncatesAtMaxTokensKeepingTheSeparatorLast(@TempDir Path dir) throws Exception {
        Model m = write(dir, Variant.BERT_CLS, 3, Pooling.CLS.code());
        String longText = "the cat sat on the mat . ".repeat(10);
        try (EmbeddingModel model = EmbeddingModel.open(m.path, EmbeddingOptions.defaults().withThreads(1))) {
            int[] ids = model.tokenize(longText);
            assertEquals(CTX, ids.length);
            assertEquals(2, ids[0]);
            assertEquals(3, ids[CTX - 1]);
            assertEquals(DIM, model.embed(longText).length);
        }
        try (EmbeddingModel model = EmbeddingModel.open(m.path, EmbeddingOptions.defaults().withThreads(1).withMaxTokens(8))) {
            int[] ids = model.tokenize(longText);
            assertEquals(8, ids.length);
            assertEquals(3, ids[7]);
            assertArrayEquals(java.util.Arrays.copyOf(model.tokenizer().encode(longText), 7), java.util.Arrays.copyOf(ids, 7));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingModel.open(m.path, EmbeddingOptions.defaults().withMaxTokens(CTX + 1)));
        assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
    }

    @Test
    void refusesWhatItCannotEmbedAndUseAfterClose(@TempDir Path dir) throws Exception {
        Model none = write(dir, Variant.BERT_CLS, 5, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EmbeddingModel.open(none.path));
        assertTrue(e.getMessage().contains("pooling_type is none"), e.getMessage());
        Model rank = write(dir, Variant.BERT_LAST, 5, 4);
        e = assertThrows(IllegalArgumentException.class, () -> EmbeddingModel.open(rank.path));
        assertTrue(e.getMessage().contains("rank"), e.getMessage());

        Model m = write(dir, Variant.BERT_CLS, 5, Pooling.CLS.code());
        EmbeddingModel model = EmbeddingModel.open(m.path, EmbeddingOptions.defaults().withThreads(1));
        model.close();
        model.close();
        assertThrows(IllegalStateException.class, () -> model.embed("the cat"));
        assertThrows(IllegalStateException.class, () -> model.embedAll(List.of("the cat")));
    }

    @Test
    void refusesADecoder() {
        Path stories = io.ruvector.sparse.Fixtures.require("models/stories260K.gguf");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EmbeddingModel.open(stories));
        assertTrue(e.getMessage().contains("'llama' is not an embedding architecture"), e.getMessage());
    }
}
