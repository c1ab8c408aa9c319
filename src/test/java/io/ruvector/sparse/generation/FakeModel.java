package io.ruvector.sparse.generation;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A stand-in for a model session: after n tokens its logits favour {@code script[n - 1]} strongly (or,
 * past the script, are pseudo-random, never the toy EOS), so greedy decoding replays the script. Records every call.
 */
final class FakeModel implements LogitsSource {

    final int vocab;
    final int context;
    final int[] script;
    final List<int[]> calls = new ArrayList<>();
    final List<Integer> held = new ArrayList<>();
    volatile long delayMillis;
    private final float[] logits;

    FakeModel(int vocab, int context, int... script) {
        this.vocab = vocab;
        this.context = context;
        this.script = script;
        this.logits = new float[vocab];
    }

    @Override
    public float[] evaluate(int[] tokens) {
        calls.add(tokens.clone());
        for (int t : tokens) held.add(t);
        if (held.size() > context) throw new IllegalStateException("context overflow");
        if (delayMillis > 0) {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int n = held.size();
        SplittableRandom r = new SplittableRandom(n * 31L + held.get(n - 1));
        for (int i = 0; i < vocab; i++) logits[i] = (float) r.nextGaussian();
        if (n - 1 < script.length) logits[script[n - 1]] = 50f;
        else if (vocab > FakeTokenText.EOS) logits[FakeTokenText.EOS] = Float.NEGATIVE_INFINITY; // unscripted: never end
        return logits;
    }

    @Override
    public int position() { return held.size(); }

    @Override
    public void rewind(int position) {
        if (position < 0 || position > held.size()) throw new IllegalArgumentException("bad rewind " + position);
        while (held.size() > position) held.removeLast();
    }

    @Override
    public int contextLength() { return context; }

    @Override
    public int vocabSize() { return vocab; }
}
