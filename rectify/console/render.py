"""The console's Jinja2 environment (autoescape everywhere, strict undefined), its filters for
China time and sizes, and `page()`, which renders a template with what every page needs.

Filters: `china_time` (2026年12月1日 14:30), `china_date` (2026年12月1日), `role_label`
(督办人员 ...), `human_size`. Globals: `csrf_field()` (the hidden CSRF input of a form),
`role_labels`. Every page gets `caller` (None when signed out) and `csrf_token`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from rectify.api.gate import CALLER, CSRF_TOKEN
from rectify.api.problems import human_size
from rectify.auth.models import ROLE_LABELS
from rectify.timers.policy import CHINA_TZ

__all__ = [
    "ENV",
    "STATIC",
    "TEMPLATES",
    "china_date",
    "china_time",
    "csrf_field",
    "page",
    "role_label",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
"""Served at /console/static (app.css; the vendored scripts under vendor/)."""


def china_time(moment: datetime | None) -> str:
    """An instant as a person in China reads it: 2026年12月1日 14:30 (China time, UTC+8)."""
    if moment is None:
        return "—"
    local = moment.astimezone(CHINA_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def china_date(moment: datetime | None) -> str:
    """The day of an instant in China: 2026年12月1日."""
    if moment is None:
        return "—"
    local = moment.astimezone(CHINA_TZ)
    return f"{local.year}年{local.month}月{local.day}日"


def role_label(role: str) -> str:
    """督办人员, 执法人员, 企业用户, 审计监督人员, 系统管理员 (the role itself if unknown)."""
    return ROLE_LABELS.get(role, role)


@pass_context
def csrf_field(context: Any) -> Markup:
    """The hidden input carrying the page's CSRF token; every POST form includes it."""
    token = context.get("csrf_token") or ""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(token))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        china_time=china_time, china_date=china_date, role_label=role_label, human_size=human_size
    )
    env.globals.update(csrf_field=csrf_field, role_labels=ROLE_LABELS)
    return env


ENV = _environment()


def page(
    request: Request,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render `template` with the signed-in caller and the CSRF token (a view's own win)."""
    state = request.scope.get("state", {})
    values = {
        "request": request,
        "caller": state.get(CALLER),
        "csrf_token": state.get(CSRF_TOKEN),
        **context,
    }
    html = ENV.get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers=headers)
