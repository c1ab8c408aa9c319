package io.ruvector.sparse.sparse;

import io.ruvector.sparse.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * A cheap identity of a model's FFN weights, stored in a sidecar so it is never applied to another model:
 * SHA-256 over each tensor's name, shape, type and its first and last 4 KiB (a few hundred KiB read in all,
 * not the whole file).
 */
public final class ModelFingerprint {

    private static final long SAMPLE = 4096;

    private ModelFingerprint() {}

    /** The first 16 hex digits of the digest over {@code tensors} in order. */
    public static String of(List<Tensor> tensors) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buf = new byte[(int) SAMPLE];
        for (Tensor t : tensors) {
            md.update((t.name() + "|" + t.rows() + "x" + t.cols() + "|" + t.ggmlType()).getBytes(StandardCharsets.UTF_8));
            MemorySegment d = t.data();
            long size = t.rowBytes() * t.rows();
            long head = Math.min(SAMPLE, size);
            MemorySegment.copy(d, ValueLayout.JAVA_BYTE, 0, buf, 0, (int) head);
            md.update(buf, 0, (int) head);
            long tailStart = Math.max(head, size - SAMPLE);
            int tail = (int) (size - tailStart);
            MemorySegment.copy(d, ValueLayout.JAVA_BYTE, tailStart, buf, 0, tail);
            md.update(buf, 0, tail);
        }
        return HexFormat.of().formatHex(md.digest(), 0, 8);
    }
}
