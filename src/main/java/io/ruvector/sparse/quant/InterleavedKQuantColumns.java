package io.ruvector.sparse.quant;

import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Products of an interleaved K-quant copy ({@link InterleavedKQuant}) with several Q8_K activation vectors at once,
 * each column's result equal bit for bit to {@link InterleavedKQuant#dotQ8K} of that column alone: the batched
 * decode steps' kernel ({@code MatMul.eachColumnAlone()}), for Q4_K and Q6_K.
 *
 * <p>Why it is faster than one {@code dotQ8K} per column: the single-vector kernel spends most of its work on
 * unpacking the weight codes (load, widen, mask, shift; for Q6_K nine operations per four codes) and broadcasting
 * one activation code per multiply; the multiply-adds themselves are a third of it. Here each chunk of rows and
 * super-block is unpacked once, into per-thread scratch, as 16-bit code pairs of two values (lanes {@code 2r} and
 * {@code 2r + 1} of a vector of shorts hold row r's codes of values {@code v} and {@code v + 32}), and each column
 * then costs one broadcast of its matching pair of activation codes (one int, {@link #pairCodes}), one 16-bit
 * multiply and one add per two values and {@code LS / 2} rows.
 *
 * <p>Why the bits are the same: each 16-bit accumulator sums the very products the single-vector kernel's does
 * (Q4_K: values {@code k < 16} and {@code k >= 16} of a sub-block, 16 products; Q6_K: positions {@code l < 8} and
 * {@code l >= 8}, 8 products), so even a wrap-around would be the same; the pair halves are split by shifts into
 * the same int sums, weighted by the same integer scales and mins (integer sums are exact and associative); and
 * the float step per row and super-block is the single-vector kernel's, in its order and with its operations:
 * {@code acc = acc + sumi * (d * dx) - summ * (dmin * dx)} (Q6_K without the second term), {@code d} the exact
 * float of the fp16 scale. The accumulators live in scratch arrays between super-blocks; storing a float and
 * loading it back changes no bit.
 *
 * <p>Conversions follow {@link InterleavedKQuant}'s rule (sign-extending widenings with masks, target species
 * named); pairs move between int and short lanes by {@code reinterpretShape} with a named species. Vectors never
 * cross a method call: the kernels take and return arrays only (see {@code Q4_0.dot} on helpers that take and
 * return vectors, whose vectors C2 boxed).
 */
public final class InterleavedKQuantColumns {

    private static final VectorSpecies<Short> S = InterleavedKQuant.S;
    private static final VectorSpecies<Byte> BYTES = InterleavedKQuant.BYTES;
    private static final VectorSpecies<Integer> I = InterleavedKQuant.I;
    private static final VectorSpecies<Float> F = InterleavedKQuant.F;
    private static final int LS = InterleavedKQuant.LS;
    private static final int LF = InterleavedKQuant.LF;
    private static final int GROUP = InterleavedKQuant.GROUP;
    private static final int QK = InterleavedKQuant.QK;
    /**
     * Fewest columns for which this kernel is taken instead of {@code dotQ8K} per column: unpacking a chunk costs
     * about one and a half columns' work (scratch loop, 2048 x 2048, one thread, 512 bits: Q4_K and Q6_K run at
     * 0.9x of {@code dotQ8K} per column with 2 and 3 columns, 1.0x with 4, 1.2x with 6, 1.25-1.45x with 8), and in
     * the model it does worse than that loop ({@code bench --parallel} on a Q4_K_M file, 2 threads: 4 requests
     * 0.87x of the per-column kernel's aggregate, 8 requests 1.08-1.15x).
     */
    public static final int MIN_COLUMNS = 6;
    /** Pair codes per super-block of an activation: values {@code 64p + k} and {@code 64p + 32 + k}, p < 4, k < 32. */
    public static final int PAIRS = QK / 2;

    // InterleavedQ4_K's layout (its class comment): four parts of 32 code bytes, 2 scales and 2 mins for 32 rows
    private static final int Q4K_PART = 36 * GROUP;
    private static final int Q4K_D = 4 * Q4K_PART;
    private static final int Q4K_DMIN = Q4K_D + 2 * GROUP;
    // InterleavedQ6_K's layout: four parts of 16 positions' W words and B bytes, then 4 scales, for 32 rows
    private static final int Q6K_PART = 52 * GROUP;
    private static final int Q6K_D = 4 * Q6K_PART;

    /** Per-thread unpacked weights of one chunk and super-block, and the columns' float accumulators. */
    private static final class Scratch {
        final int[] pairs = new int[128 * LS];   // Q4_K: (part p, k) ; Q6_K: (part, position, code pair)
        final int[] scales = new int[16 * LS];   // Q4_K: (part, scale lo/hi, min lo/hi) ; Q6_K: (part, k)
        final float[] d = new float[2 * LS];     // the rows' d, then dmin (Q4_K)
        float[] acc = new float[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private InterleavedKQuantColumns() {}

    /** Whether copies of {@code t} have this kernel: Q4_K and Q6_K. */
    public static boolean supports(GgmlType t) { return t == GgmlType.Q4_K || t == GgmlType.Q6_K; }

    /**
     * {@code pairs[b * PAIRS + 32p + k] = (q[256b + 64p + k] & 0xFFFF) | q[256b + 64p + 32 + k] << 16} for the
     * super-blocks of the first {@code cols} values of {@code x} (a multiple of 256): the activation codes as the
     * kernels broadcast them, two values per int.
     */
    public static void pairCodes(Q8KActivation x, int cols, int[] pairs) {
        if (cols % QK != 0 || cols > x.length() || pairs.length < cols / 2) {
            throw new IllegalArgumentException("pair codes of " + cols + " values from an activation of " + x.length()
                    + " into " + pairs.length + " ints");
        }
        short[] q = x.q;
        for (int b = 0; b < cols / QK; b++) {
            for (int p = 0; p < 4; p++) {
                int v = b * QK + 64 * p;
                int o = b * PAIRS + 32 * p;
                for (int k = 0; k < 32; k++) pairs[o + k] = (q[v + k] & 0xFFFF) | q[v + 32 + k] << 16;
            }
        }
    }

    /**
     * {@code out[outOffset + t * stride + r] = row r . xs[t]} for columns {@code t < n} and the rows of groups
     * {@code [groupFrom, groupTo)} of {@code m} (Q4_K or Q6_K), {@code pairs[t]} made by {@link #pairCodes} from
     * {@code xs[t]}: each column the bits of {@code m.dotQ8K(xs[t], ...)}.
     */
    public static void dotQ8KColumns(InterleavedKQuant m, Q8KActivation[] xs, int[][] pairs, int n, float[] out,
                                     int outOffset, int stride, int groupFrom, int groupTo) {
        check(m, xs, pairs, n, out, outOffset, stride, groupFrom, groupTo);
        Scratch s = SCRATCH.get();
        if (s.acc.length < n * LS) s.acc = new float[n * LS];
        float[] acc = s.acc;
        boolean q4 = m.ggmlType() == GgmlType.Q4_K;
        MemorySegment data = m.data;
        int blocks = m.blocks;
        for (int g = groupFrom; g < groupTo; g++) {
            for (int c = 0; c < GROUP / LS; c++) {
                long lane = (long) c * LS;
                java.util.Arrays.fill(acc, 0, n * LS, 0f);
                for (int b = 0; b < blocks; b++) {
                    long base = ((long) g * blocks + b) * (q4 ? InterleavedQ4_K.SB : InterleavedQ6_K.SB);
                    if (q4) {
                        unpackQ4K(data, base, lane, s);
                        for (int t = 0; t < n; t++) columnQ4K(s, pairs[t], b, xs[t].d[b], xs[t].sum16, acc, t * LS);
                    } else {
                        unpackQ6K(data, base, lane, s);
                        for (int t = 0; t < n; t++) columnQ6K(s, pairs[t], b, xs[t].d[b], acc, t * LS);
                    }
                }
                int r = g * GROUP + c * LS;
                for (int t = 0; t < n; t++) {
                    int o = outOffset + t * stride + r;
                    int live = Math.min(LS, m.rows - r);   // the last, partial group: padding lanes are not written
                    if (live > 0) System.arraycopy(acc, t * LS, out, o, live);
                }
            }
        }
    }

    /** Q4_K: the chunk's code pairs (low nibble, high nibble) per part and byte, its scales, mins, d and dmin. */
    private static void unpackQ4K(MemorySegment data, long base, long lane, Scratch s) {
        int[] w = s.pairs;
        for (int p = 0; p < 4; p++) {
            long codes = base + (long) p * Q4K_PART + lane;
            for (int k = 0; k < 32; k++) {
                ByteVector v = ByteVector.fromMemorySegment(BYTES, data, codes + (long) k * GROUP, Simd.LE);
                IntVector v0 = (IntVector) v.convertShape(VectorOperators.B2I, I, 0);
                IntVector v1 = (IntVector) v.convertShape(VectorOperators.B2I, I, 1);
                int o = (32 * p + k) * LS;
                v0.and(0xF).or(v0.lanewise(VectorOperators.LSHL, 12).and(0xF0000)).intoArray(w, o);
                v1.and(0xF).or(v1.lanewise(VectorOperators.LSHL, 12).and(0xF0000)).intoArray(w, o + LF);
            }
            long sc = base + (long) p * Q4K_PART + 32 * GROUP + lane;   // scale 2p, scale 2p + 1, min 2p, min 2p + 1
            for (int e = 0; e < 4; e++) {
                ByteVector v = ByteVector.fromMemorySegment(BYTES, data, sc + (long) e * GROUP, Simd.LE);
                ((IntVector) v.convertShape(VectorOperators.B2I, I, 0)).intoArray(s.scales, (4 * p + e) * LS);
                ((IntVector) v.convertShape(VectorOperators.B2I, I, 1)).intoArray(s.scales, (4 * p + e) * LS + LF);
            }
        }
        halfFloats(data, base + Q4K_D + 2 * lane, s.d, 0);
        halfFloats(data, base + Q4K_DMIN + 2 * lane, s.d, LS);
    }

    /** The LS fp16 values at {@code at} as floats into {@code d[o ..]}, widened as the single-vector kernels widen them. */
    private static void halfFloats(MemorySegment data, long at, float[] d, int o) {
        ShortVector h = ShortVector.fromMemorySegment(S, data, at, Simd.LE);
        IntVector h0 = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector h1 = (IntVector) h.convertShape(VectorOperators.S2I, I, 1);
        ((FloatVector) h0.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(h0.and(0x80000000))
                .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(0x1p112f).intoArray(d, o);
        ((FloatVector) h1.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(h1.and(0x80000000))
                .convertShape(VectorOperators.REINTERPRET_I2F, F, 0)).mul(0x1p112f).intoArray(d, o + LF);
    }

    /**
     * One column's super-block {@code b} on the unpacked Q4_K chunk, added to its accumulators {@code acc[ao ..
     * ao + LS)}: rows {@code 0 .. LF} of the chunk from the first half of each pair array, the rest from the second.
     */
    private static void columnQ4K(Scratch s, int[] qp, int b, float dx, int[] runs, float[] acc, int ao) {
        int[] w = s.pairs;
        int[] sc = s.scales;
        IntVector sumi0 = IntVector.zero(I), sumi1 = IntVector.zero(I);
        IntVector summ0 = IntVector.zero(I), summ1 = IntVector.zero(I);
        for (int p = 0; p < 4; p++) {
            int qo = b * PAIRS + 32 * p;
            int wo = 32 * p * LS;
            ShortVector a0 = ShortVector.zero(S), a1 = ShortVector.zero(S);   // rows of the first half: k < 16, k >= 16
            ShortVector b0 = ShortVector.zero(S), b1 = ShortVector.zero(S);   // rows of the second half
            for (int k = 0; k < 16; k++) {
                ShortVector q = (ShortVector) IntVector.broadcast(I, qp[qo + k]).reinterpretShape(S, 0);
                a0 = a0.add(((ShortVector) IntVector.fromArray(I, w, wo + k * LS).reinterpretShape(S, 0)).mul(q));
                b0 = b0.add(((ShortVector) IntVector.fromArray(I, w, wo + k * LS + LF).reinterpretShape(S, 0)).mul(q));
            }
            for (int k = 16; k < 32; k++) {
                ShortVector q = (ShortVector) IntVector.broadcast(I, qp[qo + k]).reinterpretShape(S, 0);
                a1 = a1.add(((ShortVector) IntVector.fromArray(I, w, wo + k * LS).reinterpretShape(S, 0)).mul(q));
                b1 = b1.add(((ShortVector) IntVector.fromArray(I, w, wo + k * LS + LF).reinterpretShape(S, 0)).mul(q));
            }
            IntVector x0 = (IntVector) a0.reinterpretShape(I, 0), x1 = (IntVector) a1.reinterpretShape(I, 0);
            IntVector y0 = (IntVector) b0.reinterpretShape(I, 0), y1 = (IntVector) b1.reinterpretShape(I, 0);
            IntVector lo0 = x0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(x1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
            IntVector hi0 = x0.lanewise(VectorOperators.ASHR, 16).add(x1.lanewise(VectorOperators.ASHR, 16));
            IntVector lo1 = y0.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(y1.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
            IntVector hi1 = y0.lanewise(VectorOperators.ASHR, 16).add(y1.lanewise(VectorOperators.ASHR, 16));
            int so = 4 * p * LS;
            sumi0 = sumi0.add(lo0.mul(IntVector.fromArray(I, sc, so))).add(hi0.mul(IntVector.fromArray(I, sc, so + LS)));
            sumi1 = sumi1.add(lo1.mul(IntVector.fromArray(I, sc, so + LF))).add(hi1.mul(IntVector.fromArray(I, sc, so + LS + LF)));
            IntVector rLo = IntVector.broadcast(I, runs[b * 16 + 4 * p] + runs[b * 16 + 4 * p + 1]);
            IntVector rHi = IntVector.broadcast(I, runs[b * 16 + 4 * p + 2] + runs[b * 16 + 4 * p + 3]);
            summ0 = summ0.add(IntVector.fromArray(I, sc, so + 2 * LS).mul(rLo)).add(IntVector.fromArray(I, sc, so + 3 * LS).mul(rHi));
            summ1 = summ1.add(IntVector.fromArray(I, sc, so + 2 * LS + LF).mul(rLo))
                    .add(IntVector.fromArray(I, sc, so + 3 * LS + LF).mul(rHi));
        }
        FloatVector dxv = FloatVector.broadcast(F, dx);
        FloatVector fd0 = FloatVector.fromArray(F, s.d, 0).mul(dxv);
        FloatVector fd1 = FloatVector.fromArray(F, s.d, LF).mul(dxv);
        FloatVector fm0 = FloatVector.fromArray(F, s.d, LS).mul(dxv);
        FloatVector fm1 = FloatVector.fromArray(F, s.d, LS + LF).mul(dxv);
        FloatVector.fromArray(F, acc, ao)
                .add(((FloatVector) sumi0.convertShape(VectorOperators.I2F, F, 0)).mul(fd0))
                .sub(((FloatVector) summ0.convertShape(VectorOperators.I2F, F, 0)).mul(fm0))
                .intoArray(acc, ao);
        FloatVector.fromArray(F, acc, ao + LF)
                .add(((FloatVector) sumi1.convertShape(VectorOperators.I2F, F, 0)).mul(fd1))
                .sub(((FloatVector) summ1.convertShape(VectorOperators.I2F, F, 0)).mul(fm1))
                .intoArray(acc, ao + LF);
    }

    /**
     * Q6_K: per part and position, the chunk's code pairs (code 0, code 1) and (code 2, code 3), signed, from the
     * W words and B bytes as {@link InterleavedQ6_K} splits them; the parts' int8 scales; d.
     */
    private static void unpackQ6K(MemorySegment data, long base, long lane, Scratch s) {
        int[] w = s.pairs;
        for (int hs = 0; hs < 4; hs++) {
            long codes = base + (long) hs * Q6K_PART;
            for (int l = 0; l < 16; l++) {
                long at = codes + (long) l * 3 * GROUP;
                ShortVector words = ShortVector.fromMemorySegment(S, data, at + 2 * lane, Simd.LE);
                ByteVector bytes = ByteVector.fromMemorySegment(BYTES, data, at + 2 * GROUP + lane, Simd.LE);
                int o = (16 * hs + l) * 2 * LS;
                for (int half = 0; half < 2; half++) {
                    IntVector wi = (IntVector) words.convertShape(VectorOperators.S2I, I, half);
                    IntVector bi = (IntVector) bytes.convertShape(VectorOperators.B2I, I, half);
                    IntVector s0 = wi.lanewise(VectorOperators.LSHL, 26).lanewise(VectorOperators.ASHR, 26);
                    IntVector s1 = bi.lanewise(VectorOperators.ASHR, 2);
                    IntVector s2 = wi.lanewise(VectorOperators.ASHR, 10);
                    IntVector s3 = bi.lanewise(VectorOperators.LSHL, 30).lanewise(VectorOperators.ASHR, 26)
                            .or(wi.lanewise(VectorOperators.LSHR, 6).and(0xF));
                    s0.and(0xFFFF).or(s1.lanewise(VectorOperators.LSHL, 16)).intoArray(w, o + half * LF);
                    s2.and(0xFFFF).or(s3.lanewise(VectorOperators.LSHL, 16)).intoArray(w, o + LS + half * LF);
                }
            }
            long sc = base + (long) hs * Q6K_PART + 48 * GROUP + lane;   // sub-block 8h + 2k + hs % 2 at sc + k * GROUP
            for (int k = 0; k < 4; k++) {
                ByteVector v = ByteVector.fromMemorySegment(BYTES, data, sc + (long) k * GROUP, Simd.LE);
                ((IntVector) v.convertShape(VectorOperators.B2I, I, 0)).intoArray(s.scales, (4 * hs + k) * LS);
                ((IntVector) v.convertShape(VectorOperators.B2I, I, 1)).intoArray(s.scales, (4 * hs + k) * LS + LF);
            }
        }
        halfFloats(data, base + Q6K_D + 2 * lane, s.d, 0);
    }

    /** One column's super-block {@code b} on the unpacked Q6_K chunk, added to {@code acc[ao .. ao + LS)}. */
    private static void columnQ6K(Scratch s, int[] qp, int b, float dx, float[] acc, int ao) {
        int[] w = s.pairs;
        int[] sc = s.scales;
        IntVector sumi0 = IntVector.zero(I), sumi1 = IntVector.zero(I);
        for (int hs = 0; hs < 4; hs++) {   // half h = hs / 2, positions from 16 * (hs % 2)
            int h = hs >> 1;
            int o01 = b * PAIRS + 64 * h + 16 * (hs & 1);   // values 128h + l (+ 32): pair part 2h
            int o23 = o01 + 32;                               // values 128h + 64 + l (+ 32): pair part 2h + 1
            ShortVector a01 = ShortVector.zero(S), a23 = ShortVector.zero(S), c01 = ShortVector.zero(S), c23 = ShortVector.zero(S);
            ShortVector b01 = ShortVector.zero(S), b23 = ShortVector.zero(S), d01 = ShortVector.zero(S), d23 = ShortVector.zero(S);
            for (int l = 0; l < 8; l++) {   // a: rows of the first half, c: the second
                int wo = (16 * hs + l) * 2 * LS;
                ShortVector q01 = (ShortVector) IntVector.broadcast(I, qp[o01 + l]).reinterpretShape(S, 0);
                ShortVector q23 = (ShortVector) IntVector.broadcast(I, qp[o23 + l]).reinterpretShape(S, 0);
                a01 = a01.add(((ShortVector) IntVector.fromArray(I, w, wo).reinterpretShape(S, 0)).mul(q01));
                c01 = c01.add(((ShortVector) IntVector.fromArray(I, w, wo + LF).reinterpretShape(S, 0)).mul(q01));
                a23 = a23.add(((ShortVector) IntVector.fromArray(I, w, wo + LS).reinterpretShape(S, 0)).mul(q23));
                c23 = c23.add(((ShortVector) IntVector.fromArray(I, w, wo + LS + LF).reinterpretShape(S, 0)).mul(q23));
            }
            for (int l = 8; l < 16; l++) {   // b: rows of the first half, d: the second
                int wo = (16 * hs + l) * 2 * LS;
                ShortVector q01 = (ShortVector) IntVector.broadcast(I, qp[o01 + l]).reinterpretShape(S, 0);
                ShortVector q23 = (ShortVector) IntVector.broadcast(I, qp[o23 + l]).reinterpretShape(S, 0);
                b01 = b01.add(((ShortVector) IntVector.fromArray(I, w, wo).reinterpretShape(S, 0)).mul(q01));
                d01 = d01.add(((ShortVector) IntVector.fromArray(I, w, wo + LF).reinterpretShape(S, 0)).mul(q01));
                b23 = b23.add(((ShortVector) IntVector.fromArray(I, w, wo + LS).reinterpretShape(S, 0)).mul(q23));
                d23 = d23.add(((ShortVector) IntVector.fromArray(I, w, wo + LS + LF).reinterpretShape(S, 0)).mul(q23));
            }
            int so = 4 * hs * LS;
            IntVector x01 = (IntVector) a01.reinterpretShape(I, 0), y01 = (IntVector) b01.reinterpretShape(I, 0);
            IntVector x23 = (IntVector) a23.reinterpretShape(I, 0), y23 = (IntVector) b23.reinterpretShape(I, 0);
            sumi0 = sumi0
                    .add(x01.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(y01.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).mul(IntVector.fromArray(I, sc, so)))
                    .add(x01.lanewise(VectorOperators.ASHR, 16).add(y01.lanewise(VectorOperators.ASHR, 16)).mul(IntVector.fromArray(I, sc, so + LS)))
                    .add(x23.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(y23.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).mul(IntVector.fromArray(I, sc, so + 2 * LS)))
                    .add(x23.lanewise(VectorOperators.ASHR, 16).add(y23.lanewise(VectorOperators.ASHR, 16)).mul(IntVector.fromArray(I, sc, so + 3 * LS)));
            IntVector u01 = (IntVector) c01.reinterpretShape(I, 0), v01 = (IntVector) d01.reinterpretShape(I, 0);
            IntVector u23 = (IntVector) c23.reinterpretShape(I, 0), v23 = (IntVector) d23.reinterpretShape(I, 0);
            sumi1 = sumi1
                    .add(u01.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(v01.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).mul(IntVector.fromArray(I, sc, so + LF)))
                    .add(u01.lanewise(VectorOperators.ASHR, 16).add(v01.lanewise(VectorOperators.ASHR, 16)).mul(IntVector.fromArray(I, sc, so + LS + LF)))
                    .add(u23.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(v23.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)).mul(IntVector.fromArray(I, sc, so + 2 * LS + LF)))
                    .add(u23.lanewise(VectorOperators.ASHR, 16).add(v23.lanewise(VectorOperators.ASHR, 16)).mul(IntVector.fromArray(I, sc, so + 3 * LS + LF)));
        }
        FloatVector dxv = FloatVector.broadcast(F, dx);
        FloatVector fd0 = FloatVector.fromArray(F, s.d, 0).mul(dxv);
        FloatVector fd1 = FloatVector.fromArray(F, s.d, LF).mul(dxv);
        FloatVector.fromArray(F, acc, ao).add(((FloatVector) sumi0.convertShape(VectorOperators.I2F, F, 0)).mul(fd0)).intoArray(acc, ao);
        FloatVector.fromArray(F, acc, ao + LF).add(((FloatVector) sumi1.convertShape(VectorOperators.I2F, F, 0)).mul(fd1)).intoArray(acc, ao + LF);
    }

    /**
     * Scalar twin of {@link #dotQ8KColumns}: the same code pairs and activation pairs, one row, column and pair
     * at a time, with the vector kernel's 16-bit accumulators (wrapping as shorts do) and float steps.
     */
    public static void dotQ8KColumnsScalar(InterleavedKQuant m, Q8KActivation[] xs, int[][] pairs, int n, float[] out,
                                           int outOffset, int stride, int groupFrom, int groupTo) {
        check(m, xs, pairs, n, out, outOffset, stride, groupFrom, groupTo);
        boolean q4 = m.ggmlType() == GgmlType.Q4_K;
        MemorySegment data = m.data;
        for (int g = groupFrom; g < groupTo; g++) {
            for (int i = 0; i < GROUP && g * GROUP + i < m.rows; i++) {
                for (int t = 0; t < n; t++) {
                    int[] qp = pairs[t];
                    float sum = 0f;
                    for (int b = 0; b < m.blocks; b++) {
                        float dx = xs[t].d[b];
                        if (q4) {
                            long base = ((long) g * m.blocks + b) * InterleavedQ4_K.SB;
                            int sumi = 0;
                            int summ = 0;
                            for (int p = 0; p < 4; p++) {
                                int lo = 0;
                                int hi = 0;
                                for (int half = 0; half < 2; half++) {
                                    short accLo = 0;
                                    short accHi = 0;
                                    for (int k = 16 * half; k < 16 * half + 16; k++) {
                                        int c = data.get(ValueLayout.JAVA_BYTE, base + (long) p * Q4K_PART + (long) k * GROUP + i);
                                        int pair = (c & 0xF) | (c << 12 & 0xF0000);
                                        int q = qp[b * PAIRS + 32 * p + k];
                                        accLo = (short) (accLo + (short) pair * (short) q);
                                        accHi = (short) (accHi + (short) (pair >> 16) * (short) (q >> 16));
                                    }
                                    lo += accLo;
                                    hi += accHi;
                                }
                                long sc = base + (long) p * Q4K_PART + 32 * GROUP + i;
                                sumi += lo * data.get(ValueLayout.JAVA_BYTE, sc) + hi * data.get(ValueLayout.JAVA_BYTE, sc + GROUP);
                                int[] runs = xs[t].sum16;
                                summ += data.get(ValueLayout.JAVA_BYTE, sc + 2 * GROUP) * (runs[b * 16 + 4 * p] + runs[b * 16 + 4 * p + 1])
                                        + data.get(ValueLayout.JAVA_BYTE, sc + 3 * GROUP) * (runs[b * 16 + 4 * p + 2] + runs[b * 16 + 4 * p + 3]);
                            }
                            sum = sum + sumi * (Fp16.read(data, base + Q4K_D + 2L * i) * dx);
                            sum = sum - summ * (Fp16.read(data, base + Q4K_DMIN + 2L * i) * dx);
                        } else {
                            long base = ((long) g * m.blocks + b) * InterleavedQ6_K.SB;
                            int sumi = 0;
                            for (int hs = 0; hs < 4; hs++) {
                                int o01 = b * PAIRS + 64 * (hs >> 1) + 16 * (hs & 1);
                                int[] sums = new int[4];   // codes 0..3 of the part's positions
                                for (int half = 0; half < 2; half++) {
                                    short[] acc = new short[4];
                                    for (int l = 8 * half; l < 8 * half + 8; l++) {
                                        long at = base + (long) hs * Q6K_PART + (long) l * 3 * GROUP;
                                        int wi = data.get(Layouts.SHORT_LE, at + 2L * i);   // sign-extended
                                        int bi = data.get(ValueLayout.JAVA_BYTE, at + 2 * GROUP + i);
                                        int[] code = {wi << 26 >> 26, bi >> 2, wi >> 10, (bi << 30 >> 26) | (wi >>> 6 & 0xF)};
                                        int q01 = qp[o01 + l];
                                        int q23 = qp[o01 + 32 + l];
                                        int[] q = {(short) q01, q01 >> 16, (short) q23, q23 >> 16};
                                        for (int k = 0; k < 4; k++) acc[k] = (short) (acc[k] + (short) code[k] * (short) q[k]);
                                    }
                                    for (int k = 0; k < 4; k++) sums[k] += acc[k];
                                }
                                long sc = base + (long) hs * Q6K_PART + 48 * GROUP + i;
                                for (int k = 0; k < 4; k++) sumi += sums[k] * data.get(ValueLayout.JAVA_BYTE, sc + (long) k * GROUP);
                            }
                            sum = sum + sumi * (Fp16.read(data, base + Q6K_D + 2L * i) * dx);
                        }
                    }
                    out[outOffset + t * stride + g * GROUP + i] = sum;
                }
            }
        }
    }

    private static void check(InterleavedKQuant m, Q8KActivation[] xs, int[][] pairs, int n, float[] out, int outOffset,
                              int stride, int groupFrom, int groupTo) {
        if (!supports(m.ggmlType())) throw new IllegalArgumentException(m.name() + ": " + m.ggmlType() + " has no multi-column kernel");
        if (n < 0 || xs.length < n || pairs.length < n || stride < Math.min(m.rows, groupTo * GROUP)) {
            throw new IllegalArgumentException(m.name() + ": " + n + " columns of " + xs.length + " activations and "
                    + pairs.length + " pair arrays, column stride " + stride);
        }
        for (int t = 0; t < n; t++) {
            InterleavedKQuant.check(m, xs[t], out, outOffset + t * stride, groupFrom, groupTo);
            if (pairs[t].length < m.cols / 2) {
                throw new IllegalArgumentException(m.name() + ": column " + t + "'s pair codes cover " + 2 * pairs[t].length
                        + " of " + m.cols + " values");
            }
        }
    }
}
