package io.ruvector.sparse.embedding;

import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * An encoder's weights: matrices as zero-copy views of the mapped file, the small vectors (biases, LayerNorm
 * parameters, the token-type row) decoded to floats once.
 *
 * @param tokenEmbedding {@code token_embd.weight} [vocab x dim]
 * @param tokenType0     row 0 of {@code token_types.weight} (every text is "sentence A"), or null
 * @param positions      {@code position_embd.weight} [context x dim] (bert), or null (nomic-bert rotates instead)
 * @param embedNorm      LayerNorm after the embeddings ({@code token_embd_norm})
 * @param layers         one entry per block
 */
record BertWeights(Tensor tokenEmbedding, float[] tokenType0, Tensor positions, Norm embedNorm, List<Layer> layers) {

    /** LayerNorm parameters: {@code y = (x - mean) / sqrt(var + eps) * weight + bias}. */
    record Norm(float[] weight, float[] bias) {}

    /**
     * One block. Biases are null where the file has none (nomic-bert); {@code gate} is null for bert's plain
     * GELU feed-forward block.
     */
    record Layer(Tensor wq, Tensor wk, Tensor wv, float[] bq, float[] bk, float[] bv, Tensor wo, float[] bo,
                 Norm attnNorm, Tensor gate, Tensor up, float[] upBias, Tensor down, float[] downBias, Norm outNorm) {}

    /**
     * Views the weights of {@code file}.
     *
     * @throws IllegalArgumentException      naming a missing tensor or one of the wrong shape
     * @throws UnsupportedOperationException naming a tensor we would have to ignore, or one of a type we cannot read
     */
    static BertWeights load(GgufFile file, BertConfig c) {
        Loader l = new Loader(file);
        int d = c.dim();
        Tensor embd = l.matrix("token_embd.weight", c.vocabSize(), d);
        float[] type0 = null;
        if (file.tensor("token_types.weight").isPresent()) {
            TensorInfo info = file.requireTensor("token_types.weight");
            Tensor types = l.matrix("token_types.weight", (int) info.rows(), d);
            type0 = new float[d];
            types.dequantizeRow(0, type0, 0);
        }
        Tensor positions = c.rotary() ? null : l.matrix("position_embd.weight", c.contextLength(), d);
        Norm embedNorm = l.norm("token_embd_norm", d);
        List<Layer> layers = new ArrayList<>(c.layers());
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            Tensor wq, wk, wv;
            float[] bq, bk, bv;
            if (file.tensor(p + "attn_qkv.weight").isPresent()) {
                Tensor qkv = l.matrix(p + "attn_qkv.weight", 3 * d, d);
                wq = qkv.rowSlice(p + "attn_qkv.weight[q]", 0, d);
                wk = qkv.rowSlice(p + "attn_qkv.weight[k]", d, d);
                wv = qkv.rowSlice(p + "attn_qkv.weight[v]", 2 * d, d);
                float[] b = l.optionalVector(p + "attn_qkv.bias", 3 * d);
                bq = b == null ? null : Arrays.copyOfRange(b, 0, d);
                bk = b == null ? null : Arrays.copyOfRange(b, d, 2 * d);
                bv = b == null ? null : Arrays.copyOfRange(b, 2 * d, 3 * d);
            } else {
                wq = l.matrix(p + "attn_q.weight", d, d);
                wk = l.matrix(p + "attn_k.weight", d, d);
                wv = l.matrix(p + "attn_v.weight", d, d);
                bq = l.optionalVector(p + "attn_q.bias", d);
                bk = l.optionalVector(p + "attn_k.bias", d);
                bv = l.optionalVector(p + "attn_v.bias", d);
            }
            Tensor gate = c.rotary() ? l.matrix(p + "ffn_gate.weight", c.ffnDim(), d) : null;
            layers.add(new Layer(wq, wk, wv, bq, bk, bv,
                    l.matrix(p + "attn_output.weight", d, d), l.optionalVector(p + "attn_output.bias", d),
                    l.norm(p + "attn_output_norm", d),
                    gate, l.matrix(p + "ffn_up.weight", c.ffnDim(), d), l.optionalVector(p + "ffn_up.bias", c.ffnDim()),
                    l.matrix(p + "ffn_down.weight", d, c.ffnDim()), l.optionalVector(p + "ffn_down.bias", d),
                    l.norm(p + "layer_output_norm", d)));
        }
        l.refuseUnused(c.architecture());
        return new BertWeights(embd, type0, positions, embedNorm, layers);
    }

    /** Looks tensors up and checks their shapes, naming the tensor in every error. */
    private record Loader(GgufFile file, Set<String> used) {
        Loader(GgufFile file) { this(file, new HashSet<>()); }

        /** A tensor we do not read (a pooler, a classifier head) would change the result: refused by name. */
        void refuseUnused(String arch) {
            for (TensorInfo t : file.tensors()) {
                if (used.contains(t.name())) continue;
                throw new UnsupportedOperationException(file.name() + ": tensor " + t.name() + " is not part of the supported "
                        + arch + " layout (it would be ignored, giving wrong embeddings)");
            }
        }

        Tensor matrix(String name, int rows, int cols) {
            TensorInfo info = file.requireTensor(name);
            if (info.nDims() > 2 || info.rowLength() != cols || info.rows() != rows) {
                throw new IllegalArgumentException(file.name() + ": tensor " + name + " has shape "
                        + Arrays.toString(info.dims()) + ", expected [" + cols + ", " + rows + "]");
            }
            return view(info);
        }

        float[] vector(String name, int n) {
            TensorInfo info = file.requireTensor(name);
            if (info.elementCount() != n || info.rowLength() != n) {
                throw new IllegalArgumentException(file.name() + ": tensor " + name + " has shape "
                        + Arrays.toString(info.dims()) + ", expected [" + n + "]");
            }
            return view(info).toFloatArray();
        }

        float[] optionalVector(String name, int n) {
            return file.tensor(name).isPresent() ? vector(name, n) : null;
        }

        Norm norm(String prefix, int n) {
            return new Norm(vector(prefix + ".weight", n), vector(prefix + ".bias", n));
        }

        private Tensor view(TensorInfo info) {
            used.add(info.name());
            try {
                return Tensor.of(file, info);
            } catch (UnsupportedOperationException e) {
                throw new UnsupportedOperationException(file.name() + ": tensor " + info.name() + ": " + e.getMessage(), e);
            }
        }
    }
}
