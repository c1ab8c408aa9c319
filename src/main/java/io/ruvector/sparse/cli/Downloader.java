package io.ruvector.sparse.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

/**
 * Downloads one file over HTTP(S) into place, all or nothing: the bytes go to a temporary file beside the
 * target, are checked against a SHA-256, and only then renamed atomically onto the target. A failed,
 * short or corrupt download leaves nothing behind.
 */
final class Downloader {

    /** Told how far a download got; {@code total} is -1 when the server did not say. */
    @FunctionalInterface
    interface Progress {
        Progress NONE = (done, total) -> { };

        void update(long done, long total);
    }

    private final HttpClient client;

    Downloader(HttpClient client) { this.client = client; }

    /** A client that follows redirects (Hugging Face redirects to its CDN) and gives up connecting after 20 s. */
    static Downloader standard() {
        return new Downloader(HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(20))
                .build());
    }

    /**
     * Fetches {@code uri} into {@code target}.
     *
     * @param sha256 the expected SHA-256, lowercase hex
     * @throws IOException naming the URL and what went wrong (HTTP status, early end, checksum mismatch)
     */
    void download(URI uri, Path target, String sha256, Progress progress) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path part = Files.createTempFile(dir, target.getFileName() + ".", ".part");
        try {
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).GET().build();
            HttpResponse<InputStream> response;
            try {
                response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("download of " + uri + " was interrupted", e);
            } catch (IOException e) {
                // Connection failures often carry no message of their own (ConnectException: null).
                throw new IOException("cannot reach " + uri + ": " + reason(e), e);
            }
            if (response.statusCode() != 200) {
                response.body().close();
                throw new IOException("HTTP " + response.statusCode() + " from " + uri);
            }
            MessageDigest digest = sha256();
            long total = response.headers().firstValueAsLong("Content-Length").orElse(-1);
            long done = 0;
            try (InputStream in = response.body(); OutputStream out = Files.newOutputStream(part)) {
                byte[] buffer = new byte[64 * 1024];
                progress.update(0, total);
                for (int n; (n = in.read(buffer)) > 0; ) {
                    out.write(buffer, 0, n);
                    digest.update(buffer, 0, n);
                    done += n;
                    progress.update(done, total);
                }
            } catch (IOException e) {
                throw new IOException("download of " + uri + " broke off after " + done + " bytes: " + reason(e), e);
            }
            if (total >= 0 && done != total) {
                throw new IOException("download of " + uri + " ended early: " + done + " of " + total + " bytes");
            }
            String got = HexFormat.of().formatHex(digest.digest());
            if (!got.equalsIgnoreCase(sha256)) {
                throw new IOException("download of " + uri + " is corrupt: SHA-256 " + got + ", expected " + sha256);
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(part);
        }
    }

    /** SHA-256 of a file, lowercase hex. */
    static String sha256(Path file) throws IOException {
        MessageDigest digest = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[64 * 1024];
            for (int n; (n = in.read(buffer)) > 0; ) digest.update(buffer, 0, n);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }

    /** What went wrong, in words: the first message along the causes, else the exception's kind. */
    static String reason(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c.getMessage() != null && !c.getMessage().isBlank()) {
                return c.getMessage() + (c == e ? "" : " (" + c.getClass().getSimpleName() + ")");
            }
        }
        return e.getClass().getSimpleName();
    }
}
