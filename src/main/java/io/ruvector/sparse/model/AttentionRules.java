package io.ruvector.sparse.model;

/**
 * The attention settings beyond llama's that llama.cpp reads for one architecture, with the values it assumes when
 * a key is absent. {@link #read} turns them and a file's metadata into the {@link AttentionSettings} of a model.
 *
 * @param windowed           layers may attend over a sliding window ({@code attention.sliding_window}, with
 *                           {@code attention.sliding_window_pattern} saying which layers)
 * @param defaultWindow      the window when {@code attention.sliding_window} is absent (0: no sliding window)
 * @param defaultPeriod      the pattern when its key is absent: of each {@code P} layers the first {@code P - 1}
 *                           are local
 * @param localRopeBase      RoPE base of the local layers when {@code rope.freq_base_swa} is absent; NaN: the
 *                           global base
 * @param localRopeUnscaled  local layers ignore linear RoPE scaling (it applies to the global layers only)
 * @param attentionSoftCap   attention logits are soft-capped, {@code c tanh(s / c)} with c from
 *                           {@code attn_logit_softcapping} (default 50)
 * @param finalSoftCap       when the final logits are soft-capped with {@code final_logit_softcapping}
 * @param fullWidthScaleLayers block count of the one model size whose queries are scaled by
 *                           {@code 1/sqrt(dim/heads)} rather than {@code 1/sqrt(headDim)} (Gemma's 27B, whose
 *                           {@code query_pre_attn_scalar} llama.cpp hard-codes this way); 0 for none
 */
public record AttentionRules(boolean windowed, int defaultWindow, int defaultPeriod, double localRopeBase,
                             boolean localRopeUnscaled, boolean attentionSoftCap, FinalSoftCap finalSoftCap,
                             int fullWidthScaleLayers) {

    /** When the logits are soft-capped. */
    public enum FinalSoftCap {
        /** Never (the key is not read). */
        NEVER,
        /** When {@code final_logit_softcapping} is in the file. */
        IF_PRESENT,
        /** Always, with {@code final_logit_softcapping} or its default 30. */
        ALWAYS
    }

    /** Full causal attention, queries scaled by 1/sqrt(headDim), no soft-capping. */
    public static final AttentionRules LLAMA = new AttentionRules(false, 0, 1, Double.NaN, false, false,
            FinalSoftCap.NEVER, 0);

    /** Gemma 3: a window only when the file sets one, 5 local layers of 6 with base 10000 and no scaling. */
    public static final AttentionRules GEMMA3 = new AttentionRules(true, 0, 6, 10000.0, true, false,
            FinalSoftCap.IF_PRESENT, 62);

    /** Gemma 2: a 4096 window on every other layer, soft-capped attention (50) and logits (30) by default. */
    public static final AttentionRules GEMMA2 = new AttentionRules(true, 4096, 2, Double.NaN, false, true,
            FinalSoftCap.ALWAYS, 46);

    static final double DEFAULT_ATTENTION_SOFT_CAP = 50.0;
    static final double DEFAULT_FINAL_SOFT_CAP = 30.0;

    public AttentionRules {
        if (defaultWindow < 0 || defaultPeriod < 0 || fullWidthScaleLayers < 0 || finalSoftCap == null) {
            throw new IllegalArgumentException("bad attention rules");
        }
    }

    /**
     * The settings of a model from its metadata.
     *
     * @throws IllegalArgumentException naming a key whose value cannot be used
     */
    AttentionSettings read(ModelConfig.Keys k, int layers, int dim, int heads, int headDim, double ropeBase, double ropeScale) {
        double queryScale = layers == fullWidthScaleLayers ? 1.0 / Math.sqrt(dim / heads) : 1.0 / Math.sqrt(headDim);
        int window = windowed ? k.intOr("attention.sliding_window", defaultWindow) : 0;
        int period = windowed ? k.intOr("attention.sliding_window_pattern", defaultPeriod) : defaultPeriod;
        double localBase = windowed ? k.doubleOr("rope.freq_base_swa", Double.isNaN(localRopeBase) ? ropeBase : localRopeBase) : ropeBase;
        double localScale = localRopeUnscaled ? 1.0 : ropeScale;
        double softCap = attentionSoftCap ? k.doubleOr("attn_logit_softcapping", DEFAULT_ATTENTION_SOFT_CAP) : 0;
        double finalCap = switch (finalSoftCap) {
            case NEVER -> 0;
            case IF_PRESENT -> k.doubleOr("final_logit_softcapping", 0);
            case ALWAYS -> k.doubleOr("final_logit_softcapping", DEFAULT_FINAL_SOFT_CAP);
        };
        if (attentionSoftCap && !(softCap > 0)) {
            throw new IllegalArgumentException(k.arch() + ".attn_logit_softcapping " + softCap + " must be positive");
        }
        if (finalSoftCap == FinalSoftCap.ALWAYS && !(finalCap > 0) || finalCap < 0 || Double.isNaN(finalCap)) {
            throw new IllegalArgumentException(k.arch() + ".final_logit_softcapping " + finalCap + " must be positive");
        }
        return new AttentionSettings((float) queryScale, window, period, localBase, localScale, (float) softCap, (float) finalCap);
    }
}
