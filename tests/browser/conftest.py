"""The browser harness: Debian's chromium, driven by Selenium through Debian's chromedriver.

One headless browser per test session, with a fresh profile and cut off from every network but
loopback (a resolver that knows no names but localhost, and a proxy that does not exist, which
Chromium bypasses for loopback only), against one real `rectify serve` (SQLite, scheduler on,
no demo). `make test` installs chromium and chromium-driver; when either is missing the browser
fixture FAILS (it never skips), because CI must run these tests.

Fixtures: `server` (the running service; `server.url`), `browser` (the session's driver),
`desktop` / `phone` (the driver at 1440 px / 375 px wide), `console` (the browser's console
errors and CSP violations since the test began), `shot` (save a screenshot into the test's tmp
folder). Helpers: `open_page`, `wait_for_text`.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.processes import Server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DESKTOP = (1440, 900)
PHONE = (375, 812)
WAIT = 20.0  # seconds for a page or an element; a passing test takes far less

# Headless, quiet, and no traffic of Chromium's own (updates, sync, safe browsing, QUIC).
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--no-first-run",
    "--no-default-browser-check",
    "--lang=zh-CN",
    # Only loopback resolves; every other name fails before any packet leaves.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
)

# Recorded in the page before any of its scripts run: CSP violations that a page (or a
# library catching its own EvalError) might not print to the console.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`
  );
});
"""


def require_executable(path: Path) -> None:
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"{path} is missing: the browser tests need Debian's chromium and chromium-driver "
            "(`make test` installs them; by hand: apt-get install chromium chromium-driver)"
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real `rectify serve` on SQLite for the whole session, timers running, no demo."""
    data = tmp_path_factory.mktemp("browser-serve")
    env = {"RECTIFY_SCHEDULER": "1", "RECTIFY_DEMO": "0"}
    with Server(data, f"sqlite:///{data / 'rectify.db'}", **env) as running:
        yield running


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """The session's headless chromium, networkless but for loopback, with a fresh profile."""
    require_executable(CHROMIUM)
    require_executable(CHROMEDRIVER)
    folder = tmp_path_factory.mktemp("chromium")
    # The proxy: a port we hold bound but never listen on, so nothing can ever answer there.
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={folder / 'profile'}")
    # Chromium sends loopback direct (its implicit bypass) and everything else to this proxy.
    options.add_argument(f"--proxy-server=http://127.0.0.1:{dead.getsockname()[1]}")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(str(CHROMEDRIVER), log_output=str(folder / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(WAIT)
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS}
        )
        yield driver
    finally:
        driver.quit()
        dead.close()


def sized(driver: WebDriver, width: int, height: int, *, mobile: bool) -> WebDriver:
    """Lay pages out exactly `width` CSS pixels wide (a phone also gets touch and its viewport)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": mobile})
    return driver


@pytest.fixture
def desktop(browser: WebDriver) -> WebDriver:
    """The browser as a 1440 px wide desktop screen."""
    return sized(browser, *DESKTOP, mobile=False)


@pytest.fixture
def phone(browser: WebDriver) -> WebDriver:
    """The browser as a 375 px wide phone."""
    return sized(browser, *PHONE, mobile=True)


@dataclass
class Console:
    """What the browser reported since the test began: console errors and CSP violations."""

    driver: WebDriver

    def entries(self) -> list[dict[str, Any]]:
        """Every console entry since the last call (the log drains as it is read)."""
        return self.driver.get_log("browser")

    def problems(self) -> list[str]:
        """Errors and CSP violations since the last call, as lines; [] when the page was clean."""
        found = [
            f"{e['level']}: {e['message']}"
            for e in self.entries()
            if e["level"] == "SEVERE" or "Content Security Policy" in e["message"]
        ]
        recorded = self.driver.execute_script(
            "return window.__cspViolations ? window.__cspViolations.splice(0) : []"
        )
        return found + [f"CSP violation: {v}" for v in recorded]


@pytest.fixture
def console(browser: WebDriver) -> Console:
    """The console, emptied of what earlier tests left in it."""
    log = Console(browser)
    log.entries()
    return log


@pytest.fixture
def shot(browser: WebDriver, tmp_path: Path):  # noqa: ANN201  (a function)
    """`shot(name, full_page=False)` saves a PNG of the page into the test's tmp folder."""

    def save(name: str, *, full_page: bool = False) -> Path:
        path = tmp_path / f"{name}.png"
        if full_page:
            size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            data = browser.execute_cdp_cmd(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True, "clip": clip},
            )["data"]
            path.write_bytes(base64.b64decode(data))
        else:
            browser.save_screenshot(str(path))
        return path

    return save


def open_page(driver: WebDriver, url: str) -> WebDriver:
    """Navigate and wait until the document and its scripts have loaded."""
    driver.get(url)
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    return driver


def wait_for_text(driver: WebDriver, text: str, *, timeout: float = WAIT) -> None:
    """Wait until `text` is visible somewhere on the page (rendered by scripts, say)."""
    WebDriverWait(driver, timeout).until(
        lambda d: text in d.execute_script("return document.body ? document.body.innerText : ''"),
        message=f"{text!r} never appeared on {driver.current_url}",
    )
