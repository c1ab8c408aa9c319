package io.ruvector.sparse.sparse;

import java.util.Arrays;

/**
 * What a session's sparse feed-forward blocks did, per layer: steps, neurons selected, rows of the down
 * projection read, bytes of FFN weights read (predictor included), and, when recall is measured, how many
 * firing neurons there were and how many of them were selected.
 */
public final class SparseStats {

    private final long[] steps;
    private final long[] selected;
    private final long[] downRows;
    private final long[] denseSteps;
    private final long[] predictorBytes;
    private final long[] rowBytes;
    private final long[] firing;
    private final long[] firingSelected;

    public SparseStats(int layers) {
        steps = new long[layers];
        selected = new long[layers];
        downRows = new long[layers];
        denseSteps = new long[layers];
        predictorBytes = new long[layers];
        rowBytes = new long[layers];
        firing = new long[layers];
        firingSelected = new long[layers];
    }

    void record(int layer, int selectedCount, int downCount, boolean dense, long predBytes, long bytes) {
        steps[layer]++;
        selected[layer] += selectedCount;
        downRows[layer] += downCount;
        if (dense) denseSteps[layer]++;
        predictorBytes[layer] += predBytes;
        rowBytes[layer] += bytes;
    }

    void recordRecall(int layer, int firingCount, int hits) {
        firing[layer] += firingCount;
        firingSelected[layer] += hits;
    }

    public int layers() { return steps.length; }

    /** Sparse steps (tokens) of the layer. */
    public long steps(int layer) { return steps[layer]; }

    /** Mean fraction of the layer's neurons selected per step. */
    public double density(int layer, int neuronsInLayer) {
        return steps[layer] == 0 ? 0 : (double) selected[layer] / steps[layer] / neuronsInLayer;
    }

    /** Mean neurons selected per step. */
    public double meanSelected(int layer) { return steps[layer] == 0 ? 0 : (double) selected[layer] / steps[layer]; }

    /** Mean rows of {@code ffn_down_t} read per step (selected neurons with a non-zero activation). */
    public double meanDownRows(int layer) { return steps[layer] == 0 ? 0 : (double) downRows[layer] / steps[layer]; }

    /** Steps that took the dense down projection because (nearly) everything was selected. */
    public long denseSteps(int layer) { return denseSteps[layer]; }

    /** Mean bytes of predictor weights read per step. */
    public double meanPredictorBytes(int layer) { return steps[layer] == 0 ? 0 : (double) predictorBytes[layer] / steps[layer]; }

    /** Mean bytes of FFN rows (gate, up, down) read per step. */
    public double meanRowBytes(int layer) { return steps[layer] == 0 ? 0 : (double) rowBytes[layer] / steps[layer]; }

    /** Recall measured so far (1 when nothing fired or recall was not measured). */
    public double recall(int layer) { return firing[layer] == 0 ? 1 : (double) firingSelected[layer] / firing[layer]; }

    /** Recall over all layers. */
    public double recall() {
        long f = 0, h = 0;
        for (int l = 0; l < firing.length; l++) {
            f += firing[l];
            h += firingSelected[l];
        }
        return f == 0 ? 1 : (double) h / f;
    }

    /** Mean fraction of neurons that really fired (when recall was measured). */
    public double firingDensity(int layer, int neuronsInLayer) {
        return steps[layer] == 0 ? 0 : (double) firing[layer] / steps[layer] / neuronsInLayer;
    }

    /** Sum over layers of the mean bytes read per step (predictor + rows): FFN bytes per token. */
    public double bytesPerToken() {
        double b = 0;
        for (int l = 0; l < steps.length; l++) b += meanPredictorBytes(l) + meanRowBytes(l);
        return b;
    }

    /** Sum over layers of the mean predictor bytes per step. */
    public double predictorBytesPerToken() {
        double b = 0;
        for (int l = 0; l < steps.length; l++) b += meanPredictorBytes(l);
        return b;
    }

    /** Adds every count of {@code other} (same number of layers) to this. */
    public void add(SparseStats other) {
        if (other.layers() != layers()) throw new IllegalArgumentException("stats of " + other.layers() + " layers added to " + layers());
        for (int l = 0; l < steps.length; l++) {
            steps[l] += other.steps[l];
            selected[l] += other.selected[l];
            downRows[l] += other.downRows[l];
            denseSteps[l] += other.denseSteps[l];
            predictorBytes[l] += other.predictorBytes[l];
            rowBytes[l] += other.rowBytes[l];
            firing[l] += other.firing[l];
            firingSelected[l] += other.firingSelected[l];
        }
    }

    /** Forgets every count. */
    public void reset() {
        for (long[] a : new long[][]{steps, selected, downRows, denseSteps, predictorBytes, rowBytes, firing, firingSelected}) {
            Arrays.fill(a, 0);
        }
    }
}
