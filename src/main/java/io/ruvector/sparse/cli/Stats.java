package io.ruvector.sparse.cli;

import java.util.Arrays;

/**
 * Summary of repeated measurements.
 *
 * @param median middle value (mean of the two middle ones for an even count)
 * @param mean   average
 * @param stddev sample standard deviation (0 for one value)
 * @param min    smallest
 * @param max    largest
 */
record Stats(double median, double mean, double stddev, double min, double max) {

    static Stats of(double[] values) {
        if (values.length == 0) throw new IllegalArgumentException("no measurements");
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        double mean = 0;
        for (double x : v) mean += x;
        mean /= n;
        double ss = 0;
        for (double x : v) ss += (x - mean) * (x - mean);
        double stddev = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
        return new Stats(median, mean, stddev, v[0], v[n - 1]);
    }
}
