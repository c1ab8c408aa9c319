package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.cpu.Simd;
import io.ruvector.sparse.cpu.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Random;

/**
 * The dense linear algebra predictor fitting needs, on row-major float matrices ({@code a[r * cols + c]}):
 * two matrix products, row orthonormalisation, a symmetric eigensolver and a randomized truncated SVD.
 * Products are parallel over output rows, so results never depend on the thread count.
 */
final class LinAlg {

    private static final VectorSpecies<Float> F = Simd.F;

    private LinAlg() {}

    /** {@code sum_i a[ao+i] * b[bo+i]}. */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int len = F.length(), i = 0;
        for (int upper = n - 2 * len; i <= upper; i += 2 * len) {
            acc0 = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc0);
            acc1 = FloatVector.fromArray(F, a, ao + i + len).fma(FloatVector.fromArray(F, b, bo + i + len), acc1);
        }
        for (int upper = n - len; i <= upper; i += len) {
            acc0 = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc0);
        }
        float s = VectorMath.sum(acc0.add(acc1)); // fixed lane order: same sum interpreted and compiled
        for (; i < n; i++) s = Math.fma(a[ao + i], b[bo + i], s);
        return s;
    }

    /** {@code y[yo..yo+n) += alpha * x[xo..xo+n)}. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        int len = F.length(), i = 0;
        FloatVector va = FloatVector.broadcast(F, alpha);
        for (int upper = n - len; i <= upper; i += len) {
            FloatVector.fromArray(F, x, xo + i).fma(va, FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] = Math.fma(alpha, x[xo + i], y[yo + i]);
    }

    /** {@code C = A B^T}: A is m x k, B is n x k, C is m x n; every C entry a dot of two contiguous rows. */
    static float[] mulABt(float[] a, int m, float[] b, int n, int k, Parallel pool) {
        float[] c = new float[Math.multiplyExact(m, n)];
        pool.forRange(m, (from, to) -> {
            for (int i = from; i < to; i++) {
                for (int j = 0; j < n; j++) c[i * n + j] = dot(a, i * k, b, j * k, k);
            }
        });
        return c;
    }

    /** {@code C = A B}: A is m x k, B is k x n, C is m x n; row i of C is a sum of B's rows weighted by A's row i. */
    static float[] mulAB(float[] a, int m, float[] b, int k, int n, Parallel pool) {
        float[] c = new float[Math.multiplyExact(m, n)];
        pool.forRange(m, (from, to) -> {
            for (int i = from; i < to; i++) {
                for (int t = 0; t < k; t++) {
                    float w = a[i * k + t];
                    if (w != 0f) axpy(w, b, t * n, c, i * n, n);
                }
            }
        });
        return c;
    }

    /** The transpose of the m x n matrix {@code a}. */
    static float[] transpose(float[] a, int m, int n) {
        float[] t = new float[a.length];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
        }
        return t;
    }

    /**
     * Orthonormalises the m rows (length n) of {@code a} in place by modified Gram-Schmidt, applied twice
     * ("twice is enough") with double accumulation. A row that is (numerically) in the span of the earlier
     * ones is replaced by zeros; returns how many rows are non-zero.
     */
    static int orthonormalizeRows(float[] a, int m, int n) {
        int rank = 0;
        double[] row = new double[n];
        for (int i = 0; i < m; i++) {
            for (int c = 0; c < n; c++) row[c] = a[i * n + c];
            double norm0 = norm(row);
            for (int pass = 0; pass < 2; pass++) {
                for (int j = 0; j < i; j++) {
                    double p = 0;
                    for (int c = 0; c < n; c++) p += row[c] * a[j * n + c];
                    if (p != 0) for (int c = 0; c < n; c++) row[c] -= p * a[j * n + c];
                }
            }
            double norm = norm(row);
            if (norm <= 1e-6 * norm0 || norm == 0) {
                for (int c = 0; c < n; c++) a[i * n + c] = 0f;
            } else {
                for (int c = 0; c < n; c++) a[i * n + c] = (float) (row[c] / norm);
                rank++;
            }
        }
        return rank;
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return Math.sqrt(s);
    }

    /**
     * Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations. Returns the eigenvalues in
     * descending order; {@code vectors} (n x n, row-major) receives the matching eigenvectors as its rows.
     */
    static double[] symmetricEigen(double[] sym, int n, double[] vectors) {
        double[] a = sym.clone();
        double[] v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0, total = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double x = a[i * n + j] * a[i * n + j];
                    total += x;
                    if (i != j) off += x;
                }
            }
            if (off <= 1e-30 * total || off == 0) break;
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double apq = a[p * n + q];
                    if (apq == 0) continue;
                    double app = a[p * n + p], aqq = a[q * n + q];
                    double theta = (aqq - app) / (2 * apq);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++) { // columns p, q of A
                        double akp = a[k * n + p], akq = a[k * n + q];
                        a[k * n + p] = c * akp - s * akq;
                        a[k * n + q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) { // rows p, q of A
                        double apk = a[p * n + k], aqk = a[q * n + k];
                        a[p * n + k] = c * apk - s * aqk;
                        a[q * n + k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++) { // columns p, q of V
                        double vkp = v[k * n + p], vkq = v[k * n + q];
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        final double[] diag = new double[n];
        for (int i = 0; i < n; i++) diag[i] = a[i * n + i];
        java.util.Arrays.sort(order, (x, y) -> Double.compare(diag[y], diag[x]));
        double[] values = new double[n];
        for (int r = 0; r < n; r++) {
            int col = order[r];
            values[r] = diag[col];
            for (int k = 0; k < n; k++) vectors[r * n + k] = v[k * n + col];
        }
        return values;
    }

    /**
     * Top right singular vectors of the m x n matrix {@code y}, by randomized subspace iteration (Halko,
     * Martinsson and Tropp): a Gaussian sketch of {@code k + oversample} columns, {@code powerIterations}
     * rounds of {@code Y^T Y} against it with re-orthonormalisation, then an exact SVD of the small projected
     * matrix.
     *
     * @return the singular vectors as the rows of a {@code kOut x n} matrix, strongest first, with their
     *         singular values in {@code singularValues[0..kOut)}; {@code kOut <= k}
     */
    static Svd topRightSingularVectors(float[] y, int m, int n, int k, int oversample, int powerIterations,
                                       long seed, Parallel pool) {
        int sketch = Math.min(Math.min(m, n), k + oversample);
        Random rnd = new Random(seed);
        float[] omegaT = new float[sketch * n]; // the sketch, transposed: sketch x n
        for (int i = 0; i < omegaT.length; i++) omegaT[i] = (float) rnd.nextGaussian();
        // Z = Y Omega (m x sketch), kept transposed as orthonormal rows of length m.
        float[] zt = transpose(mulABt(y, m, omegaT, sketch, n, pool), m, sketch);
        orthonormalizeRows(zt, sketch, m);
        for (int it = 0; it < powerIterations; it++) {
            float[] wt = mulAB(zt, sketch, y, m, n, pool); // (Y^T Z)^T: sketch x n
            orthonormalizeRows(wt, sketch, n);
            zt = transpose(mulABt(y, m, wt, sketch, n, pool), m, sketch); // (Y W)^T
            orthonormalizeRows(zt, sketch, m);
        }
        float[] b = mulAB(zt, sketch, y, m, n, pool); // B = Z^T Y: sketch x n, same row space as Y's top part
        float[] bbt = mulABt(b, sketch, b, sketch, n, pool);
        double[] sym = new double[sketch * sketch];
        for (int i = 0; i < sym.length; i++) sym[i] = bbt[i];
        // Symmetrise: the float products are symmetric only up to rounding.
        for (int i = 0; i < sketch; i++) {
            for (int j = i + 1; j < sketch; j++) {
                double s = 0.5 * (sym[i * sketch + j] + sym[j * sketch + i]);
                sym[i * sketch + j] = s;
                sym[j * sketch + i] = s;
            }
        }
        double[] evec = new double[sketch * sketch];
        double[] eval = symmetricEigen(sym, sketch, evec);
        int kOut = 0;
        double top = Math.max(eval[0], 0);
        while (kOut < Math.min(k, sketch) && eval[kOut] > 1e-10 * top && eval[kOut] > 0) kOut++;
        float[] vt = new float[kOut * n];
        double[] sigma = new double[kOut];
        for (int r = 0; r < kOut; r++) {
            sigma[r] = Math.sqrt(eval[r]);
            // v_r = B^T e_r / sigma_r
            for (int t = 0; t < sketch; t++) {
                float w = (float) (evec[r * sketch + t] / sigma[r]);
                if (w != 0f) axpy(w, b, t * n, vt, r * n, n);
            }
        }
        return new Svd(vt, kOut, n, sigma);
    }

    /** Right singular vectors as rows ({@code rank x n}) and their singular values. */
    record Svd(float[] vt, int rank, int n, double[] singularValues) {}
}
