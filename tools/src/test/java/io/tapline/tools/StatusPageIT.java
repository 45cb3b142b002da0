package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The status page in a real headless Chromium (Debian's chromium and chromedriver, driven by
 * Selenium): the wedge's page loads, shows its volume synced, shows a write made through the
 * wedge within seconds (the captured sequence moves), and shows "not synced" with the reason
 * when the replayer is stopped; {@code /} links to {@code /metrics}, which carries
 * {@code tapline_build_info} and JVM metrics.
 */
class StatusPageIT {
    private static final Duration SEEN = Duration.ofSeconds(15);

    @TempDir
    java.nio.file.Path tmp;

    private WebDriver browser;

    @BeforeEach
    void openBrowser() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary("/usr/bin/chromium");
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--user-data-dir=" + tmp.resolve("chromium"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new java.io.File("/usr/bin/chromedriver")).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterEach
    void closeBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @Test
    void thePageShowsWritesAndAnOutOfSyncReplica() throws Exception {
        try (ReplicationRig rig = new ReplicationRig(tmp, 64L << 20)) {
            rig.start();
            browser.get("http://" + ReplicationRig.hostPort(rig.wedgeMetrics) + "/");
            WebDriverWait wait = new WebDriverWait(browser, SEEN);
            wait.until(d -> "synced".equals(text("#synced-source")));
            String before = lastSequence();

            HostWrites.random4k(rig, 64L << 20, 20, 7);
            // A render taken while the writes ran may show some of them: wait for all 20.
            long expected = Long.parseLong(before) + 20;
            wait.withMessage(() -> "the page shows the 20 writes: " + before + " -> " + lastSequence())
                    .until(d -> lastSequence().matches("\\d+") && Long.parseLong(lastSequence()) >= expected);

            rig.replayer().close();
            HostWrites.random4k(rig, 64L << 20, 5, 8);
            wait.until(d -> "not synced".equals(text("#synced-source")));
            String why = text("[data-section=source] td[data-key=notSyncedBecause]");
            assertTrue(why != null && !why.isBlank() && !why.equals("none"), "the page says why: " + why);

            Object href = ((JavascriptExecutor) browser).executeScript(
                    "const a = [...document.querySelectorAll('a')].find(x => x.textContent.trim() === 'Prometheus metrics');"
                            + " return a === undefined ? null : a.href;");
            assertTrue(href instanceof String link && link.endsWith("/metrics"), "the page links to /metrics: " + href);
            browser.get("http://" + ReplicationRig.hostPort(rig.wedgeMetrics) + "/metrics");
            String metrics = browser.findElement(By.tagName("body")).getText();
            assertTrue(metrics.contains("tapline_build_info{") && metrics.contains("jvm_memory_used_bytes"),
                    metrics.substring(0, Math.min(2000, metrics.length())));
        }
    }

    /** The source volume's captured-sequence cell as the page shows it ("" before the first render). */
    private String lastSequence() {
        String captured = text("[data-section=source] td[data-key=captured]");
        return captured == null ? "" : captured;
    }

    /**
     * The text of the first element matching a CSS selector, or null when there is none. Read in
     * one script so that the page's once-a-second re-render (it replaces the sections' HTML)
     * cannot swap the element between finding it and reading it: a WebElement held across a
     * render goes stale.
     */
    private String text(String selector) {
        Object value = ((JavascriptExecutor) browser).executeScript(
                "const e = document.querySelector(arguments[0]); return e === null ? null : e.textContent.trim();",
                selector);
        return (String) value;
    }
}
