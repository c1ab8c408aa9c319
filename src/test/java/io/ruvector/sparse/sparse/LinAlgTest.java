package io.ruvector.sparse.sparse;

import io.ruvector.sparse.cpu.Parallel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LinAlgTest {

    static final Parallel POOL = new Parallel(2);

    @AfterAll
    static void close() { POOL.close(); }

    static float[] gaussian(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    @Test
    void productsMatchNaiveLoopsAndDoNotDependOnThreads() {
        Random r = new Random(1);
        int m = 7, k = 37, n = 11;
        float[] a = gaussian(r, m * k), b = gaussian(r, k * n), bt = LinAlg.transpose(b, k, n);
        float[] c = LinAlg.mulAB(a, m, b, k, n, POOL);
        float[] c2 = LinAlg.mulABt(a, m, bt, n, k, POOL);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < k; t++) s += (double) a[i * k + t] * b[t * n + j];
                assertEquals(s, c[i * n + j], 1e-4);
                assertEquals(s, c2[i * n + j], 1e-4);
            }
        }
        try (Parallel one = new Parallel(1)) {
            assertArrayEquals(c, LinAlg.mulAB(a, m, b, k, n, one));
            assertArrayEquals(c2, LinAlg.mulABt(a, m, bt, n, k, one));
        }
    }

    @Test
    void orthonormalizedRowsSpanTheInputAndDropDependentOnes() {
        Random r = new Random(2);
        int n = 50;
        float[] a = gaussian(r, 4 * n);
        for (int c = 0; c < n; c++) a[3 * n + c] = a[0 * n + c] * 2 - a[1 * n + c]; // row 3 dependent
        int rank = LinAlg.orthonormalizeRows(a, 4, n);
        assertEquals(3, rank);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                assertEquals(i == j ? 1 : 0, LinAlg.dot(a, i * n, a, j * n, n), 1e-5);
            }
        }
        for (int c = 0; c < n; c++) assertEquals(0f, a[3 * n + c]);
    }

    @Test
    void jacobiEigenpairsSatisfyTheDefinition() {
        Random r = new Random(3);
        int n = 9;
        double[] s = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double v = r.nextGaussian();
                s[i * n + j] = v;
                s[j * n + i] = v;
            }
        }
        double[] vec = new double[n * n];
        double[] val = LinAlg.symmetricEigen(s, n, vec);
        for (int e = 0; e < n; e++) {
            if (e > 0) assertTrue(val[e] <= val[e - 1]);
            for (int i = 0; i < n; i++) {
                double av = 0;
                for (int j = 0; j < n; j++) av += s[i * n + j] * vec[e * n + j];
                assertEquals(val[e] * vec[e * n + i], av, 1e-9);
            }
        }
    }

    @Test
    void randomizedSvdRecoversAPlantedSpectrum() {
        Random r = new Random(4);
        int m = 300, n = 120, k = 6;
        // Y = U diag(sigma) V^T + small noise, with known orthonormal V rows.
        float[] vt = gaussian(r, k * n);
        LinAlg.orthonormalizeRows(vt, k, n);
        double[] sigma = {50, 30, 20, 10, 5, 2};
        float[] y = new float[m * n];
        for (int s = 0; s < m; s++) {
            for (int j = 0; j < k; j++) {
                float coef = (float) (sigma[j] * r.nextGaussian() / Math.sqrt(m));
                LinAlg.axpy(coef, vt, j * n, y, s * n, n);
            }
            for (int c = 0; c < n; c++) y[s * n + c] += (float) (1e-3 * r.nextGaussian());
        }
        LinAlg.Svd svd = LinAlg.topRightSingularVectors(y, m, n, 4, 8, 2, 9, POOL);
        assertEquals(4, svd.rank());
        for (int j = 0; j < 4; j++) {
            // Each recovered vector lies in the planted subspace (projection norm ~1).
            double proj = 0;
            for (int t = 0; t < k; t++) {
                double d = LinAlg.dot(svd.vt(), j * n, vt, t * n, n);
                proj += d * d;
            }
            assertEquals(1.0, proj, 1e-3, "vector " + j);
            if (j > 0) assertTrue(svd.singularValues()[j] <= svd.singularValues()[j - 1]);
        }
    }
}
