"""What each role sees when it signs in (`/console/`), and reporting a hazard from the console
(`/console/hazards/new`, the same service function as `POST /api/v1/hazards`).

    dispatcher  工作台: counts of every worklist, one list at a time with filters and pages
    enterprise  its tasks by urgency, and its extension requests waiting for a decision
    inspector   the verification queue (oldest first), and the report form
    auditor     the audit overview (rectify.console.audit.auditor_home_sections)
    admin       people administration

The lists come from rectify.hazards.worklists (one query each, scoped as the API scopes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Connection

from rectify.api.deps import ContextDep
from rectify.api.permissions import Roles
from rectify.auth.scope import Caller, region_prefix
from rectify.console.audit import auditor_home_sections
from rectify.console.deps import CheckedForm, ConsoleCaller
from rectify.console.enterprises import overdue_words
from rectify.console.render import china_time, page
from rectify.context import Context
from rectify.exceptions import InvalidInput
from rectify.hazards import service as hazards
from rectify.hazards import worklists as lists
from rectify.hazards.models import HazardCreate
from rectify.hazards.words import GRADE_LABELS, SOURCE_LABELS
from rectify.workflow.definition import Definition

__all__ = ["DISPATCHER_LIST_LABELS", "router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
NEW = "/console/hazards/new"
# Who may report a hazard: the workflow's `report` roles (dispatcher, inspector, enterprise).
REPORTERS = Depends(Roles("dispatcher", "inspector", "enterprise"))

DISPATCHER_LIST_LABELS = {
    "overdue": "已逾期",
    "due_soon": "即将到期",
    "verification_late": "待验收超时",
    "extensions": "延期待审批",
    "listed": "挂牌督办",
    "suspended": "停产整顿",
    "transferred": "移交司法",
}
Text = Annotated[str | None, Query(max_length=100)]
_REGION = re.compile(r"\d{6}(\d{3})?")


class Blank(dict[str, str]):
    """A form's typed values or errors: a field not in it reads as "" (templates are strict)."""

    def __missing__(self, key: str) -> str:
        return ""


# -- words -------------------------------------------------------------------------------------


def span_words(seconds: float) -> str:
    """A duration as a person says it: 3 天 5 小时, 7 小时, 40 分钟."""
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} 天" + (f" {hours} 小时" if hours else "")
    if hours:
        return f"{hours} 小时"
    return f"{max(rest // 60, 1)} 分钟"


class Labels:
    """Chinese labels of states from the workflow version each hazard runs under."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.latest = ctx.registry.latest(hazards.WORKFLOW)
        self._cache: dict[tuple[str, int], Definition] = {}

    def definition(self, row: dict[str, Any]) -> Definition:
        key = (row["workflow_name"], row["workflow_version"])
        if key not in self._cache:
            self._cache[key] = self.ctx.registry.get(*key)
        return self._cache[key]

    def state(self, row: dict[str, Any], field: str = "state") -> str:
        return self.definition(row).label_of(field, row[field])

    def trigger(self, name: str) -> str:
        spec = self.latest.triggers.get(name)
        return spec.label if spec is not None and spec.label else name


def shape(
    row: dict[str, Any], labels: Labels, now: datetime, late_before: datetime | None = None
) -> dict[str, Any]:
    """A list row as the templates show it: labels, China times and how long (`late`: waiting
    for verification since before `late_before`)."""
    deadline = row["deadline"]
    late = None
    if row["state"] in ("assigned", "rectifying") and deadline is not None and now > deadline:
        late = (now - deadline).total_seconds()
    out = {
        "id": row["id"],
        "title": row["title"],
        "enterprise": row.get("enterprise_name") or f"企业 {row['enterprise_id']}",
        "enterprise_id": row["enterprise_id"],
        "region_code": row["region_code"],
        "grade": GRADE_LABELS.get(row["grade"], row["grade"]),
        "major": row["grade"] == "major",
        "state": labels.state(row),
        "branches": [
            labels.state(row, field)
            for field, quiet in (("supervision", "none"), ("production", "normal"))
            + (("judicial", "none"),)
            if row[field] != quiet
        ],
        "deadline": china_time(deadline),
        "provisional": row["deadline_provisional"],
        "overdue": overdue_words(int(late)) if late is not None else "",
        "due_in": "",
        "since": "",
        "waited": "",
        "extension": None,
        "late": False,
    }
    if late is None and deadline is not None and deadline > now:
        out["due_in"] = f"还剩 {span_words((deadline - now).total_seconds())}"
    since = row.get("since")
    if since is not None:
        out["since"] = china_time(since)
        out["waited"] = f"已等待 {span_words((now - since).total_seconds())}"
        out["late"] = late_before is not None and since < late_before
    request = row["pending_extension"]
    if isinstance(request, dict):
        out["extension"] = {
            "new_deadline": _iso_china(request.get("new_deadline")),
            "requested_at": _iso_china(request.get("requested_at")),
            "reason": str(request.get("reason") or ""),
        }
    return out


def _iso_china(value: Any) -> str:
    try:
        return china_time(datetime.fromisoformat(str(value)))
    except ValueError:
        return "—"


def task_words(
    row: dict[str, Any], labels: Labels, plan_due: datetime | None, now: datetime
) -> str:
    """What the enterprise must do next with this hazard, and by when."""
    state, deadline = row["state"], china_time(row["deadline"])
    if state == "assigned" and row["self_managed"]:
        return f"自行整改，并于 {deadline} 前确认整改完成"
    if state == "assigned":
        if plan_due is None:
            return f"{labels.trigger('accept')}（整改期限 {deadline}）"
        late = "（已逾期）" if plan_due < now else ""
        return f"{labels.trigger('accept')}：请于 {china_time(plan_due)} 前提交{late}"
    if state == "rectifying" and row["verify_failures"]:
        confirm = labels.trigger("confirm_rectified")
        return f"验收未通过，请重新整改，并于 {deadline} 前再次{confirm}"
    if state == "rectifying":
        report, confirm = labels.trigger("report_progress"), labels.trigger("confirm_rectified")
        return f"{report}；整改完成后{confirm}（期限 {deadline}）"
    if state == "awaiting_verification":
        return labels.trigger("self_verify")
    return labels.trigger("self_close")


# -- the landing page ------------------------------------------------------------------------


@router.get("/console/")
def home(
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    list_name: Annotated[str, Query(alias="list", max_length=40)] = "overdue",
    region: Text = None,
    grade: Text = None,
    industry: Text = None,
    enterprise_id: Text = None,
    state: Text = None,
    offset: Annotated[str, Query(max_length=12)] = "0",
) -> Response:
    """The landing page of the signed-in person's role."""
    start = _offset(offset)
    if caller.role == "dispatcher":
        given = {"region": region, "grade": grade, "industry": industry}
        given |= {"enterprise_id": enterprise_id, "state": state}
        return _dispatcher(request, ctx, caller, list_name, given, start)
    if caller.role == "enterprise":
        return _enterprise(request, ctx, caller, start)
    if caller.role == "inspector":
        return _inspector(request, ctx, caller, start)
    if caller.role == "auditor":
        sections = auditor_home_sections(ctx=ctx, caller=caller)
        return page(request, "home_auditor.html", audit_home=sections)
    return page(request, "home_admin.html")


def _offset(value: str) -> int:
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        return 0
    return min(int(value), lists.MAX_OFFSET) // PAGE_SIZE * PAGE_SIZE


def _filters(
    connection: Connection, ctx: Context, caller: Caller, given: dict[str, str | None]
) -> tuple[lists.Filters, dict[str, str]]:
    """The dispatcher's filters, and a message (in Chinese) for each one that was not valid."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    region = (given["region"] or "").strip()
    if region:
        inside = caller.region_code is None or region.startswith(region_prefix(caller.region_code))
        if not _REGION.fullmatch(region):
            errors["region"] = "请填写 6 位或 9 位行政区划代码，如 420102。"
        elif not inside:
            errors["region"] = "该行政区划不在您的管辖范围内。"
        else:
            values["region"] = region
    grade = (given["grade"] or "").strip()
    if grade:
        if grade in GRADE_LABELS:
            values["grade"] = grade
        else:
            errors["grade"] = "请选择隐患等级。"
    industry = (given["industry"] or "").strip()
    if industry:
        values["industry"] = industry
    firm = (given["enterprise_id"] or "").strip()
    if firm:
        if firm.isascii() and firm.isdigit() and 0 < int(firm) < 2**62:
            values["enterprise_id"] = int(firm)
        else:
            errors["enterprise_id"] = "请选择企业。"
    state = (given["state"] or "").strip()
    if state:
        known = {s for d in ctx.registry.all() for s in d.region_by_field["state"].states}
        if state in known:
            values["state"] = state
        else:
            errors["state"] = "请选择整改状态。"
    return lists.Filters(**values), errors


def _pages(offset: int, shown: int, total: int) -> dict[str, Any]:
    last = min(total, lists.COUNT_CAP, lists.MAX_OFFSET + PAGE_SIZE)
    return {
        "offset": offset,
        "first": offset + 1 if shown else 0,
        "last": offset + shown,
        "previous": max(offset - PAGE_SIZE, 0) if offset else None,
        "next": offset + PAGE_SIZE if offset + shown < last and shown == PAGE_SIZE else None,
        "capped": offset + PAGE_SIZE > lists.MAX_OFFSET and total > offset + shown,
    }


def _count_words(n: int) -> str:
    return f"{lists.COUNT_CAP}+" if n > lists.COUNT_CAP else str(n)


def _dispatcher(
    request: Request,
    ctx: Context,
    caller: Caller,
    list_name: str,
    given: dict[str, str | None],
    offset: int,
) -> Response:
    if list_name not in lists.DISPATCHER_LISTS:
        list_name = "overdue"
    now = ctx.now()
    window = lists.Window.of(ctx.settings, now)
    labels = Labels(ctx)
    with ctx.db.engine.connect() as connection:
        filters, errors = _filters(connection, ctx, caller, given)
        scoped = {"connection": connection, "caller": caller, "filters": filters}
        counts = lists.counts(**scoped, names=lists.DISPATCHER_LISTS, window=window)
        rows = lists.items(**scoped, name=list_name, window=window, limit=PAGE_SIZE, offset=offset)
        firms = lists.enterprises_in_scope(connection=connection, caller=caller)
        industries = lists.industries_in_scope(connection=connection, caller=caller)
    kept = {k: (v or "").strip() for k, v in given.items() if (v or "").strip()}
    return page(
        request,
        "home_dispatcher.html",
        list_name=list_name,
        list_labels=DISPATCHER_LIST_LABELS,
        counts={k: _count_words(v) for k, v in counts.items()},
        raw_counts=counts,
        task_column=False,
        rows=[shape(r, labels, now, window.verification_late_before) for r in rows],
        pages=_pages(offset, len(rows), counts[list_name]),
        query=_query_string(kept),
        typed=Blank(kept),
        errors=Blank(errors),
        firms=firms,
        industries=industries,
        grades=GRADE_LABELS,
        states=labels.latest.region_by_field["state"].states,
        due_soon_days=_days(ctx.settings.worklist_due_soon_days),
        late_days=_days(ctx.settings.worklist_verification_late_days),
        now_words=china_time(now),
    )


def _days(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _query_string(kept: dict[str, str]) -> Callable[..., str]:
    """`query(list=..., offset=...)`: this page's URL with the filters kept."""
    from urllib.parse import urlencode

    def build(**changes: Any) -> str:
        values = {**kept, **{k: v for k, v in changes.items() if v is not None}}
        values = {k: v for k, v in values.items() if v not in ("", 0, "0")}
        return "/console/?" + urlencode(values) if values else "/console/"

    return build


def _enterprise(request: Request, ctx: Context, caller: Caller, offset: int) -> Response:
    now = ctx.now()
    window = lists.Window.of(ctx.settings, now)
    labels = Labels(ctx)
    none = lists.Filters()
    with ctx.db.engine.connect() as connection:
        scoped = {"connection": connection, "caller": caller, "filters": none, "window": window}
        total = lists.count(**scoped, name="tasks")
        rows = lists.items(**scoped, name="tasks", limit=PAGE_SIZE, offset=offset)
        extensions = lists.items(**scoped, name="extensions", limit=PAGE_SIZE, offset=0)
        due = lists.plan_due_times(connection=connection, hazard_ids=[r["id"] for r in rows])
    tasks = []
    for row in rows:
        shaped = shape(row, labels, now)
        shaped["task"] = task_words(row, labels, due.get(row["id"]), now)
        tasks.append(shaped)
    return page(
        request,
        "home_enterprise.html",
        tasks=tasks,
        total=_count_words(total),
        extensions=[shape(r, labels, now) for r in extensions],
        pages=_pages(offset, len(rows), total),
        query=_query_string({}),
    )


def _inspector(request: Request, ctx: Context, caller: Caller, offset: int) -> Response:
    now = ctx.now()
    window = lists.Window.of(ctx.settings, now)
    labels = Labels(ctx)
    none = lists.Filters()
    with ctx.db.engine.connect() as connection:
        scoped = {"connection": connection, "caller": caller, "filters": none, "window": window}
        total = lists.count(**scoped, name="verification")
        late = lists.count(**scoped, name="verification_late")
        rows = lists.items(**scoped, name="verification", limit=PAGE_SIZE, offset=offset)
    return page(
        request,
        "home_inspector.html",
        rows=[shape(r, labels, now, window.verification_late_before) for r in rows],
        total=_count_words(total),
        late=_count_words(late),
        late_days=_days(ctx.settings.worklist_verification_late_days),
        pages=_pages(offset, len(rows), total),
        query=_query_string({}),
    )


# -- reporting a hazard ------------------------------------------------------------------------

REPORT_FIELDS = (
    "enterprise_id",
    "title",
    "description",
    "grade",
    "industry",
    "source",
    "location",
    "violation",
)
_LIMITS = {"title": 300, "description": 10000, "industry": 100, "location": 500}


def _report_form(
    request: Request,
    ctx: Context,
    caller: Caller,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    message: str | None = None,
) -> Response:
    with ctx.db.engine.connect() as connection:
        firms = lists.enterprises_in_scope(connection=connection, caller=caller)
        industries = lists.industries_in_scope(connection=connection, caller=caller)
    return page(
        request,
        "report/new.html",
        status=status,
        typed=Blank(typed),
        errors=Blank(errors),
        message=message,
        firms=firms,
        industries=industries,
        grades=GRADE_LABELS,
        sources=SOURCE_LABELS,
        report_label=Labels(ctx).trigger("report"),
    )


@router.get(NEW, dependencies=[REPORTERS])
def new_hazard(request: Request, ctx: ContextDep, caller: ConsoleCaller) -> Response:
    """The form for reporting a hazard found on site (the same fields as the API's)."""
    typed = {"grade": "general", "source": "inspection"}
    if caller.role == "enterprise":
        typed["source"] = "self_check"
    return _report_form(request, ctx, caller, typed=typed, errors={})


_REQUIRED = {
    "title": "请填写隐患名称。",
    "industry": "请填写行业。",
    "enterprise_id": "请选择企业。",
    "grade": "请选择隐患等级。",
    "source": "请选择隐患来源。",
}


def report_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors as one Chinese message per field."""
    out: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "title"
        kind = error["type"]
        if kind in ("missing", "string_too_short"):
            message = _REQUIRED.get(field, "此项必填。")
        elif kind == "string_too_long":
            message = f"不能超过 {_LIMITS.get(field, 100)} 个字。"
        elif field == "enterprise_id":
            message = "请选择企业。"
        elif field == "grade":
            message = "请选择隐患等级。"
        elif field == "source":
            message = "请选择隐患来源。"
        else:
            message = "填写有误，请检查。"
        out.setdefault(field, message)
    return out


@router.post(NEW, dependencies=[REPORTERS])
def report_hazard(
    request: Request, ctx: ContextDep, caller: ConsoleCaller, form: CheckedForm
) -> Response:
    """Report a hazard through `rectify.hazards.service.report`, as `POST /api/v1/hazards`
    does; on to its page, or the form again with each field's error beside it."""
    typed = {name: str(form.get(name) or "")[:10000] for name in REPORT_FIELDS}
    if caller.role == "enterprise" and caller.enterprise_id is not None:
        typed["enterprise_id"] = str(caller.enterprise_id)
    firm = typed["enterprise_id"].strip()
    data: dict[str, Any] = {k: typed[k].strip() for k in REPORT_FIELDS if k != "violation"}
    data["enterprise_id"] = int(firm) if firm.isascii() and firm.isdigit() else firm or None
    data["violation"] = typed["violation"] in ("1", "on", "true")
    data = {k: v for k, v in data.items() if v not in (None, "")}
    try:
        created = hazards.report(ctx=ctx, caller=caller, data=HazardCreate(**data))
    except ValidationError as exc:
        return _report_form(
            request, ctx, caller, typed=typed, errors=report_errors(exc), status=422
        )
    except InvalidInput as exc:
        errors = {
            e["field"]: "该企业不存在或不在您的管辖范围内。"
            if e["field"] == "enterprise_id"
            else "填写有误，请检查。"
            for e in exc.errors
        }
        return _report_form(request, ctx, caller, typed=typed, errors=errors, status=422)
    return RedirectResponse(f"/console/hazards/{created['id']}", status_code=303)
