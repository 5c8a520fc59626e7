"""The API's documentation page (/docs) served offline, and the static files it loads.

FastAPI's own /docs loads Swagger UI from a CDN (a blank page on an intranet) and starts it with
an inline script (refused by our Content-Security-Policy). This page loads the vendored copy
under /console/static/vendor/ and starts it from rectify's own /console/static/api-docs/
swagger-init.js, which reads the OpenAPI address from a data attribute.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "STATIC_PREFIX", "install", "mount_static"]

STATIC_DIR = Path(__file__).resolve().parents[1] / "console" / "static"
STATIC_PREFIX = "/console/static"

PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{static}/vendor/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="{static}/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<noscript>此页面需要启用 JavaScript；接口定义见 <a href="{openapi}">{openapi}</a>。</noscript>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{static}/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{static}/api-docs/swagger-init.js"></script>
</body>
</html>
"""


def mount_static(app: FastAPI) -> None:
    """Serve rectify/console/static/ (vendored libraries, styles, scripts) at /console/static."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")


def swagger_page(*, title: str, root_path: str, openapi_url: str) -> str:
    """The /docs page; every value interpolated into the HTML is escaped."""
    return PAGE.format(
        title=escape(title),
        static=escape(root_path + STATIC_PREFIX),
        openapi=escape(root_path + openapi_url),
    )


def install(app: FastAPI) -> None:
    """Mount the static files, serve /docs (Swagger UI) and send /redoc there.

    The app must be built with `docs_url=None, redoc_url=None`, so FastAPI's CDN pages are gone.
    """
    mount_static(app)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI over /openapi.json, offline."""
        root = request.scope.get("root_path", "")
        title = f"{app.title} — 接口文档"
        return HTMLResponse(
            swagger_page(title=title, root_path=root, openapi_url=app.openapi_url or "")
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> RedirectResponse:
        """ReDoc is not shipped (docs/DECISIONS.md, "Pages"): the one API page is /docs."""
        return RedirectResponse(request.scope.get("root_path", "") + "/docs")
