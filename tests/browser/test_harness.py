"""The harness itself: the browser cannot reach anything but loopback, and what the tests call
"no console problem" does catch a CSP violation and a script error when there is one."""

from __future__ import annotations

import http.server
import socket
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Console, open_page, wait_for_text
from tests.processes import Server


def outside_address() -> str:
    """An IPv4 address of this machine that is not loopback: outside for the browser, yet
    reachable from Python, so a page that fails to load there failed because of the harness."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # UDP: no packet is sent, the kernel picks our address
            address = s.getsockname()[0]
            if not address.startswith("127."):
                return address
    except OSError:
        pass
    for *_, sockaddr in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
        if not sockaddr[0].startswith("127."):
            return sockaddr[0]
    pytest.fail("this machine has no non-loopback IPv4 address to play the outside world")


class Outside:
    """A tiny web server on every interface that counts the requests it answers."""

    def __init__(self) -> None:
        self.marker = f"outside-{uuid.uuid4().hex}"
        self.hits = 0
        outside = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's name)
                outside.hits += 1
                body = f"<html><body>{outside.marker}</body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
        self.port = self.httpd.server_address[1]


@pytest.fixture
def outside() -> Iterator[Outside]:
    server = Outside()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_the_browser_reaches_nothing_but_loopback(desktop: WebDriver, outside: Outside) -> None:
    address = outside_address()
    urls = [f"http://{address}:{outside.port}/", f"http://{socket.gethostname()}:{outside.port}/"]
    # The control: the server answers from outside loopback (Python gets through) ...
    assert outside.marker in httpx.get(urls[0], trust_env=False, timeout=5).text
    assert outside.hits == 1
    # ... but the browser gets an error page for it, by address and by name.
    for url in urls:
        with pytest.raises(WebDriverException, match=r"net::ERR_(PROXY_CONNECTION_FAILED|NAME_)"):
            desktop.get(url)
        assert outside.marker not in desktop.page_source, url
    assert outside.hits == 1


def test_console_problems_catch_csp_violations_and_errors(
    desktop: WebDriver, server: Server, console: Console
) -> None:
    open_page(desktop, f"{server.url}/docs")
    wait_for_text(desktop, "/api/v1/hazards")
    assert console.problems() == []
    # An inline script, as an attacker's injected markup would carry: refused and reported.
    desktop.execute_script(
        "const s = document.createElement('script');"
        "s.textContent = 'window.injected = true';"
        "document.body.appendChild(s);"
    )
    assert desktop.execute_script("return window.injected === undefined")
    problems = console.problems()
    assert any("script-src" in p for p in problems), problems
    # A script error of the page's own is a problem too.
    desktop.execute_script("setTimeout(() => { throw new Error('broken-on-purpose'); }, 0)")
    WebDriverWait(desktop, 5).until(
        lambda _: any("broken-on-purpose" in p for p in console.problems()),
        message="an uncaught error was not reported",
    )
