package io.ruvector.sparse.cli;

import io.ruvector.sparse.gguf.GgufWriter;

import java.io.PrintWriter;

/** A one-line progress bar on stderr (downloads, files written), redrawn at most every 100 ms and at the end. */
final class ProgressBar implements Downloader.Progress, GgufWriter.Progress {

    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final String label;
    private long lastDraw;

    ProgressBar(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    @Override
    public void update(long done, long total) {
        long now = System.nanoTime();
        boolean finished = total >= 0 && done >= total;
        if (!finished && done > 0 && now - lastDraw < 100_000_000L) return;
        lastDraw = now;
        StringBuilder line = new StringBuilder("\r").append(label).append(' ');
        if (total > 0) {
            int filled = (int) (WIDTH * done / total);
            line.append('[').append("=".repeat(filled)).append(" ".repeat(WIDTH - filled)).append("] ")
                    .append(String.format("%3d%% ", 100 * done / total));
        }
        line.append(String.format("%.1f", done / 1e6));
        if (total > 0) line.append(String.format(" / %.1f", total / 1e6));
        line.append(" MB");
        err.print(line);
        if (finished) err.println();
        err.flush();
    }
}
