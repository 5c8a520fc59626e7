"""The vendored libraries run under the pages' Content-Security-Policy, from rectify's own files:
mermaid draws the running workflow's state diagram, ECharts a chart, htmx swaps in a fragment.
And nothing under rectify/ points a browser at a CDN or any other host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from rectify.config import Settings
from rectify.workflow.definition import load_registry
from rectify.workflow.diagram import mermaid
from tests.browser.conftest import WAIT, Console, open_page, wait_for_text
from tests.processes import Server

PACKAGE = Path(__file__).resolve().parents[2] / "rectify"
VENDOR = "/console/static/vendor"

LOAD_SCRIPT = """
const [src, done] = arguments;
const script = document.createElement("script");
script.src = src;
script.onload = () => done("loaded");
script.onerror = () => done("failed");
document.head.appendChild(script);
"""


def load(driver: WebDriver, path: str) -> None:
    """Add <script src=path> to the page (a same-origin file, as the CSP allows) and wait."""
    assert driver.execute_async_script(LOAD_SCRIPT, path) == "loaded", path


@pytest.fixture
def page(desktop: WebDriver, server: Server, console: Console) -> WebDriver:
    """A page of rectify's under the strict policy (/docs), with the console emptied."""
    desktop.set_script_timeout(WAIT)
    open_page(desktop, f"{server.url}/docs")
    wait_for_text(desktop, "/api/v1/hazards")
    console.problems()
    return desktop


def test_mermaid_draws_the_workflow_diagram_under_the_csp(
    page: WebDriver, console: Console, shot
) -> None:
    definition = load_registry(Settings().workflows_dir).latest("hazard")
    load(page, f"{VENDOR}/mermaid/mermaid.min.js")
    svg = page.execute_async_script(
        """
        const [text, done] = arguments;
        mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
        mermaid.render("workflow", text).then(
          (r) => { document.body.innerHTML = r.svg; done(r.svg); },
          (e) => done("error: " + e),
        );
        """,
        mermaid(definition),
    )
    assert svg.startswith("<svg"), svg[:300]
    for region in definition.regions:  # every lane, with its Chinese label
        assert region.label in svg
        assert definition.label_of(region.field, region.initial) in svg
    shot("mermaid-workflow", full_page=True)
    assert console.problems() == []


def test_echarts_and_htmx_run_under_the_csp(page: WebDriver, server: Server, console: Console):
    load(page, f"{VENDOR}/echarts/echarts.min.js")
    svg = page.execute_script(
        """
        const box = document.createElement("div");
        box.style.cssText = "width: 600px; height: 300px";
        document.body.prepend(box);
        const chart = echarts.init(box, null, {renderer: "svg"});
        chart.setOption({
          animation: false,
          xAxis: {type: "category", data: ["已逾期", "三日内到期"]},
          yAxis: {type: "value"},
          series: [{type: "bar", data: [3, 5]}],
        });
        return box.innerHTML;
        """
    )
    assert "<svg" in svg and "已逾期" in svg

    load(page, f"{VENDOR}/htmx/htmx.min.js")
    assert page.execute_script("return htmx.version").startswith("2.")
    page.execute_script(
        """
        document.body.insertAdjacentHTML("afterbegin",
          '<button id="go" hx-get="/healthz" hx-target="#out">go</button><pre id="out"></pre>');
        htmx.process(document.body);
        document.getElementById("go").click();
        """
    )
    wait_for_text(page, '{"status":"ok"}')
    assert console.problems() == []


# Hosts that serve front-end files to the world; none may appear anywhere in the package.
CDN = re.compile(r"cdn\.jsdelivr|unpkg\.com|cdnjs|googleapis|bootcdn|staticfile\.org", re.I)
# A script or style loaded from another host (absolute or protocol-relative address).
REMOTE_ASSET = re.compile(
    r"""<script[^>]*\ssrc\s*=\s*["']?(https?:)?//"""
    r"""|<link[^>]*\shref\s*=\s*["']?(https?:)?//"""
    r"""|@import\s+(url\()?["']?(https?:)?//""",
    re.I,
)


def test_nothing_in_the_package_loads_from_a_cdn() -> None:
    checked: set[str] = set()
    for path in PACKAGE.rglob("*"):
        if not path.is_file() or path.suffix in {".png", ".pyc", ".db"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not CDN.search(text), f"{path} names a CDN: {CDN.search(text)}"
        if path.suffix in {".html", ".jinja", ".j2", ".css", ".py"} or "templates" in path.parts:
            found = REMOTE_ASSET.search(text)
            assert not found, f"{path} loads a script or style from another host: {found}"
        checked.add(path.relative_to(PACKAGE).as_posix())
    # The walk really saw the package, vendored bundles included.
    assert {"api/docs.py", "console/static/vendor/mermaid/mermaid.min.js"} <= checked
