package io.statefulroute.sample;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import io.statefulroute.core.state.PodAddress;
import io.statefulroute.core.state.RoutingState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.ElementClickInterceptedException;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The live page in headless Chromium (Debian's {@code chromium} and {@code chromium-driver},
 * which {@code .ci/run} installs): it shows the pods with the addresses their heartbeats
 * advertise, drains one at the press of a button, and new players stop landing on it.
 * Skipped, saying why, where no browser is installed.
 */
class LivePageBrowserTests extends SampleAppTestSupport {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private WebDriver browser;

    private WebDriverWait wait;

    @BeforeAll
    static void requireBrowser() {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "No headless browser: install Debian's chromium and chromium-driver (.ci/run does) to test the live page");
    }

    @BeforeEach
    void openBrowser(@TempDir Path profile) {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
        this.browser = new ChromeDriver(service, options);
        this.wait = new WebDriverWait(this.browser, Duration.ofSeconds(10));
        // a redraw replaced the element, or covered it, before the click: no click was sent
        this.wait.ignoring(StaleElementReferenceException.class, ElementClickInterceptedException.class);
    }

    @AfterEach
    void closeBrowser() {
        if (this.browser != null) {
            this.browser.quit();
        }
        this.pods.all().forEach((pod) -> pod.driver().setAdvertisedAddress(null));
    }

    @Test
    void everyPodShowsTheAddressItsHeartbeatAdvertises() {
        this.pods.find(1).orElseThrow().driver()
            .setAdvertisedAddress(new PodAddress("http", "10.0.0.7", 8082, Map.of("zone", "eu-1")));
        this.pods.find(2).orElseThrow().driver().setAdvertisedAddress(new PodAddress("https", "fd00::2", 8443));

        this.browser.get("http://localhost:" + this.port + "/");
        this.wait.until((page) -> "http://10.0.0.7:8082".equals(text(1, ".address"))
                && "https://[fd00::2]:8443".equals(text(2, ".address")));
        assertThat(text(1, ".metadata")).isEqualTo("zone=eu-1");
        assertThat(text(2, ".metadata")).isEmpty();
        assertThat(text(0, ".address")).isEqualTo("none (simulated in this process)");
    }

    @Test
    void drainingAPodOnThePageStopsNewPlayersLandingOnIt() {
        this.browser.get("http://localhost:" + this.port + "/");
        this.wait.until((page) -> page.findElements(By.cssSelector(".pod")).size() == 3
                && "READY".equals(text(0, ".state")) && "yes".equals(text(0, ".routable")));

        // One press, then the pod itself says whether it arrived. Pressing again while the page
        // still shows READY (it lags behind the pod on a busy machine) could hit the "undrain"
        // button a redraw has just put where "drain" was, and undrain the pod.
        AtomicBoolean pressed = new AtomicBoolean();
        this.wait.until((page) -> {
            if (!pressed.get()) {
                pod(0).findElement(By.cssSelector("button[data-action=drain]")).click();
                pressed.set(true);
            }
            return routingState(0) == RoutingState.DENY_NEW_CALL;
        });
        // The page shows this gateway's own view of the pods: once it has seen the drain, no new
        // player can land on pod 0.
        this.wait.until((page) -> "DENY_NEW_CALL".equals(text(0, ".state")) && "no".equals(text(0, ".routable"))
                && "yes".equals(text(0, ".alive")));

        this.browser.findElement(By.id("add-players")).click();
        List<String> landedOn = this.wait.until((page) -> {
            List<String> pods = page.findElements(By.cssSelector("#added li"))
                .stream()
                .map((player) -> player.getAttribute("data-pod"))
                .toList();
            return (pods.size() == 10) ? pods : null;
        });
        assertThat(routingState(0)).as("pod 0 still drains").isEqualTo(RoutingState.DENY_NEW_CALL);
        assertThat(landedOn).doesNotContain("0").containsAnyOf("1", "2");
        this.wait.until((page) -> !page.findElements(By.cssSelector("#decisions tr[data-outcome=NEW_LINK]")).isEmpty());
    }

    private RoutingState routingState(int podIndex) {
        return this.pods.find(podIndex).orElseThrow().driver().getRoutingState();
    }

    private WebElement pod(int index) {
        return this.browser.findElement(By.cssSelector(".pod[data-pod='" + index + "']"));
    }

    private String text(int podIndex, String field) {
        List<WebElement> pods = this.browser.findElements(By.cssSelector(".pod[data-pod='" + podIndex + "'] " + field));
        return pods.isEmpty() ? null : pods.get(0).getText();
    }

}
