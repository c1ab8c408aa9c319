package io.ruvector.sparse.model;

/**
 * How a model's attention and logits differ from llama's, as read from its metadata by its architecture's
 * {@link AttentionRules}.
 *
 * @param queryScale     factor of the query-key dot products (1/sqrt(headDim) but for Gemma's 27B sizes)
 * @param window         sliding window of the local layers: a query at p sees keys at p - window + 1 .. p;
 *                       0 when no layer is local
 * @param period         which layers are local: layer l is when {@code l % period < period - 1} (period 0: all,
 *                       1: none)
 * @param localRopeBase  RoPE base of the local layers
 * @param localRopeScale linear RoPE scaling of the local layers
 * @param softCap        attention logits become {@code softCap * tanh(s / softCap)} before the softmax; 0 for none
 * @param finalSoftCap   output logits become {@code finalSoftCap * tanh(z / finalSoftCap)}; 0 for none
 */
public record AttentionSettings(float queryScale, int window, int period, double localRopeBase, double localRopeScale,
                                float softCap, float finalSoftCap) {

    public AttentionSettings {
        if (!(queryScale > 0) || window < 0 || period < 0 || !(localRopeBase > 0) || !(localRopeScale > 0)
                || !(softCap >= 0) || !(finalSoftCap >= 0) || Float.isInfinite(softCap) || Float.isInfinite(finalSoftCap)) {
            throw new IllegalArgumentException("bad attention settings: query scale " + queryScale + ", window " + window
                    + ", pattern " + period + ", local rope base " + localRopeBase + " scale " + localRopeScale
                    + ", soft caps " + softCap + " / " + finalSoftCap);
        }
    }

    /** llama's: queries scaled by 1/sqrt(headDim), every layer global, nothing capped. */
    public static AttentionSettings standard(int headDim, double ropeBase, double ropeScale) {
        return new AttentionSettings((float) (1.0 / Math.sqrt(headDim)), 0, 1, ropeBase, ropeScale, 0, 0);
    }

    /** True when layer {@code layer} attends over the sliding window only (and uses the local RoPE). */
    public boolean local(int layer) {
        return window > 0 && (period == 0 || layer % period < period - 1);
    }

    /** True when some layer is local and the local RoPE differs from the global one. */
    boolean localRopeDiffers(double ropeBase, double ropeScale) {
        return window > 0 && (localRopeBase != ropeBase || localRopeScale != ropeScale);
    }
}
