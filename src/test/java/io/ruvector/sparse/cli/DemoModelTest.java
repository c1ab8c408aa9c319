package io.ruvector.sparse.cli;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The download and lookup of the demo model, against a server on 127.0.0.1 only: no real network. */
class DemoModelTest {

    private static final byte[] BODY = new byte[300_000];
    private static final String BODY_SHA;

    static {
        new SplittableRandom(42).nextBytes(BODY);
        try {
            BODY_SHA = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(BODY));
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private HttpServer server;
    private final AtomicInteger requests = new AtomicInteger();

    @TempDir
    Path tmp;

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/good", ex -> {
            requests.incrementAndGet();
            ex.sendResponseHeaders(200, BODY.length);
            try (OutputStream out = ex.getResponseBody()) {
                for (int i = 0; i < BODY.length; i += 10_000) out.write(BODY, i, Math.min(10_000, BODY.length - i));
            }
        });
        server.createContext("/redirect", ex -> {
            requests.incrementAndGet();
            ex.getResponseHeaders().add("Location", "/good");
            ex.sendResponseHeaders(302, -1);
            ex.close();
        });
        server.createContext("/corrupt", ex -> {
            requests.incrementAndGet();
            byte[] bad = BODY.clone();
            bad[1234] ^= 1;
            ex.sendResponseHeaders(200, bad.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bad);
            }
        });
        server.createContext("/partial", ex -> {
            requests.incrementAndGet();
            ex.sendResponseHeaders(200, BODY.length);
            OutputStream out = ex.getResponseBody();
            out.write(BODY, 0, BODY.length / 2);
            out.flush();
            ex.close(); // fewer bytes than announced: the server drops the connection
        });
        server.createContext("/missing", ex -> {
            requests.incrementAndGet();
            ex.sendResponseHeaders(404, -1);
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    private URI url(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    private List<Path> filesIn(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (var s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void downloadsChecksAndRenamesIntoPlaceWithProgress() throws Exception {
        Path target = tmp.resolve("cache").resolve("model.gguf");
        List<long[]> progress = new ArrayList<>();
        Downloader.standard().download(url("/redirect"), target, BODY_SHA, (done, total) -> progress.add(new long[]{done, total}));
        assertArrayEquals(BODY, Files.readAllBytes(target));
        assertEquals(List.of(target), filesIn(target.getParent()), "no temporary file is left");
        assertEquals(BODY.length, progress.getLast()[0]);
        assertEquals(BODY.length, progress.getLast()[1]);
        assertTrue(progress.size() > 2);
    }

    @Test
    void aCorruptDownloadIsRejectedAndLeavesNothing() throws Exception {
        Path target = tmp.resolve("model.gguf");
        IOException e = assertThrows(IOException.class,
                () -> Downloader.standard().download(url("/corrupt"), target, BODY_SHA, Downloader.Progress.NONE));
        assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
        assertEquals(List.of(), filesIn(tmp));
    }

    @Test
    void aBrokenOffDownloadIsRejectedAndKeepsTheOldFile() throws Exception {
        Path target = tmp.resolve("model.gguf");
        Files.write(target, new byte[]{1, 2, 3});
        IOException e = assertThrows(IOException.class,
                () -> Downloader.standard().download(url("/partial"), target, BODY_SHA, Downloader.Progress.NONE));
        assertTrue(e.getMessage().contains("/partial") && (e.getMessage().contains("broke off") || e.getMessage().contains("ended early")), e.getMessage());
        assertArrayEquals(new byte[]{1, 2, 3}, Files.readAllBytes(target));
        assertEquals(List.of(target), filesIn(tmp));
    }

    @Test
    void anHttpErrorIsNamed() {
        IOException e = assertThrows(IOException.class,
                () -> Downloader.standard().download(url("/missing"), tmp.resolve("m"), BODY_SHA, Downloader.Progress.NONE));
        assertTrue(e.getMessage().contains("404"), e.getMessage());
    }

    @Test
    void anUnreachableServerIsNamedWithTheReason() throws Exception {
        // A port nobody listens on: the connection is refused, and the JDK's exception carries no message.
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        URI closed = URI.create("http://127.0.0.1:" + port + "/m.gguf");
        IOException e = assertThrows(IOException.class,
                () -> Downloader.standard().download(closed, tmp.resolve("m"), BODY_SHA, Downloader.Progress.NONE));
        assertTrue(e.getMessage().contains(closed.toString()), e.getMessage());
        assertTrue(!e.getMessage().contains("null") && !e.getMessage().endsWith(": "), e.getMessage());
    }

    private DemoModel.Locations locations(List<Path> fixtures, List<URI> sources, boolean offline) {
        return new DemoModel.Locations(tmp.resolve("cache"), fixtures, sources, offline);
    }

    @Test
    void offlineWithoutAVerifiedCopySaysHowToGetOne() throws Exception {
        // The real demo model is 1.2 MB; a file with its name but other bytes must not be taken.
        Path fixtures = Files.createDirectories(tmp.resolve("fixtures"));
        Files.write(fixtures.resolve(DemoModel.FILE_NAME), BODY);
        StringWriter err = new StringWriter();
        var where = locations(List.of(fixtures), List.of(url("/missing")), true);
        IOException e = assertThrows(IOException.class, () -> DemoModel.locate(where, Downloader.standard(), new PrintWriter(err)));
        assertTrue(e.getMessage().contains("--model"), e.getMessage());
        assertTrue(e.getMessage().contains(where.cacheDir().toString()), e.getMessage());
        assertEquals(0, requests.get(), "offline: no request");
    }

    @Test
    void demoModelDownloadTriesTheNextSourceAndReportsEveryFailure() throws Exception {
        StringWriter err = new StringWriter();
        var where = locations(List.of(), List.of(url("/missing"), url("/corrupt")), false);
        IOException e = assertThrows(IOException.class, () -> DemoModel.locate(where, Downloader.standard(), new PrintWriter(err)));
        assertTrue(e.getMessage().contains("404") && e.getMessage().contains("SHA-256"), e.getMessage());
        assertTrue(e.getMessage().contains("--model"), e.getMessage());
        assertEquals(2, requests.get());
        assertFalse(Files.exists(where.cacheDir().resolve(DemoModel.FILE_NAME)));
    }

    @Test
    void downloadedOnceThenFoundInTheCacheAndFetchedAgainWhenCorrupt() throws Exception {
        StringWriter err = new StringWriter();
        var where = locations(List.of(), List.of(url("/missing"), url("/good")), false);
        Path first = DemoModel.locate(where, "m.gguf", BODY_SHA, Downloader.standard(), new PrintWriter(err));
        assertEquals(where.cacheDir().resolve("m.gguf"), first);
        assertArrayEquals(BODY, Files.readAllBytes(first));
        assertEquals(2, requests.get());
        assertTrue(err.toString().contains("100%"), err.toString());

        assertEquals(first, DemoModel.locate(where, "m.gguf", BODY_SHA, Downloader.standard(), new PrintWriter(err)));
        assertEquals(2, requests.get(), "the cached copy is used");

        Files.write(first, new byte[]{9});
        assertEquals(first, DemoModel.locate(where, "m.gguf", BODY_SHA, Downloader.standard(), new PrintWriter(err)));
        assertArrayEquals(BODY, Files.readAllBytes(first));
        assertEquals(4, requests.get());
    }

    @Test
    void aVerifiedFixtureCopyIsUsedWithoutDownloading() throws Exception {
        Path fixtures = Files.createDirectories(tmp.resolve("fixtures"));
        Files.write(fixtures.resolve("m.gguf"), BODY);
        var where = locations(List.of(tmp.resolve("nowhere"), fixtures), List.of(url("/good")), false);
        assertEquals(fixtures.resolve("m.gguf"),
                DemoModel.locate(where, "m.gguf", BODY_SHA, Downloader.standard(), new PrintWriter(new StringWriter())));
        assertEquals(0, requests.get());
    }

    @Test
    void locationsFollowTheEnvironment() {
        Properties props = new Properties();
        props.setProperty("user.home", "/home/u");
        var plain = DemoModel.Locations.from(Map.of(), props, Path.of("/p/proj/target/sparse-infer.jar"));
        assertEquals(Path.of("/home/u/.cache/sparse-infer"), plain.cacheDir());
        assertEquals(List.of(Path.of("/p/proj/shared/models"), Path.of("/p/shared/models")), plain.fixtureDirs());
        assertFalse(plain.offline());
        assertEquals(DemoModel.SOURCES, plain.sources());

        var env = DemoModel.Locations.from(Map.of("XDG_CACHE_HOME", "/xdg", "SPARSE_INFER_FIXTURES", "/fx",
                "SPARSE_INFER_OFFLINE", "1"), props, null);
        assertEquals(Path.of("/xdg/sparse-infer"), env.cacheDir());
        assertEquals(List.of(Path.of("/fx/models")), env.fixtureDirs());
        assertTrue(env.offline());

        props.setProperty("sparse.infer.cache", "/c");
        props.setProperty("sparse.infer.offline", "true");
        var prop = DemoModel.Locations.from(Map.of("SPARSE_INFER_CACHE", "/ignored"), props, null);
        assertEquals(Path.of("/c"), prop.cacheDir());
        assertTrue(prop.offline());
        assertTrue(DemoModel.SOURCES.stream().allMatch(u -> u.getScheme().equals("https") && u.getPath().endsWith(DemoModel.FILE_NAME)));
    }
}
