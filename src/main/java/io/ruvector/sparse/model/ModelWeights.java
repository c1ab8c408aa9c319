package io.ruvector.sparse.model;

import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.tensor.Tensor;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Every weight of a model as zero-copy views of the mapped GGUF file, checked against the configuration.
 *
 * @param tokenEmbedding {@code token_embd.weight} [vocab x dim]
 * @param outputNorm     {@code output_norm.weight} [dim]
 * @param output         {@code output.weight} [vocab x dim], or {@code token_embd.weight} when tied
 * @param ropeFreqs      {@code rope_freqs.weight} [ropeDims / 2] (Llama 3.1 frequency factors) or null
 * @param ropeFactorsLong  {@code rope_factors_long.weight} [ropeDims / 2] (LongRoPE, for long sessions) or null
 * @param ropeFactorsShort {@code rope_factors_short.weight} [ropeDims / 2] (LongRoPE, otherwise) or null
 * @param layers         one entry per block
 */
public record ModelWeights(Tensor tokenEmbedding, Tensor outputNorm, Tensor output, Tensor ropeFreqs,
                           Tensor ropeFactorsLong, Tensor ropeFactorsShort, List<LayerWeights> layers) {

    public ModelWeights {
        layers = List.copyOf(layers);
    }

    /**
     * Views the weights of {@code file}.
     *
     * @throws IllegalArgumentException naming a missing tensor or one of the wrong shape
     * @throws UnsupportedOperationException naming a tensor type we cannot read
     */
    public static ModelWeights load(GgufFile file, ModelConfig c) {
        Loader l = new Loader(file);
        Tensor embd = l.matrix("token_embd.weight", c.vocabSize(), c.dim());
        Tensor outNorm = l.vector("output_norm.weight", c.dim());
        Tensor output = c.tiedOutput() ? embd : l.matrix("output.weight", c.vocabSize(), c.dim());
        Tensor ropeFreqs = c.hasRopeFreqs() ? l.vector("rope_freqs.weight", c.ropeDims() / 2) : null;
        boolean longRope = c.block().longRope() && !c.hasRopeFreqs()
                && (file.tensor("rope_factors_long.weight").isPresent() || file.tensor("rope_factors_short.weight").isPresent());
        // llama.cpp takes both when either is there; a file with one of them is malformed and refused by name
        Tensor ropeLong = longRope ? l.vector("rope_factors_long.weight", c.ropeDims() / 2) : null;
        Tensor ropeShort = longRope ? l.vector("rope_factors_short.weight", c.ropeDims() / 2) : null;
        List<LayerWeights> layers = new ArrayList<>(c.layers());
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            Tensor wq, wk, wv;
            if (c.block().fusedQkv() && file.tensor(p + "attn_qkv.weight").isPresent()) {
                // rows [q | k | v] of one matrix
                Tensor qkv = l.matrix(p + "attn_qkv.weight", c.qDim() + 2 * c.kvDim(), c.dim());
                wq = qkv.rowSlice(p + "attn_qkv.weight[q]", 0, c.qDim());
                wk = qkv.rowSlice(p + "attn_qkv.weight[k]", c.qDim(), c.kvDim());
                wv = qkv.rowSlice(p + "attn_qkv.weight[v]", c.qDim() + c.kvDim(), c.kvDim());
            } else {
                wq = l.matrix(p + "attn_q.weight", c.qDim(), c.dim());
                wk = l.matrix(p + "attn_k.weight", c.kvDim(), c.dim());
                wv = l.matrix(p + "attn_v.weight", c.kvDim(), c.dim());
            }
            Tensor gate, up;
            if (c.block().fusedGateUp() && file.tensor(p + "ffn_gate.weight").isEmpty()) {
                // rows [gate | up] of one matrix: y = down(act(gate . x) * (up . x))
                Tensor gateUp = l.matrix(p + "ffn_up.weight", 2 * c.ffnDim(), c.dim());
                gate = gateUp.rowSlice(p + "ffn_up.weight[gate]", 0, c.ffnDim());
                up = gateUp.rowSlice(p + "ffn_up.weight[up]", c.ffnDim(), c.ffnDim());
            } else {
                gate = c.gatedFfn() ? l.matrix(p + "ffn_gate.weight", c.ffnDim(), c.dim()) : null;
                up = l.matrix(p + "ffn_up.weight", c.ffnDim(), c.dim());
            }
            // PowerInfer's files store the down projection only transposed (one row per neuron, what its sparse
            // kernels read), next to its MLP neuron predictors: the block reads the transpose, and the predictors,
            // which do not change what the model computes, are left to the sparse feed-forward block.
            Tensor downT = file.tensor(p + "ffn_down.weight").isEmpty() && file.tensor(p + "ffn_down_t.weight").isPresent()
                    ? l.matrix(p + "ffn_down_t.weight", c.ffnDim(), c.dim()) : null;
            l.allow(p + "fc1.weight");
            l.allow(p + "fc2.weight");
            layers.add(new LayerWeights(
                    l.vector(p + "attn_norm.weight", c.dim()),
                    wq, wk, wv,
                    l.matrix(p + "attn_output.weight", c.dim(), c.qDim()),
                    c.qkvBias() ? l.vector(p + "attn_q.bias", c.qDim()) : null,
                    c.qkvBias() ? l.vector(p + "attn_k.bias", c.kvDim()) : null,
                    c.qkvBias() ? l.vector(p + "attn_v.bias", c.kvDim()) : null,
                    c.block().qkNorm() ? l.vector(p + "attn_q_norm.weight", c.headDim()) : null,
                    c.block().qkNorm() ? l.vector(p + "attn_k_norm.weight", c.headDim()) : null,
                    l.vector(p + "ffn_norm.weight", c.dim()),
                    gate, up,
                    downT == null ? l.matrix(p + "ffn_down.weight", c.dim(), c.ffnDim()) : null,
                    c.block().postNorms() ? l.vector(p + "post_attention_norm.weight", c.dim()) : null,
                    c.block().postNorms() ? l.vector(p + "post_ffw_norm.weight", c.dim()) : null,
                    downT));
        }
        l.refuseUnusedTensors();
        return new ModelWeights(embd, outNorm, output, ropeFreqs, ropeLong, ropeShort, layers);
    }

    /** Looks tensors up and checks their shapes, naming the tensor in every error. */
    private record Loader(GgufFile file, Set<String> used) {
        Loader(GgufFile file) { this(file, new HashSet<>()); }

        /**
         * A tensor we do not read (an output bias, a per-head norm, ...) would change the model's function:
         * ignoring it would give wrong logits, so it is refused by name instead.
         */
        void refuseUnusedTensors() {
            for (TensorInfo t : file.tensors()) {
                if (used.contains(t.name()) || t.name().endsWith(".attn_rot_embd")) continue;  // unused by llama.cpp too
                throw new UnsupportedOperationException(file.name() + ": tensor " + t.name()
                        + " is not part of the supported " + file.getString("general.architecture", "?")
                        + " layout (it would be ignored, giving wrong results)");
            }
        }

        /** Lets tensor {@code name} be in the file without being read here (when present). */
        void allow(String name) { used.add(name); }

        Tensor matrix(String name, int rows, int cols) {
            TensorInfo info = file.requireTensor(name);
            if (info.nDims() > 2 || info.rowLength() != cols || info.rows() != rows) {
                throw new IllegalArgumentException(file.name() + ": tensor " + name + " has shape "
                        + java.util.Arrays.toString(info.dims()) + ", expected [" + cols + ", " + rows + "]");
            }
            return view(info);
        }

        Tensor vector(String name, int n) {
            TensorInfo info = file.requireTensor(name);
            if (info.elementCount() != n || info.rowLength() != n) {
                throw new IllegalArgumentException(file.name() + ": tensor " + name + " has shape "
                        + java.util.Arrays.toString(info.dims()) + ", expected [" + n + "]");
            }
            return view(info);
        }

        private Tensor view(TensorInfo info) {
            used.add(info.name());
            try {
                return Tensor.of(file, info);
            } catch (UnsupportedOperationException e) {
                throw new UnsupportedOperationException(file.name() + ": tensor " + info.name() + ": "
                        + e.getMessage(), e);
            }
        }
    }
}
