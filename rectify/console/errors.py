"""Errors on console pages as HTML in Chinese (the API keeps its problem documents): a page
error raised by a view, a domain error from a service, an unknown page, and the middleware's
refusal of a POST without a session."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from rectify.api.problems import human_size
from rectify.console.render import page
from rectify.exceptions import RectifyError

__all__ = ["PageError", "install", "too_large", "unauthenticated"]

TITLES = {
    400: "请求无效",
    401: "需要登录",
    403: "无权操作",
    404: "页面不存在",
    405: "不支持的操作",
    409: "无法完成",
    413: "内容过大",
    422: "输入有误",
}


class PageError(Exception):
    """A console page refused: its status and the sentence a person reads."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_console(request: Request) -> bool:
    path = request.url.path
    return path == "/console" or path.startswith("/console/")


def error_page(request: Request, status: int, message: str) -> Response:
    headers = {"HX-Redirect": "/console/login"} if status == 401 else None
    return page(
        request,
        "error.html",
        status=status,
        headers=headers,
        title=TITLES.get(status, "出错了"),
        message=message,
        status_code=status,
    )


def unauthenticated(request: Request) -> Response:
    """The 401 page for a console POST without a valid session (its body is never read)."""
    return error_page(request, 401, "登录已失效或尚未登录，本次提交未被处理。请重新登录后再试。")


def too_large(request: Request, limit: int) -> Response:
    """The 413 page for a console form whose body is over its limit (nothing was kept)."""
    message = f"上传的内容超过了 {human_size(limit)} 的上限，未保存任何文件。请压缩照片或分开上传。"
    return error_page(request, 413, message)


def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    return error_page(request, exc.status, exc.message)


Handler = Callable[[Request, Exception], Response]


_DOMAIN_WORDS = {
    404: "您要找的内容不存在，或不在您的职责范围内。",
    403: "您的角色无权使用此页面。",  # a route's declared roles refused (api/permissions.py)
}


def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RectifyError)
    return error_page(request, exc.status, _DOMAIN_WORDS.get(exc.status, exc.detail))


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = "您要找的页面不存在。" if exc.status_code == 404 else "无法处理这个请求。"
    return error_page(request, exc.status_code, message)


def _validation(request: Request, exc: Exception) -> Response:
    return error_page(request, 400, "请求的地址或参数无效。")


def _by_path(api: Handler, console: Handler) -> Handler:
    def handle(request: Request, exc: Exception) -> Response:
        return (console if is_console(request) else api)(request, exc)

    return handle


def install(app: FastAPI) -> None:
    """HTML error pages under /console; elsewhere the handlers already installed (problem+json,
    `rectify.api.problems.install`, which must run first) keep answering."""
    app.add_exception_handler(PageError, _page_error)
    for exc_class, console in (
        (RectifyError, _domain),
        (StarletteHTTPException, _http),
        (RequestValidationError, _validation),
    ):
        app.add_exception_handler(exc_class, _by_path(app.exception_handlers[exc_class], console))
