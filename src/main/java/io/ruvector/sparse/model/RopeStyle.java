package io.ruvector.sparse.model;

/** Which pairs of a head's dimensions rotary position embedding rotates together. */
public enum RopeStyle {
    /** Adjacent pairs (x[2i], x[2i+1]): the original Llama layout ({@code llama}). */
    INTERLEAVED,
    /** Halves (x[i], x[i + d/2]): the GPT-NeoX layout ({@code qwen2}). */
    NEOX
}
