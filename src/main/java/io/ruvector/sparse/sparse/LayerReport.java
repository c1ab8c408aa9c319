package io.ruvector.sparse.sparse;

/**
 * What calibration measured and chose for one layer.
 *
 * @param layer            layer index
 * @param rank             predictor rank chosen
 * @param threshold        score threshold reaching the target recall on the validation samples
 * @param tau              firing threshold on |h| (0 for activations with exact zeros: fires means h != 0)
 * @param oracleDensity    fraction of neurons that really fire (held-out test samples)
 * @param predictedDensity fraction of neurons the predictor selects (test samples)
 * @param recallValidation recall on the validation samples the threshold was chosen on
 * @param recallTest       recall on the test samples, never seen by the fit
 * @param predictorBytes   bytes of predictor weights read per token for this layer
 * @param trainSamples     samples the predictor was fitted on
 * @param testSamples      samples of the test split
 */
public record LayerReport(int layer, int rank, float threshold, float tau, double oracleDensity,
                          double predictedDensity, double recallValidation, double recallTest, long predictorBytes,
                          int trainSamples, int testSamples) {

    /** One line of the calibration table. */
    public String toRow() {
        return String.format(java.util.Locale.ROOT, "%5d %5d %9.3f %8.4f %8.4f %8.4f %8.4f %10d",
                layer, rank, threshold, oracleDensity, predictedDensity, recallValidation, recallTest, predictorBytes);
    }

    /** Header matching {@link #toRow()}. */
    public static String header() {
        return "layer  rank threshold   oracle  predict  rec.val rec.test  pred.bytes";
    }
}
