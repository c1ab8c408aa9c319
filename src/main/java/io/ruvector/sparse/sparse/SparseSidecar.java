package io.ruvector.sparse.sparse;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What sparse inference needs beside the model, read in place from a GGUF file: per layer a neuron predictor,
 * the down projection transposed ({@code ffn_down_t}: one contiguous row per neuron), and, in our own layout,
 * the neuron order by firing frequency and the calibration report.
 *
 * <p>Two layouts are read:
 * <ul>
 *   <li><b>ours</b> ({@link #KEY_FORMAT} present), written by {@link SidecarWriter}: {@code blk.N.pred_p.weight}
 *       ({@code rank x dim}), {@code blk.N.pred_qt.weight} ({@code rank x ffn}), {@code blk.N.pred_offset},
 *       {@code blk.N.pred_scale} and {@code blk.N.pred_bias} (F32, one per neuron; see {@link LowRankPredictor}), {@code blk.N.neuron_order} (I32, hottest first),
 *       {@code blk.N.neuron_freq} (F32), {@code blk.N.ffn_down_t.weight} ({@code ffn x dim}), per-layer
 *       thresholds and report arrays under {@code sparse.*}, and a fingerprint of the model it was calibrated
 *       for;</li>
 *   <li><b>PowerInfer's</b> ({@code PWRI} magic or plain GGUF with {@code blk.0.fc1.weight}): MLP predictors
 *       {@code blk.N.fc1.weight} ({@code hidden x dim}) and {@code blk.N.fc2.weight} ({@code ffn x hidden}),
 *       {@code blk.N.ffn_down_t.weight}, and the threshold {@code powerinfer.sparse_threshold} (0 when absent).
 *       Such a file is usually the model file itself.</li>
 * </ul>
 * Closing the sidecar unmaps it; predictors and tensors from it must not be used afterwards.
 */
public final class SparseSidecar implements AutoCloseable {

    public static final String KEY_FORMAT = "sparse.format_version";
    /** Version written: 2 when the file holds SwiGLU gate thresholds (an addition a version-1 reader would miss), else 1. */
    public static final int FORMAT_VERSION = 2;
    /** Oldest version read: version 1 is version 2 without gate thresholds. */
    public static final int OLDEST_FORMAT_VERSION = 1;
    public static final String KEY_MODEL_ARCH = "sparse.model.architecture";
    public static final String KEY_LAYERS = "sparse.model.block_count";
    public static final String KEY_DIM = "sparse.model.embedding_length";
    public static final String KEY_FFN = "sparse.model.feed_forward_length";
    public static final String KEY_FINGERPRINT = "sparse.model.fingerprint";
    public static final String KEY_ACTIVATION = "sparse.activation";
    public static final String KEY_TARGET_RECALL = "sparse.target_recall";
    public static final String KEY_TARGET_DENSITY = "sparse.target_density";
    public static final String KEY_TOKENS = "sparse.calibration.tokens";
    public static final String KEY_SAMPLES = "sparse.calibration.samples";
    public static final String KEY_RANK = "sparse.rank";
    public static final String KEY_THRESHOLD = "sparse.threshold";
    public static final String KEY_TOP_K = "sparse.top_k";
    public static final String KEY_TAU = "sparse.tau";
    public static final String KEY_RECALL_VAL = "sparse.report.recall_validation";
    public static final String KEY_RECALL_TEST = "sparse.report.recall_test";
    public static final String KEY_DENSITY_PRED = "sparse.report.density_predicted";
    public static final String KEY_DENSITY_ORACLE = "sparse.report.density_oracle";
    public static final String KEY_PRED_BYTES = "sparse.report.predictor_bytes";
    public static final String KEY_TRAIN_SAMPLES = "sparse.report.train_samples";
    public static final String KEY_TEST_SAMPLES = "sparse.report.test_samples";
    public static final String KEY_SCORE = "sparse.predictor_score";
    /** SwiGLU gate selection: the sparsity levels calibrated (F32 array, ascending). */
    public static final String KEY_GATE_SPARSITY = "sparse.gate.sparsity";
    /** SwiGLU gate selection: per layer, one |act(gate)| threshold per level (F32 array, layer-major). */
    public static final String KEY_GATE_THRESHOLD = "sparse.gate.threshold";
    public static final String KEY_POWERINFER_THRESHOLD = "powerinfer.sparse_threshold";

    static String predPName(int l) { return "blk." + l + ".pred_p.weight"; }

    static String predQtName(int l) { return "blk." + l + ".pred_qt.weight"; }

    static String predOffsetName(int l) { return "blk." + l + ".pred_offset"; }

    static String predScaleName(int l) { return "blk." + l + ".pred_scale"; }

    static String predBiasName(int l) { return "blk." + l + ".pred_bias"; }

    static String orderName(int l) { return "blk." + l + ".neuron_order"; }

    static String freqName(int l) { return "blk." + l + ".neuron_freq"; }

    public static String downTName(int l) { return "blk." + l + ".ffn_down_t.weight"; }

    public static String fc1Name(int l) { return "blk." + l + ".fc1.weight"; }

    public static String fc2Name(int l) { return "blk." + l + ".fc2.weight"; }

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GgufFile file;
    private final boolean owned;
    private final boolean powerInferLayout;
    private final int layers;
    private final List<NeuronPredictor> predictors;
    private final List<Tensor> downT;
    private final ActivationType activation;
    private final String fingerprint;
    private final GateThresholds gateThresholds;   // null when the file has none

    private SparseSidecar(GgufFile file, boolean owned) {
        this.file = file;
        this.owned = owned;
        String name = file.path().getFileName().toString();
        if (file.has(KEY_FORMAT)) {
            int v = file.getInt(KEY_FORMAT);
            if (v < OLDEST_FORMAT_VERSION || v > FORMAT_VERSION) {
                throw new IllegalArgumentException(name + ": sparse sidecar format " + v + " is not supported (expected "
                        + OLDEST_FORMAT_VERSION + " to " + FORMAT_VERSION + ")");
            }
            powerInferLayout = false;
            layers = file.getInt(KEY_LAYERS);
            activation = ActivationType.fromName(file.getString(KEY_ACTIVATION));
            fingerprint = file.getString(KEY_FINGERPRINT, null);
        } else if (file.tensor(fc1Name(0)).isPresent()) {
            powerInferLayout = true;
            int l = 0;
            while (file.tensor(fc1Name(l)).isPresent()) l++;
            layers = l;
            activation = ActivationType.RELU; // PowerInfer's sparse models are ReLU models
            fingerprint = null;
        } else {
            throw new IllegalArgumentException(name + " is not a sparse sidecar: it has neither '" + KEY_FORMAT
                    + "' nor PowerInfer's '" + fc1Name(0) + "'");
        }
        List<NeuronPredictor> preds = new ArrayList<>(layers);
        List<Tensor> downs = new ArrayList<>(layers);
        float[] thresholds = powerInferLayout ? null : file.getArray(KEY_THRESHOLD).toFloatArray();
        if (thresholds != null && thresholds.length != layers) {
            throw new IllegalArgumentException(name + ": " + KEY_THRESHOLD + " has " + thresholds.length + " entries for " + layers + " layers");
        }
        float piThreshold = file.getFloat(KEY_POWERINFER_THRESHOLD, 0f);
        ActivationType magnitudeOf = null;
        if (!powerInferLayout) {
            String score = file.getString(KEY_SCORE, "linear");
            magnitudeOf = switch (score) {
                case "linear" -> null;
                case "activation_magnitude" -> activation;
                default -> throw new IllegalArgumentException(name + ": unknown " + KEY_SCORE + " '" + score + "'");
            };
        }
        for (int l = 0; l < layers; l++) {
            Tensor dt = tensor(downTName(l));
            NeuronPredictor p;
            if (powerInferLayout) {
                p = new MlpPredictor(tensor(fc1Name(l)), tensor(fc2Name(l)), piThreshold);
            } else {
                p = new LowRankPredictor(tensor(predPName(l)), tensor(predQtName(l)), floats(predOffsetName(l)),
                        floats(predScaleName(l)), floats(predBiasName(l)), magnitudeOf, thresholds[l]);
            }
            if (p.neurons() != dt.rows() || p.inputDim() != dt.cols()) {
                throw new IllegalArgumentException(name + ": layer " + l + " predictor covers " + p.neurons() + " neurons of dim "
                        + p.inputDim() + " but " + downTName(l) + " is " + dt.rows() + "x" + dt.cols());
            }
            preds.add(p);
            downs.add(dt);
        }
        this.gateThresholds = powerInferLayout ? null : readGateThresholds(file, name, layers);
        this.predictors = List.copyOf(preds);
        this.downT = List.copyOf(downs);
    }

    /**
     * Maps and reads a sidecar (either layout).
     *
     * @throws IllegalArgumentException naming the file and what is missing or inconsistent
     */
    public static SparseSidecar open(Path path) throws IOException {
        GgufFile f = GgufFile.open(path);
        try {
            return new SparseSidecar(f, true);
        } catch (RuntimeException | Error e) {
            f.close();
            throw e;
        }
    }

    /** Reads the sparse parts of an already open file (e.g. a PowerInfer model file); the caller keeps ownership. */
    public static SparseSidecar of(GgufFile file) { return new SparseSidecar(file, false); }

    /** True when the file is in PowerInfer's layout (MLP predictors, no neuron order or report). */
    public boolean isPowerInferLayout() { return powerInferLayout; }

    public GgufFile file() { return file; }

    public int layers() { return layers; }

    /** The activation calibrated for (ReLU for PowerInfer files). */
    public ActivationType activation() { return activation; }

    /** Fingerprint of the model the sidecar was calibrated for, when recorded. */
    public Optional<String> modelFingerprint() { return Optional.ofNullable(fingerprint); }

    public NeuronPredictor predictor(int layer) { return predictors.get(layer); }

    public Tensor downT(int layer) { return downT.get(layer); }

    /**
     * The SwiGLU gate thresholds (training-free selection on the exact gate).
     *
     * @throws IllegalArgumentException naming the file when it has none
     */
    public GateThresholds gateThresholds() {
        if (gateThresholds == null) {
            throw new IllegalArgumentException(file.path().getFileName() + " has no SwiGLU gate thresholds (calibrate with --swiglu-sparsity S)");
        }
        return gateThresholds;
    }

    /** Whether the file holds SwiGLU gate thresholds. */
    public boolean hasGateThresholds() { return gateThresholds != null; }

    /** The gate thresholds of our layout, checked; null when the file has neither key. */
    private static GateThresholds readGateThresholds(GgufFile file, String name, int layers) {
        boolean hasLevels = file.has(KEY_GATE_SPARSITY), hasValues = file.has(KEY_GATE_THRESHOLD);
        if (!hasLevels && !hasValues) return null;
        if (hasLevels != hasValues) {
            throw new IllegalArgumentException(name + ": has " + (hasLevels ? KEY_GATE_SPARSITY : KEY_GATE_THRESHOLD)
                    + " without " + (hasLevels ? KEY_GATE_THRESHOLD : KEY_GATE_SPARSITY));
        }
        float[] levels, flat;
        try {
            levels = file.getArray(KEY_GATE_SPARSITY).toFloatArray();
            flat = file.getArray(KEY_GATE_THRESHOLD).toFloatArray();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(name + ": " + KEY_GATE_SPARSITY + " and " + KEY_GATE_THRESHOLD + " must be float arrays (" + e.getMessage() + ")");
        }
        if ((long) levels.length * layers != flat.length) {
            throw new IllegalArgumentException(name + ": " + KEY_GATE_THRESHOLD + " has " + flat.length + " entries, expected "
                    + layers + " layers x " + levels.length + " levels");
        }
        float[][] t = new float[layers][];
        for (int l = 0; l < layers; l++) t[l] = java.util.Arrays.copyOfRange(flat, l * levels.length, (l + 1) * levels.length);
        try {
            return new GateThresholds(levels, t);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage());
        }
    }

    /** Firing threshold on |h| used as ground truth for layer {@code l} (0: non-zero means firing). */
    public float tau(int layer) {
        if (powerInferLayout || !file.has(KEY_TAU)) return 0f;
        return file.getArray(KEY_TAU).toFloatArray()[layer];
    }

    /** Per-layer top-K calibrated alongside the threshold (mean selected count), if recorded. */
    public Optional<int[]> topK() {
        return file.has(KEY_TOP_K) ? Optional.of(file.getArray(KEY_TOP_K).toIntArray()) : Optional.empty();
    }

    /** Neurons of layer {@code l} by falling firing frequency, when recorded. */
    public Optional<int[]> neuronOrder(int layer) {
        return file.tensor(orderName(layer)).map(t -> {
            int[] v = new int[(int) t.elementCount()];
            MemorySegment seg = file.tensorData(t);
            for (int i = 0; i < v.length; i++) v[i] = seg.get(I32, 4L * i);
            return v;
        });
    }

    /** Firing frequency of every neuron of layer {@code l}, when recorded. */
    public Optional<float[]> frequency(int layer) {
        return file.tensor(freqName(layer)).map(t -> floats(t.name()));
    }

    /** The calibration report, when recorded (our layout only). */
    public Optional<List<LayerReport>> report() {
        if (powerInferLayout || !file.has(KEY_RECALL_TEST)) return Optional.empty();
        int[] rank = file.getArray(KEY_RANK).toIntArray();
        float[] thr = file.getArray(KEY_THRESHOLD).toFloatArray();
        float[] tau = file.getArray(KEY_TAU).toFloatArray();
        float[] oracle = file.getArray(KEY_DENSITY_ORACLE).toFloatArray();
        float[] pred = file.getArray(KEY_DENSITY_PRED).toFloatArray();
        float[] rv = file.getArray(KEY_RECALL_VAL).toFloatArray();
        float[] rt = file.getArray(KEY_RECALL_TEST).toFloatArray();
        long[] bytes = file.getArray(KEY_PRED_BYTES).toLongArray();
        int[] train = file.getArray(KEY_TRAIN_SAMPLES).toIntArray();
        int[] test = file.getArray(KEY_TEST_SAMPLES).toIntArray();
        List<LayerReport> out = new ArrayList<>(layers);
        for (int l = 0; l < layers; l++) {
            out.add(new LayerReport(l, rank[l], thr[l], tau[l], oracle[l], pred[l], rv[l], rt[l], bytes[l], train[l], test[l]));
        }
        return Optional.of(out);
    }

    /**
     * Checks that this sidecar fits a model of the given shape (and fingerprint, when both are known).
     *
     * @throws IllegalArgumentException naming the mismatch
     */
    public void checkFits(int modelLayers, int dim, int ffnDim, String modelFingerprint) {
        String name = file.path().getFileName().toString();
        if (layers != modelLayers) {
            throw new IllegalArgumentException(name + " has predictors for " + layers + " layers, the model has " + modelLayers);
        }
        for (int l = 0; l < layers; l++) {
            NeuronPredictor p = predictors.get(l);
            if (p.inputDim() != dim || p.neurons() != ffnDim) {
                throw new IllegalArgumentException(name + ": layer " + l + " is for dim " + p.inputDim() + " and " + p.neurons()
                        + " neurons, the model has dim " + dim + " and " + ffnDim);
            }
        }
        if (fingerprint != null && modelFingerprint != null && !fingerprint.equals(modelFingerprint)) {
            throw new IllegalArgumentException(name + " was calibrated for another model (fingerprint " + fingerprint
                    + ", this model " + modelFingerprint + ")");
        }
    }

    private Tensor tensor(String name) {
        TensorInfo info = file.tensor(name).orElseThrow(() -> new IllegalArgumentException(
                file.path().getFileName() + ": missing tensor '" + name + "'"));
        return Tensor.of(file, info);
    }

    private float[] floats(String name) {
        TensorInfo info = file.tensor(name).orElseThrow(() -> new IllegalArgumentException(
                file.path().getFileName() + ": missing tensor '" + name + "'"));
        if (info.type() != GgmlType.F32) {
            throw new IllegalArgumentException(file.path().getFileName() + ": tensor '" + name + "' must be F32, is " + info.type());
        }
        MemorySegment seg = file.tensorData(info);
        float[] v = new float[(int) info.elementCount()];
        MemorySegment.copy(seg, F32, 0, v, 0, v.length);
        return v;
    }

    /** Unmaps the file (unless it was given by the caller through {@link #of}). */
    @Override
    public void close() {
        if (owned) file.close();
    }
}
