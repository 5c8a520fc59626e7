"""Security headers on every response, the strict policy on pages, and a /docs page that needs
nothing from outside: what a browser is told, checked without one (tests/browser renders it)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from rectify.api.app import create_app
from rectify.api.security import PAGE_CSP, RESOURCE_CSP, SecurityHeaders
from rectify.config import Settings
from rectify.context import build_context

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


@pytest.fixture
def web(tmp_path: Path, sqlite_template: Path) -> Iterator[TestClient]:
    """The app on a SQLite copy (headers do not depend on the database)."""
    shutil.copy(sqlite_template, tmp_path / "rectify.db")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'rectify.db'}",
        data_dir=tmp_path / "data",
        demo=False,
        scheduler=False,
    )
    ctx = build_context(settings)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield client
    ctx.db.dispose()


def directives(policy: str) -> dict[str, str]:
    return {d.split()[0]: d.partition(" ")[2] for d in (p.strip() for p in policy.split(";")) if d}


def test_pages_carry_the_strict_policy(web: TestClient) -> None:
    assert web.head("/docs").status_code == 200
    r = web.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == PAGE_CSP
    policy = directives(r.headers["content-security-policy"])
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no other host
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'" and policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["img-src"] == "'self' data: blob:"
    for name, value in COMMON.items():
        assert r.headers[name] == value


def test_docs_page_loads_only_its_own_files(web: TestClient) -> None:
    html = web.get("/docs").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts, html
    for attributes, body in scripts:
        assert body.strip() == "", "an inline script: the policy would refuse it"
        src = re.search(r'src="([^"]+)"', attributes).group(1)
        assert src.startswith("/console/static/"), src
        assert web.get(src).status_code == 200, src
    styles = re.findall(r'<link[^>]*href="([^"]+)"', html)
    assert styles and all(h.startswith("/console/static/") for h in styles), styles
    for href in styles:
        assert web.get(href).status_code == 200, href
    assert 'data-openapi-url="/openapi.json"' in html
    assert "cdn" not in html.lower()


def test_redoc_redirects_to_docs(web: TestClient) -> None:
    r = web.get("/redoc", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/docs"


def test_static_files_are_served_with_their_types_and_the_headers(web: TestClient) -> None:
    r = web.get("/console/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
    assert r.headers["x-content-type-options"] == "nosniff"  # so a browser never guesses
    assert (
        web.get("/console/static/vendor/swagger-ui/swagger-ui.css")
        .headers["content-type"]
        .startswith("text/css")
    )


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/hazards", "/no/such/page", "/metrics"])
def test_every_other_response_carries_the_headers(web: TestClient, path: str) -> None:
    r = web.get(path)
    assert r.headers["content-security-policy"] == RESOURCE_CSP, (path, r.status_code)
    for name, value in COMMON.items():
        assert r.headers[name] == value, (path, name)


def test_a_header_the_endpoint_set_is_kept() -> None:
    def own(request: object) -> PlainTextResponse:
        return PlainTextResponse(
            "x", headers={"Content-Security-Policy": "sandbox", "X-Frame-Options": "SAMEORIGIN"}
        )

    def page(request: object) -> HTMLResponse:
        return HTMLResponse("<p>x</p>")

    app = SecurityHeaders(Starlette(routes=[Route("/own", own), Route("/page", page)]))
    with TestClient(app) as client:
        r = client.get("/own")
        assert r.headers["content-security-policy"] == "sandbox"
        assert r.headers["x-frame-options"] == "SAMEORIGIN"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert client.get("/page").headers["content-security-policy"] == PAGE_CSP
        assert r.headers.get_list("content-security-policy") == ["sandbox"]
