package io.ruvector.sparse.kernels;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.quant.Fp16;
import io.ruvector.sparse.quant.Int8DotProduct;
import io.ruvector.sparse.quant.InterleavedKQuant;
import io.ruvector.sparse.quant.Q8Activation;
import io.ruvector.sparse.quant.Q8KActivation;
import io.ruvector.sparse.quant.Q8_K;
import io.ruvector.sparse.tensor.Tensor;

/**
 * One activation vector as the products with a weight matrix see it: the vector itself (float32), or, with
 * ggml-compatible activations, the vector rounded the way ggml-cpu rounds it for that weight type (its
 * {@code vec_dot_type}): int8 blocks multiplied in integers for the Q4_0..Q8_0 family ({@link Int8DotProduct}),
 * Q8_K-rounded floats for K-quants, F16 or BF16 for those weights; or, for speed ({@code ActivationPrecision.AUTO}),
 * int8 blocks only where the int8 kernel is the faster one: single vectors with Q8_0 weights (and Q4_0 weights
 * decoded from interleaved copies), and batches of at least {@link Q4_0TokenLanesGemm#MIN_BATCH} tokens with
 * Q4_0 weights. Every product
 * path that must give the same bits (the dense {@link MatMul} and the sparse feed-forward block) prepares its
 * input here.
 *
 * <p>Each rounding is made at most once per vector ({@link #reset} starts a new one); buffers grow once and are
 * reused, so steady-state use allocates nothing. Not thread-safe while preparing; after {@link #prepare}
 * returns, the prepared input may be read by any number of threads until the next {@link #reset}.
 */
public final class ActivationRounding {

    private final boolean ggml;
    private final boolean auto;
    private final boolean interleavedQ4_0;
    private Q8Activation q8;
    private Q8KActivation q8k;
    private float[] roundedQ8K = new float[0];
    private float[] roundedF16 = new float[0];
    private float[] roundedBF16 = new float[0];
    // Which roundings of the current vector are done (bits: Q8, Q8_K, F16, BF16).
    private int done;
    private static final int Q8 = 1, Q8K = 2, HALF = 4, BHALF = 8, Q8K_CODES = 16;
    private float[] input;
    private int inputOffset;
    private int quantizeCount;   // the values being quantized by quantizeBody, from input[inputOffset]
    private final Parallel.RangeBody quantizeBody = (from, to) -> q8.quantizeBlocks(input, inputOffset, quantizeCount, from, to);
    private final Parallel.RangeBody quantizeQ8KBody = (from, to) -> q8k.quantizeBlocks(input, inputOffset, quantizeCount, from, to);

    /** @param ggml round as ggml-cpu does; when false every product takes the float32 vector as it is */
    public ActivationRounding(boolean ggml) { this(ggml, false); }

    /**
     * @param ggml              round as ggml-cpu does, for every product
     * @param auto when {@code ggml} is false: still quantize to int8 blocks where the int8 kernel is the faster
     *             one ({@code ActivationPrecision.AUTO}: single vectors with weights whose
     *             {@link Int8DotProduct#preferredForSingleVectors()}, batches of Q4_0, and Q8_K codes for
     *             batches of Q2_K, Q3_K and Q4_K, {@link #usesQ8KBatch}); every other product
     *             takes the float32 vector as it is
     */
    public ActivationRounding(boolean ggml, boolean auto) { this(ggml, auto, false); }

    /**
     * @param interleavedQ4_0 with {@code auto}: single vectors multiply Q4_0 matrices from their interleaved
     *                        copies ({@code InterleavedQ4_0}, {@code ModelOptions.repack}), whose int8 kernel is
     *                        the faster one, so single vectors are quantized for every Q4_0 matrix too; and, with
     *                        {@code auto} or {@code ggml}, Q2_K..Q6_K matrices from theirs
     *                        ({@link InterleavedKQuant}), with Q8_K activations ({@link #usesQ8K})
     */
    public ActivationRounding(boolean ggml, boolean auto, boolean interleavedQ4_0) {
        this.ggml = ggml;
        this.auto = auto;
        this.interleavedQ4_0 = interleavedQ4_0;
    }

    /** A new rounding with this one's policy and buffers of its own (one per user of rounded vectors). */
    public ActivationRounding withSamePolicy() { return new ActivationRounding(ggml, auto, interleavedQ4_0); }

    /**
     * Whether products of {@code w} with {@code n} vectors multiply int8 codes ({@link #q8()},
     * {@link Int8DotProduct#dotQ8}) rather than floats.
     */
    public boolean usesInt8(Tensor w, int n) {
        if (!(w.type() instanceof Int8DotProduct int8) || w.cols() % Q8Activation.BLOCK != 0) return false;
        if (ggml) return true;
        if (!auto) return false;
        boolean q4 = w.ggmlType() == GgmlType.Q4_0;
        // Batches of Q4_0: the 16-bit integer GEMM beats the float one from more than half a tile of tokens on.
        if (n > 1) return q4 && n >= Q4_0TokenLanesGemm.MIN_BATCH;
        // Every Q4_0 matrix, also those too small to interleave: one model's products all round alike.
        return int8.preferredForSingleVectors() || (interleavedQ4_0 && q4);
    }

    /**
     * Whether a product of K-quant matrix {@code w} with {@code n} vectors multiplies Q8_K codes
     * ({@link #prepareQ8K}) from the matrix's interleaved copy: single vectors, with {@code ggml} or {@code auto}
     * rounding and repacked weights. ggml-cpu's own arithmetic (integer sub-block sums of Q8_K codes), so with
     * {@code ggml} the rounding is that of the float path's Q8_K round trip; with {@code auto} it is new rounding
     * (~1e-2 relative per dot product, as llama.cpp's) for speed: this kernel is about 3x the float one's.
     */
    public boolean usesQ8K(Tensor w, int n) {
        return n == 1 && interleavedQ4_0 && (ggml || auto) && InterleavedKQuant.supports(w.ggmlType(), w.rows(), w.cols());
    }

    /**
     * Whether a batch of {@code n} tokens times K-quant matrix {@code w} multiplies Q8_K codes in 16-bit lanes
     * ({@link KQuantTokenLanesGemm}): with {@code auto} rounding (not {@code ggml}, whose batches keep the float
     * GEMM on Q8_K-rounded values, nor float32), Q2_K, Q3_K and Q4_K, from {@link KQuantTokenLanesGemm#MIN_BATCH}
     * tokens on. The rounding is ggml's own for these types (Q8_K activations, ~1e-2 relative per dot product).
     */
    public boolean usesQ8KBatch(Tensor w, int n) {
        return auto && !ggml && n >= KQuantTokenLanesGemm.MIN_BATCH && KQuantTokenLanesGemm.supports(w);
    }

    /**
     * {@code x[xOffset .. xOffset+count)} (several tokens) as Q8_K blocks, quantized once per batch ({@link #reset})
     * on {@code pool}'s threads; each block is quantized whole by one thread, so the codes do not depend on the pool.
     */
    public Q8KActivation prepareQ8K(float[] x, int xOffset, int count, Parallel pool) {
        input = x;
        inputOffset = xOffset;
        if ((done & Q8K_CODES) == 0) {
            if (q8k == null || q8k.capacity() < count) q8k = new Q8KActivation(count);
            quantizeCount = count;
            pool.forRange(count / Q8KActivation.BLOCK, count, quantizeQ8KBody);
            done |= Q8K_CODES;
        }
        return q8k;
    }

    /** {@code x[xOffset .. xOffset+count)} as Q8_K blocks, quantized once per vector ({@link #reset}). */
    public Q8KActivation prepareQ8K(float[] x, int xOffset, int count) {
        input = x;
        inputOffset = xOffset;
        if ((done & Q8K_CODES) == 0) {
            if (q8k == null || q8k.capacity() < count) q8k = new Q8KActivation(count);
            q8k.quantize(x, xOffset, count);
            done |= Q8K_CODES;
        }
        return q8k;
    }

    /** Whether vectors are rounded as ggml-cpu rounds them. */
    public boolean ggml() { return ggml; }

    /** Starts a new vector: roundings made so far are stale. */
    public void reset() { done = 0; }

    /**
     * Prepares {@code x[xOffset .. xOffset+count)} for products with the rows of {@code w}.
     *
     * @return true when those products multiply integer codes with {@link #q8()} ({@link Int8DotProduct#dotQ8});
     *         false when they take the float vector {@link #input()} from {@link #inputOffset()}
     */
    public boolean prepare(Tensor w, float[] x, int xOffset, int count) { return prepare(w, x, xOffset, count, null); }

    /**
     * {@link #prepare(Tensor, float[], int, int)}, quantizing to int8 blocks on {@code pool}'s threads when
     * there is enough work to share (a prompt batch: on one thread it left the others idle ~4% of a Q4_0 batch).
     * Each block is quantized whole by one thread, so the codes do not depend on the pool.
     *
     * @param pool where to quantize, or null for the calling thread
     */
    public boolean prepare(Tensor w, float[] x, int xOffset, int count, Parallel pool) {
        input = x;
        inputOffset = xOffset;
        if (usesInt8(w, count / w.cols())) {
            if ((done & Q8) == 0) {
                if (q8 == null || q8.capacity() < count) q8 = new Q8Activation(count);
                if (pool == null) {
                    q8.quantize(x, xOffset, count);
                } else {
                    quantizeCount = count;   // the body reads x through input and inputOffset
                    pool.forRange(count / Q8Activation.BLOCK, count, quantizeBody);
                }
                done |= Q8;
            }
            return true;
        }
        if (!ggml) return false;
        GgmlType t = w.ggmlType();
        if (t == GgmlType.Q2_K || t == GgmlType.Q3_K || t == GgmlType.Q4_K || t == GgmlType.Q5_K || t == GgmlType.Q6_K) {
            if ((done & Q8K) == 0) {
                if (roundedQ8K.length < count) roundedQ8K = new float[count];
                Q8_K.roundTrip(x, xOffset, roundedQ8K, 0, count);
                done |= Q8K;
            }
            input = roundedQ8K;
        } else if (t == GgmlType.F16) {
            if ((done & HALF) == 0) {
                if (roundedF16.length < count) roundedF16 = new float[count];
                for (int i = 0; i < count; i++) roundedF16[i] = Fp16.round(x[xOffset + i]);
                done |= HALF;
            }
            input = roundedF16;
        } else if (t == GgmlType.BF16) {
            if ((done & BHALF) == 0) {
                if (roundedBF16.length < count) roundedBF16 = new float[count];
                for (int i = 0; i < count; i++) roundedBF16[i] = Fp16.bf16ToFloat(Fp16.floatToBf16(x[xOffset + i]));
                done |= BHALF;
            }
            input = roundedBF16;
        } else {
            return false;
        }
        inputOffset = 0;
        return false;
    }

    /** The float vector the last {@link #prepare} chose (when it returned false). */
    public float[] input() { return input; }

    /** Where that vector starts. */
    public int inputOffset() { return inputOffset; }

    /** The int8 blocks of the current vector (when {@link #prepare} returned true). */
    public Q8Activation q8() { return q8; }
}
