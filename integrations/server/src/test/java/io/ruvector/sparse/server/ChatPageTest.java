package io.ruvector.sparse.server;

import io.ruvector.sparse.Required;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The chat page in headless Chromium (Debian's chromium and chromium-driver, which .ci/run installs): it shows the
 * model, streams a reply into the conversation, shows tokens/s, and its stop button cancels the generation.
 */
@Timeout(300)
class ChatPageTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    static TestServer server;
    static WebDriver browser;

    @BeforeAll
    static void start() throws Exception {
        Required.that(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "headless Chromium is missing (apt-get install chromium chromium-driver; .ci/run does that)");
        server = TestServer.start(2, 4, null);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        if (browser != null) browser.quit();
        if (server != null) server.close();
    }

    private static WebDriverWait waiting(int seconds) { return new WebDriverWait(browser, Duration.ofSeconds(seconds)); }

    private static WebElement lastReply() {
        List<WebElement> replies = browser.findElements(By.cssSelector(".msg.assistant"));
        return replies.getLast();
    }

    private static void send(String text, int maxTokens) {
        WebElement max = browser.findElement(By.id("max-tokens"));
        max.clear();
        max.sendKeys(Integer.toString(maxTokens));
        browser.findElement(By.id("input")).sendKeys(text);
        browser.findElement(By.id("send")).click();
    }

    @Test
    void streamsAReplyWithModelNameAndSpeed() {
        browser.get(server.url("/"));
        waiting(30).until(d -> d.findElement(By.id("model")).getText().equals("stories260K"));
        browser.findElement(By.id("reset")).click();
        // Counts the reply's text updates, to see that it grows piece by piece rather than arriving whole.
        ((JavascriptExecutor) browser).executeScript("""
                window.__updates = 0;
                new MutationObserver(() => window.__updates++).observe(document.getElementById('log'),
                    {childList: true, subtree: true, characterData: true});""");
        send("Tell me a story about a bird.", 40);
        waiting(120).until(d -> !lastReply().getAttribute("data-state").equals("streaming"));
        WebElement reply = lastReply();
        assertEquals("done", reply.getAttribute("data-state"), reply.getText());
        assertFalse(reply.getText().isBlank());
        long updates = ((Number) ((JavascriptExecutor) browser).executeScript("return window.__updates;")).longValue();
        assertTrue(updates >= 3, "the reply was written in pieces as they came: " + updates + " updates");
        assertTrue(browser.findElement(By.id("speed")).getText().matches("\\d+\\.\\d tokens/s"),
                browser.findElement(By.id("speed")).getText());
        assertTrue(browser.findElement(By.id("status")).getText().startsWith("finished: "),
                browser.findElement(By.id("status")).getText());
        assertTrue(browser.findElement(By.id("send")).isEnabled());
        assertFalse(browser.findElement(By.id("stop")).isEnabled());
    }

    @Test
    void stopButtonCancelsTheGeneration() throws Exception {
        browser.get(server.url("/"));
        waiting(30).until(d -> d.findElement(By.id("model")).getText().equals("stories260K"));
        double cancelledBefore = ConcurrencyTest.metrics(server).get("sparse_infer_requests_cancelled_total");
        // A reply may end on its own before the click lands; a few tries make that a non-issue.
        for (int attempt = 0; attempt < 3; attempt++) {
            browser.findElement(By.id("reset")).click();
            send("Tell me a long story about a big red ball.", 400);
            waiting(60).until(d -> !lastReply().getText().isEmpty() || !lastReply().getAttribute("data-state").equals("streaming"));
            browser.findElement(By.id("stop")).click();
            waiting(30).until(d -> !lastReply().getAttribute("data-state").equals("streaming"));
            if (lastReply().getAttribute("data-state").equals("done")) continue;
            assertEquals("stopped", lastReply().getAttribute("data-state"));
            assertEquals("stopped", browser.findElement(By.id("status")).getText());
            assertTrue(browser.findElement(By.id("send")).isEnabled());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (true) {
                Map<String, Double> m = ConcurrencyTest.metrics(server);
                if (m.get("sparse_infer_requests_cancelled_total") > cancelledBefore && m.get("sparse_infer_slots_busy") == 0) return;
                if (System.nanoTime() > deadline) fail("the server did not cancel the stopped generation: " + m);
                Thread.sleep(20);
            }
        }
        fail("three replies ended on their own before the stop button was clicked");
    }
}
