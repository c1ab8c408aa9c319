package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufArray;
import io.ruvector.sparse.gguf.GgufValueType;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a sparse sidecar in our layout (see {@link SparseSidecar}), atomically: a temporary file in the same
 * directory, forced to disk, then renamed over the target. The transposed down projections are produced while
 * the file is written, one layer at a time, straight into the mapped output.
 */
public final class SidecarWriter {

    /**
     * What the sidecar says about the whole model.
     *
     * @param architecture  the model's {@code general.architecture}
     * @param dim           embedding length
     * @param ffnDim        FFN hidden length
     * @param fingerprint   {@link ModelFingerprint} of the model
     * @param activation    the FFN activation calibrated for
     * @param targetRecall  recall the thresholds were set for
     * @param targetDensity density counted as firing for activations without exact zeros
     * @param tokens        calibration tokens observed
     * @param samples       samples per layer the predictors were fitted on (train + validation + test)
     * @param gate          thresholds of training-free gate selection, or null for none
     */
    public record Header(String architecture, int dim, int ffnDim, String fingerprint, ActivationType activation,
                         double targetRecall, double targetDensity, long tokens, int samples, GateThresholds gate) {}

    /**
     * One layer.
     *
     * @param predictor  the fitted predictor (with its threshold)
     * @param frequency  per-neuron firing frequency
     * @param report     calibration figures
     * @param down       the model's {@code ffn_down} ({@code dim x ffn}), transposed into {@code ffn_down_t}
     * @param downTType  stored type of {@code ffn_down_t}
     */
    public record Layer(LowRankPredictor predictor, float[] frequency, LayerReport report, Tensor down, GgmlType downTType) {}

    private SidecarWriter() {}

    /**
     * The type {@code ffn_down_t} gets by default: the model's own when re-encoding the transposed values in it
     * loses (almost) nothing (F32, F16, BF16, Q8_0), else Q8_0. Re-quantizing a 4- or 5-bit matrix along its
     * other axis adds a second rounding as large as the first: on a TinyLlama-shape Q4_0 model that alone put
     * the logits 1.2% (relative RMS) off dense and changed the first greedy token, against 0.08% with Q8_0 rows
     * (which cost 1.9x the bytes, but only for the selected neurons). F16, then F32, when Q8_0 blocks do not fit.
     */
    public static GgmlType downTType(Tensor down) {
        GgmlType t = down.ggmlType();
        boolean lossless = t == GgmlType.F32 || t == GgmlType.F16 || t == GgmlType.BF16 || t == GgmlType.Q8_0;
        return lossless ? downTType(down, t) : downTType(down, GgmlType.Q8_0);
    }

    /** {@code preferred} when rows of the model's dim fit it (and we can encode it), else Q8_0, F16, F32. */
    public static GgmlType downTType(Tensor down, GgmlType preferred) {
        return Storage.choose(List.of(preferred, GgmlType.Q8_0, GgmlType.F16), down.rows());
    }

    /** Neurons by falling frequency (ties by index). */
    public static int[] order(float[] frequency) {
        Integer[] idx = new Integer[frequency.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        java.util.Arrays.sort(idx, (a, b) -> frequency[a] != frequency[b] ? Float.compare(frequency[b], frequency[a]) : Integer.compare(a, b));
        int[] o = new int[idx.length];
        for (int i = 0; i < o.length; i++) o[i] = idx[i];
        return o;
    }

    /** Writes the sidecar to {@code path} atomically. */
    public static void write(Path path, Header h, List<Layer> layers, Parallel pool, GgufWriter.Progress progress)
            throws IOException {
        GgufWriter w = new GgufWriter().progress(progress);
        w.putString("general.architecture", "sparse-sidecar");
        w.putString("general.name", "sparse predictors for " + h.architecture());
        // Version 1 when there is nothing a version-1 reader would miss, so older readers still open the file.
        w.putU32(SparseSidecar.KEY_FORMAT, h.gate() != null ? SparseSidecar.FORMAT_VERSION : 1);
        w.putString(SparseSidecar.KEY_MODEL_ARCH, h.architecture());
        w.putU32(SparseSidecar.KEY_LAYERS, layers.size());
        w.putU32(SparseSidecar.KEY_DIM, h.dim());
        w.putU32(SparseSidecar.KEY_FFN, h.ffnDim());
        if (h.fingerprint() != null) w.putString(SparseSidecar.KEY_FINGERPRINT, h.fingerprint());
        w.putString(SparseSidecar.KEY_ACTIVATION, h.activation().key());
        w.putString(SparseSidecar.KEY_SCORE, h.activation().hasExactZeros() ? "linear" : "activation_magnitude");
        w.putF32(SparseSidecar.KEY_TARGET_RECALL, (float) h.targetRecall());
        w.putF32(SparseSidecar.KEY_TARGET_DENSITY, (float) h.targetDensity());
        w.putU64(SparseSidecar.KEY_TOKENS, h.tokens());
        w.putU32(SparseSidecar.KEY_SAMPLES, h.samples());

        int n = layers.size();
        int[] rank = new int[n], topK = new int[n], train = new int[n], test = new int[n];
        float[] thr = new float[n], tau = new float[n], rv = new float[n], rt = new float[n], dp = new float[n], dor = new float[n];
        List<Long> bytes = new ArrayList<>(n);
        for (int l = 0; l < n; l++) {
            LayerReport r = layers.get(l).report();
            rank[l] = r.rank();
            thr[l] = r.threshold();
            tau[l] = r.tau();
            rv[l] = (float) r.recallValidation();
            rt[l] = (float) r.recallTest();
            dp[l] = (float) r.predictedDensity();
            dor[l] = (float) r.oracleDensity();
            topK[l] = (int) Math.max(1, Math.round(r.predictedDensity() * h.ffnDim()));
            bytes.add(r.predictorBytes());
            train[l] = r.trainSamples();
            test[l] = r.testSamples();
        }
        w.putArray(SparseSidecar.KEY_RANK, GgufArray.ofInts(rank));
        w.putArray(SparseSidecar.KEY_THRESHOLD, GgufArray.ofFloats(thr));
        w.putArray(SparseSidecar.KEY_TOP_K, GgufArray.ofInts(topK));
        w.putArray(SparseSidecar.KEY_TAU, GgufArray.ofFloats(tau));
        w.putArray(SparseSidecar.KEY_RECALL_VAL, GgufArray.ofFloats(rv));
        w.putArray(SparseSidecar.KEY_RECALL_TEST, GgufArray.ofFloats(rt));
        w.putArray(SparseSidecar.KEY_DENSITY_PRED, GgufArray.ofFloats(dp));
        w.putArray(SparseSidecar.KEY_DENSITY_ORACLE, GgufArray.ofFloats(dor));
        w.putArray(SparseSidecar.KEY_PRED_BYTES, GgufArray.of(GgufValueType.UINT64, bytes));
        w.putArray(SparseSidecar.KEY_TRAIN_SAMPLES, GgufArray.ofInts(train));
        w.putArray(SparseSidecar.KEY_TEST_SAMPLES, GgufArray.ofInts(test));
        if (h.gate() != null) {
            GateThresholds g = h.gate();
            if (g.layers() != n) throw new IllegalArgumentException("gate thresholds for " + g.layers() + " layers, sidecar of " + n);
            int levels = g.sparsity().length;
            float[] flat = new float[n * levels];
            for (int l = 0; l < n; l++) System.arraycopy(g.threshold()[l], 0, flat, l * levels, levels);
            w.putArray(SparseSidecar.KEY_GATE_SPARSITY, GgufArray.ofFloats(g.sparsity().clone()));
            w.putArray(SparseSidecar.KEY_GATE_THRESHOLD, GgufArray.ofFloats(flat));
        }

        for (int l = 0; l < n; l++) {
            Layer layer = layers.get(l);
            LowRankPredictor p = layer.predictor();
            addTensor(w, SparseSidecar.predPName(l), p.p());
            addTensor(w, SparseSidecar.predQtName(l), p.qt());
            if ((p.magnitudeOf() == null) != h.activation().hasExactZeros()) {
                throw new IllegalArgumentException("layer " + l + ": predictor score does not match activation " + h.activation().key());
            }
            w.addTensor(SparseSidecar.predOffsetName(l), GgmlType.F32, new long[]{p.neurons()}, TensorTypes.encoded(GgmlType.F32, new long[]{p.neurons()}, p.offset()));
            w.addTensor(SparseSidecar.predScaleName(l), GgmlType.F32, new long[]{p.neurons()}, TensorTypes.encoded(GgmlType.F32, new long[]{p.neurons()}, p.scale()));
            w.addTensor(SparseSidecar.predBiasName(l), GgmlType.F32, new long[]{p.neurons()}, TensorTypes.encoded(GgmlType.F32, new long[]{p.neurons()}, p.bias()));
            int[] order = order(layer.frequency());
            w.addTensor(SparseSidecar.orderName(l), GgmlType.I32, new long[]{order.length}, dst -> {
                for (int i = 0; i < order.length; i++) dst.set(I32, 4L * i, order[i]);
            });
            w.addTensor(SparseSidecar.freqName(l), GgmlType.F32, new long[]{p.neurons()}, TensorTypes.encoded(GgmlType.F32, new long[]{p.neurons()}, layer.frequency().clone()));
            Tensor down = layer.down();
            GgmlType type = layer.downTType();
            w.addTensor(SparseSidecar.downTName(l), type, new long[]{down.rows(), down.cols()},
                    dst -> transposeInto(down, type, dst, pool));
        }
        w.writeAtomically(path);
    }

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static void addTensor(GgufWriter w, String name, Tensor t) {
        MemorySegment bytes = t.data().asSlice(0, t.rowBytes() * t.rows());
        w.addTensor(name, t.ggmlType(), new long[]{t.cols(), t.rows()}, bytes);
    }

    /** Writes {@code down^T} ({@code ffn x dim}) as {@code type} into {@code dst}, one neuron row per thread task. */
    static void transposeInto(Tensor down, GgmlType type, MemorySegment dst, Parallel pool) {
        int dim = down.rows(), ffn = down.cols();
        float[] all = down.toFloatArray(); // dim x ffn
        TensorType tt = TensorTypes.of(type);
        long rowBytes = tt.rowBytes(dim);
        pool.forRange(ffn, (from, to) -> {
            float[] row = new float[dim];
            for (int i = from; i < to; i++) {
                for (int j = 0; j < dim; j++) row[j] = all[j * ffn + i];
                tt.quantize(row, 0, dst, i * rowBytes, dim);
            }
        });
    }
}
