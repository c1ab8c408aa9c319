package io.ruvector.sparse.sparse;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.quant.TensorTypes;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/**
 * Small llama-architecture GGUF models for tests, written with our writer. Token embeddings live near a
 * low-dimensional subspace plus a constant direction that every gate row reads with a negative weight, so with
 * a ReLU activation each neuron fires for a minority of tokens (frequencies spread over neurons) and the
 * firing is predictable from a few directions of the input, as in real ReLU models.
 */
public final class TinyModels {

    public record Shape(int dim, int layers, int ffn, int heads, int kvHeads, int vocab, int latent) {}

    public static final Shape SMALL = new Shape(128, 2, 512, 4, 2, 256, 12);

    private TinyModels() {}

    public static Path write(Path path, Shape s, GgmlType type, String activation, long seed) throws IOException {
        Random r = new Random(seed);
        int d = s.dim();
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "llama");
        w.putString("general.name", "tiny-test");
        w.putU32("llama.context_length", 256);
        w.putU32("llama.embedding_length", d);
        w.putU32("llama.block_count", s.layers());
        w.putU32("llama.feed_forward_length", s.ffn());
        w.putU32("llama.attention.head_count", s.heads());
        w.putU32("llama.attention.head_count_kv", s.kvHeads());
        w.putF32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        w.putString("llama.feed_forward_activation", activation);

        float[] constant = new float[d];
        for (int i = 0; i < d; i++) constant[i] = r.nextBoolean() ? 1f : -1f;
        float[] basis = gaussian(r, s.latent() * d, 1.0);
        float[] embd = new float[s.vocab() * d];
        for (int t = 0; t < s.vocab(); t++) {
            for (int k = 0; k < s.latent(); k++) {
                float coef = (float) (r.nextGaussian() / Math.sqrt(s.latent()));
                for (int i = 0; i < d; i++) embd[t * d + i] += coef * basis[k * d + i];
            }
            for (int i = 0; i < d; i++) embd[t * d + i] += 1.5f * constant[i] + (float) (0.05 * r.nextGaussian());
        }
        w.addTensor("token_embd.weight", type, new long[]{d, s.vocab()}, TensorTypes.encoded(type, new long[]{d, s.vocab()}, embd));
        w.addTensor("output_norm.weight", GgmlType.F32, new long[]{d}, TensorTypes.encoded(GgmlType.F32, new long[]{d}, ones(d)));
        w.addTensor("output.weight", type, new long[]{d, s.vocab()}, TensorTypes.encoded(type, new long[]{d, s.vocab()}, gaussian(r, s.vocab() * d, 1.0 / Math.sqrt(d))));
        int headDim = d / s.heads(), kvDim = headDim * s.kvHeads();
        for (int l = 0; l < s.layers(); l++) {
            String p = "blk." + l + ".";
            w.addTensor(p + "attn_norm.weight", GgmlType.F32, new long[]{d}, TensorTypes.encoded(GgmlType.F32, new long[]{d}, ones(d)));
            w.addTensor(p + "attn_q.weight", type, new long[]{d, d}, TensorTypes.encoded(type, new long[]{d, d}, gaussian(r, d * d, 1.0 / Math.sqrt(d))));
            w.addTensor(p + "attn_k.weight", type, new long[]{d, kvDim}, TensorTypes.encoded(type, new long[]{d, kvDim}, gaussian(r, kvDim * d, 1.0 / Math.sqrt(d))));
            w.addTensor(p + "attn_v.weight", type, new long[]{d, kvDim}, TensorTypes.encoded(type, new long[]{d, kvDim}, gaussian(r, kvDim * d, 1.0 / Math.sqrt(d))));
            w.addTensor(p + "attn_output.weight", type, new long[]{d, d}, TensorTypes.encoded(type, new long[]{d, d}, gaussian(r, d * d, 0.1 / Math.sqrt(d))));
            w.addTensor(p + "ffn_norm.weight", GgmlType.F32, new long[]{d}, TensorTypes.encoded(GgmlType.F32, new long[]{d}, ones(d)));
            float[] gate = gaussian(r, s.ffn() * d, 1.0 / Math.sqrt(d));
            for (int i = 0; i < s.ffn(); i++) {
                double u = r.nextDouble();
                double bias = 0.9 + 1.6 * u * u; // a spread of firing frequencies, most neurons rare
                for (int j = 0; j < d; j++) gate[i * d + j] -= (float) (bias * constant[j] / d);
            }
            w.addTensor(p + "ffn_gate.weight", type, new long[]{d, s.ffn()}, TensorTypes.encoded(type, new long[]{d, s.ffn()}, gate));
            w.addTensor(p + "ffn_up.weight", type, new long[]{d, s.ffn()}, TensorTypes.encoded(type, new long[]{d, s.ffn()}, gaussian(r, s.ffn() * d, 1.0 / Math.sqrt(d))));
            w.addTensor(p + "ffn_down.weight", type, new long[]{s.ffn(), d}, TensorTypes.encoded(type, new long[]{s.ffn(), d}, gaussian(r, d * s.ffn(), 0.3 / Math.sqrt(s.ffn()))));
        }
        w.write(path);
        return path;
    }

    static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    static float[] gaussian(Random r, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * std);
        return v;
    }

    public static int[] randomTokens(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }
}
