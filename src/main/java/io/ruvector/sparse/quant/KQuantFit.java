package io.ruvector.sparse.quant;

import java.lang.foreign.MemorySegment;

import static io.ruvector.sparse.quant.KQuants.clamp;
import static io.ruvector.sparse.quant.KQuants.nearestInt;

/**
 * The scale searches of the K-quant encoders (after the ideas of ggml's {@code make_qkx2_quants} and
 * {@code make_qx_quants}; written here, not ported).
 *
 * <p>Both try a small grid of candidate scales around the obvious one (range / levels), round every value to
 * the nearest level for each candidate, refit the scale (and min) to those levels by weighted least squares,
 * and keep the candidate with the smallest weighted error. Plain round-to-nearest is the first candidate, so
 * the search is never worse than it. Levels are written to {@code levels[lo..lo+n)} for values
 * {@code x[xo..xo+n)}.
 *
 * <p>Candidate order, parameters and float operations are chosen so that the K-quant encoders write the same
 * bytes as ggml's reference quantizers ({@code quantize_row_*_ref}, what llama-quantize runs without an
 * importance matrix); {@code KQuantGoldenTest} checks that on llama.cpp's own output.
 */
final class KQuantFit {

    private KQuantFit() {}

    /**
     * Fits {@code n} values as {@code scale * L - min} with integer levels {@code L} in {@code [0, nmax]},
     * {@code scale >= 0} and {@code min >= 0} (values are only offset downwards, as the K-quant formats store it).
     *
     * @param w        per-value error weights {@code w[0..n)}
     * @param minOut   receives min at {@code minOut[minIndex]}
     * @param rmin     candidate k (0..nstep) has inverse scale {@code (rmin + rdelta*k + nmax) / (max - offset)}
     *                 and levels {@code round((x - offset) * inverse)}, where offset is the best min so far
     * @param absError minimise the weighted absolute error instead of the squared error
     * @return the scale
     */
    static float affine(float[] x, int xo, int n, int nmax, float[] w, int[] levels, int lo,
                        float[] minOut, int minIndex, float rmin, float rdelta, int nstep, boolean absError) {
        float min = x[xo];
        float max = x[xo];
        float sumW = 0;
        float sumX = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            min = Math.min(min, v);
            max = Math.max(max, v);
            sumW += w[i];
            sumX += w[i] * v;
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) levels[lo + i] = 0;
            minOut[minIndex] = -min;
            return 0f;
        }
        float inv = nmax / (max - min);
        float scale = 1 / inv;
        float offset = min;
        float bestErr = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp(nearestInt(inv * (x[xo + i] - min)), 0, nmax);
            levels[lo + i] = l;
            bestErr += w[i] * error(scale * l + offset - x[xo + i], absError);
        }
        int[] trial = new int[n];
        for (int k = 0; k <= nstep; k++) {
            // Each grid is laid from the best offset found so far, so the search also walks the offset.
            inv = (rmin + rdelta * k + nmax) / (max - offset);
            float sumL = 0;
            float sumL2 = 0;
            float sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = clamp(nearestInt(inv * (x[xo + i] - offset)), 0, nmax);
                trial[i] = l;
                sumL += w[i] * l;
                sumL2 += w[i] * l * l;
                sumXL += w[i] * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det <= 0) continue;
            // Weighted least squares for value = s*l + m over these levels; m may not go above zero.
            float s = (sumW * sumXL - sumX * sumL) / det;
            float m = (sumL2 * sumX - sumL * sumXL) / det;
            if (m > 0) {
                m = 0;
                s = sumXL / sumL2;
            }
            float err = 0;
            for (int i = 0; i < n; i++) err += w[i] * error(s * trial[i] + m - x[xo + i], absError);
            if (err < bestErr) {
                bestErr = err;
                scale = s;
                offset = m;
                System.arraycopy(trial, 0, levels, lo, n);
            }
        }
        minOut[minIndex] = -offset;
        return scale;
    }

    private static float error(float diff, boolean abs) { return abs ? Math.abs(diff) : diff * diff; }

    /**
     * Fits {@code n} values as {@code scale * L} with integer levels {@code L} in {@code [-nmax, nmax-1]},
     * weighting each value by its square (large values matter most). The sign of the scale is chosen so the
     * value of largest magnitude lands on {@code -nmax}, the level that has no positive twin.
     *
     * <p>Starts from round-to-nearest with the least-squares scale. With {@code gridSearch} it then tries the
     * grids {@code nmax-0.9 .. nmax+0.9} (ggml's Q6_K choice); without it, it revisits values one at a time and
     * moves a value to the level the other values' scale prefers when that lowers the error (ggml's Q3_K
     * choice; like ggml it only does so while the running {@code sum(w*x*L)} is positive, that is when the
     * value of largest magnitude is negative, which keeps our output identical to ggml's).
     *
     * @param levels receives {@code L + nmax} (0..2*nmax-1)
     * @return the scale (negative when the value of largest magnitude is positive), 0 for an all-zero run
     */
    static float symmetric(float[] x, int xo, int n, int nmax, int[] levels, int lo, boolean gridSearch) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float a = Math.abs(x[xo + i]);
            if (a > amax) {
                amax = a;
                max = x[xo + i];
            }
        }
        if (amax < 1e-15f) {
            for (int i = 0; i < n; i++) levels[lo + i] = 0;
            return 0f;
        }
        int[] l = new int[n];
        int[] trial = new int[n];
        // Round-to-nearest; its scale stays max/-nmax when the weighted sums underflow (tiny inputs).
        float inv = -nmax / max;
        float sumLX = 0;
        float sumL2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            l[i] = clamp(nearestInt(inv * v), -nmax, nmax - 1);
            sumLX += v * v * v * l[i];
            sumL2 += v * v * l[i] * l[i];
        }
        float scale = sumL2 > 0 ? sumLX / sumL2 : 1 / inv;
        if (gridSearch) {
            // The least-squares scale sumLX/sumL2 leaves error sum(w x^2) - sumLX^2/sumL2: maximise the last term.
            float best = scale * sumLX;
            for (int step = -9; step <= 9; step++) {
                if (step == 0) continue;
                inv = -(nmax + 0.1f * step) / max;
                float tLX = 0;
                float tL2 = 0;
                for (int i = 0; i < n; i++) {
                    float v = x[xo + i];
                    trial[i] = clamp(nearestInt(inv * v), -nmax, nmax - 1);
                    tLX += v * v * v * trial[i];
                    tL2 += v * v * trial[i] * trial[i];
                }
                if (tL2 > 0 && tLX * tLX > best * tL2) {
                    System.arraycopy(trial, 0, l, 0, n);
                    scale = tLX / tL2;
                    best = scale * tLX;
                }
            }
        } else if (sumL2 > 0) {
            for (int pass = 0; pass < 5; pass++) {
                boolean changed = false;
                for (int i = 0; i < n; i++) {
                    float v = x[xo + i];
                    float w = v * v;
                    float lx = sumLX - w * v * l[i];
                    if (lx <= 0) continue;
                    float l2 = sumL2 - w * l[i] * l[i];
                    int next = clamp(nearestInt(v * l2 / lx), -nmax, nmax - 1);
                    if (next == l[i]) continue;
                    lx += w * v * next;
                    l2 += w * next * next;
                    if (l2 > 0 && lx * lx * sumL2 > sumLX * sumLX * l2) {
                        l[i] = next;
                        sumLX = lx;
                        sumL2 = l2;
                        changed = true;
                    }
                }
                if (!changed) break;
            }
            scale = sumLX / sumL2;
        }
        for (int i = 0; i < n; i++) levels[lo + i] = l[i] + nmax;
        return scale;
    }

    /**
     * The shared scale stage of Q4_K and Q5_K: fits each of the 8 sub-blocks of 32 values at {@code x[xo..]}
     * ({@link #affine}, weights {@code rms + |x|}), rounds scales and mins to 6 bits against their block
     * maxima, writes fp16 {@code d}, fp16 {@code dmin} and the 12 scale bytes at {@code blk}, and re-rounds
     * every value to the final grid.
     *
     * @return the levels (0..nmax) of the 256 values, for the caller to pack
     */
    static int[] encodeScalesK4(float[] x, int xo, int nmax, float rmin, float rdelta, int nstep,
                                MemorySegment dst, long blk) {
        int[] levels = new int[KQuants.QK];
        float[] scales = new float[8];
        float[] mins = new float[8];
        float[] w = new float[32];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 8; j++) {
            int o = xo + 32 * j;
            float sumSq = 0;
            for (int i = 0; i < 32; i++) sumSq += x[o + i] * x[o + i];
            float rms = (float) Math.sqrt(sumSq / 32);
            for (int i = 0; i < 32; i++) w[i] = rms + Math.abs(x[o + i]);
            scales[j] = affine(x, o, 32, nmax, w, levels, 32 * j, mins, j, rmin, rdelta, nstep, false);
            maxScale = Math.max(maxScale, scales[j]);
            maxMin = Math.max(maxMin, mins[j]);
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        int[] ls = new int[8];
        int[] lm = new int[8];
        for (int j = 0; j < 8; j++) {
            ls[j] = Math.min(63, nearestInt(invScale * scales[j]));
            lm[j] = Math.min(63, nearestInt(invMin * mins[j]));
        }
        KQuants.putF16(dst, blk, maxScale / 63f);
        KQuants.putF16(dst, blk + 2, maxMin / 63f);
        KQuants.putScalesK4(dst, blk + 4, ls, lm);
        float d = KQuants.f16(dst, blk);
        float dmin = KQuants.f16(dst, blk + 2);
        for (int j = 0; j < 8; j++) {
            float dl = d * ls[j];
            if (dl == 0) continue;
            float ml = dmin * lm[j];
            for (int i = 0; i < 32; i++) {
                levels[32 * j + i] = clamp(nearestInt((x[xo + 32 * j + i] + ml) / dl), 0, nmax);
            }
        }
        return levels;
    }
}
