package io.ruvector.sparse.sparse;

import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Logits;
import io.ruvector.sparse.model.Session;

import java.util.function.Supplier;

/**
 * Quality of sparse decoding against dense, on one model:
 * <ul>
 *   <li><b>agreement</b>: the dense model's greedy continuation of a prompt is fed token by token to the sparse
 *       model (teacher forcing); the share of steps where the sparse model's most likely token is the dense
 *       one;</li>
 *   <li><b>identical prefix</b>: how many tokens the sparse model's own greedy continuation shares with the
 *       dense one before the first difference;</li>
 *   <li><b>NLL</b>: mean negative log-likelihood (nats per token) of a held-out text.</li>
 * </ul>
 * Every token goes through single-token steps, so every feed-forward block of a sparse session is sparse.
 */
public final class SparseQuality {

    /**
     * One measured configuration.
     *
     * @param label           what was measured
     * @param density         mean fraction of neurons computed per step (1 for dense)
     * @param agreement       teacher-forced top-1 agreement with the dense greedy continuation
     * @param identicalPrefix tokens of free-running greedy output identical to dense
     * @param nll             mean negative log-likelihood of the held-out text, nats per token
     */
    public record Row(String label, double density, double agreement, int identicalPrefix, double nll) {}

    /** The dense model's greedy continuation of {@code prompt}, {@code steps} tokens. */
    public static int[] greedy(Supplier<Session> sessions, int[] prompt, int steps) {
        try (Session s = sessions.get()) {
            int[] out = new int[steps];
            Logits l = feed(s, prompt);
            for (int i = 0; i < steps; i++) {
                out[i] = l.argmax();
                l = s.evaluate(out[i]);
            }
            return out;
        }
    }

    /**
     * Measures sessions from {@code sessions} against the dense greedy continuation {@code reference}.
     *
     * @param density the fraction of neurons the configuration computed (from its statistics; 1 for dense)
     */
    public static Row measure(String label, Supplier<Session> sessions, int[] prompt, int[] reference, int[] heldOut,
                              java.util.function.DoubleSupplier density) {
        int agree = 0;
        try (Session s = sessions.get()) {
            Logits l = feed(s, prompt);
            for (int expected : reference) {
                if (l.argmax() == expected) agree++;
                l = s.evaluate(expected);
            }
        }
        int[] own = greedy(sessions, prompt, reference.length);
        int prefix = 0;
        while (prefix < own.length && own[prefix] == reference[prefix]) prefix++;
        double nll = 0;
        try (Session s = sessions.get()) {
            for (int t = 0; t + 1 < heldOut.length; t++) {
                Logits l = s.evaluate(heldOut[t]);
                nll += negativeLogLikelihood(l, heldOut[t + 1]);
            }
        }
        return new Row(label, density.getAsDouble(), reference.length == 0 ? 1 : (double) agree / reference.length, prefix,
                nll / Math.max(1, heldOut.length - 1));
    }

    /** Dense quality of {@code model} (agreement 1 by definition, measured anyway). */
    public static Row dense(LanguageModel model, int[] prompt, int[] reference, int[] heldOut) {
        return measure("dense", model::newSession, prompt, reference, heldOut, () -> 1.0);
    }

    private static Logits feed(Session s, int[] tokens) {
        Logits l = null;
        for (int t : tokens) l = s.evaluate(t);
        return l;
    }

    /** -log softmax(logits)[target], with the log-sum-exp taken in double around the maximum. */
    static double negativeLogLikelihood(Logits l, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < l.size(); i++) max = Math.max(max, l.get(i));
        double sum = 0;
        for (int i = 0; i < l.size(); i++) sum += Math.exp(l.get(i) - max);
        return Math.log(sum) - (l.get(target) - max);
    }

    private SparseQuality() {}
}
