package io.ruvector.sparse.server;

import io.ruvector.sparse.Required;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
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
    void streamsAReplyWithModelNameAndSpeed() throws Exception {
        browser.get(server.url("/"));
        waiting(30).until(d -> d.findElement(By.id("model")).getText().equals("stories260K"));
        browser.findElement(By.id("reset")).click();
        // Records every text the reply shows, to see that it grows piece by piece rather than arriving whole.
        ((JavascriptExecutor) browser).executeScript("""
                window.__texts = [];
                new MutationObserver(records => {
                  for (const r of records) {
                    if (!r.target.classList || !r.target.classList.contains('assistant')) continue;
                    for (const n of r.addedNodes) if (n.nodeType === Node.TEXT_NODE) window.__texts.push(n.data);
                  }
                }).observe(document.getElementById('log'), {childList: true, subtree: true});""");
        setField("temperature", "0");   // greedy: the same reply every run, 40 tokens long
        send("Tell me a story about a bird.", 40);
        waiting(120).until(d -> !lastReply().getAttribute("data-state").equals("streaming"));
        WebElement reply = lastReply();
        assertEquals("done", reply.getAttribute("data-state"), reply.getText());
        assertFalse(reply.getText().isBlank());
        @SuppressWarnings("unchecked")
        List<String> shown = (List<String>) ((JavascriptExecutor) browser).executeScript("return window.__texts;");
        assertTrue(shown.size() >= 3, "the reply was shown piece by piece: " + shown);
        for (int i = 1; i < shown.size(); i++) {
            assertTrue(shown.get(i).startsWith(shown.get(i - 1)) && shown.get(i).length() > shown.get(i - 1).length(),
                    "each text the reply shows extends the one before: " + shown);
        }
        assertEquals(reply.getText().strip(), shown.getLast().strip());
        assertTrue(browser.findElement(By.id("speed")).getText().matches("\\d+\\.\\d tokens/s"),
                browser.findElement(By.id("speed")).getText());
        assertTrue(browser.findElement(By.id("status")).getText().startsWith("finished: "),
                browser.findElement(By.id("status")).getText());
        assertTrue(browser.findElement(By.id("send")).isEnabled());
        assertFalse(browser.findElement(By.id("stop")).isEnabled());
        // For a person to look at: target/chat-page.png.
        Files.write(Path.of("target", "chat-page.png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    }

    @Test
    void stopButtonCancelsTheGeneration() throws Exception {
        // A seed whose reply runs to the token limit (tried through the API: replies depend only on the request and
        // seed), so that only the stop button can end it early.
        String text = "Tell me a long story about a big red ball.";
        int maxTokens = 480;
        int seed = longReplySeed(text, maxTokens);
        browser.get(server.url("/"));
        waiting(30).until(d -> d.findElement(By.id("model")).getText().equals("stories260K"));
        browser.findElement(By.id("reset")).click();
        setField("temperature", "2");
        setField("seed", Integer.toString(seed));
        Map<String, Double> before = ConcurrencyTest.metrics(server);

        // The reply streams faster than WebDriver can look: the page's own script presses Stop at the first piece.
        ((JavascriptExecutor) browser).executeScript("""
                const log = document.getElementById('log');
                const observer = new MutationObserver(() => {
                  const replies = log.querySelectorAll('.msg.assistant');
                  const last = replies[replies.length - 1];
                  if (last && last.textContent.length > 0) { observer.disconnect(); document.getElementById('stop').click(); }
                });
                observer.observe(log, {childList: true, subtree: true, characterData: true});""");
        send(text, maxTokens);
        waiting(30).until(d -> !lastReply().getAttribute("data-state").equals("streaming"));
        assertEquals("stopped", lastReply().getAttribute("data-state"), lastReply().getText());
        assertEquals("stopped", browser.findElement(By.id("status")).getText());
        assertTrue(browser.findElement(By.id("send")).isEnabled());
        assertFalse(browser.findElement(By.id("stop")).isEnabled());

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Map<String, Double> after;
        while (true) {
            after = ConcurrencyTest.metrics(server);
            if (after.get("sparse_infer_requests_cancelled_total") > before.get("sparse_infer_requests_cancelled_total")
                    && after.get("sparse_infer_slots_busy") == 0) break;
            if (System.nanoTime() > deadline) fail("the server did not cancel the stopped generation: " + after);
            Thread.sleep(20);
        }
        double generated = after.get("sparse_infer_tokens_generated_total") - before.get("sparse_infer_tokens_generated_total");
        assertTrue(generated < maxTokens, "stopped before its " + maxTokens + " tokens: " + generated);
    }

    private static void setField(String id, String value) {
        WebElement field = browser.findElement(By.id(id));
        field.clear();
        field.sendKeys(value);
    }

    /** The first seed for which this one-message chat at temperature 2 generates all {@code maxTokens} tokens. */
    static int longReplySeed(String text, int maxTokens) throws Exception {
        for (int seed = 1; seed <= 20; seed++) {
            String request = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}],\"max_tokens\":" + maxTokens
                    + ",\"temperature\":2,\"seed\":" + seed + "}";
            var r = server.post("/v1/chat/completions", request);
            assertEquals(200, r.statusCode(), r.body());
            if (Json.MAPPER.readTree(r.body()).path("choices").get(0).path("finish_reason").asText().equals("length")) return seed;
        }
        throw new AssertionError("no seed in 1..20 gives a reply of " + maxTokens + " tokens");
    }
}
