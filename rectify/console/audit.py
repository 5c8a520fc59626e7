"""The auditor's pages (审计): replay at an instant, a hazard's timeline with each event's chain
status, verification of every chain, checkpoints (write one, check a published line) and the
export download; and `auditor_home_sections` for the console's landing page.

    /console/audit/                         the auditor's overview (auditor, admin)
    /console/audit/find?hazard_id=N         → the chain page of hazard N
    /console/hazards/{id}/replay?at=…       dispatcher, auditor; in scope (else 404)
    /console/hazards/{id}/chain?offset=…    dispatcher, auditor, admin; in scope (else 404)
    /console/audit/verify                   auditor, admin (the whole database)
    /console/audit/checkpoints              auditor, admin; POST writes one, POST …/check
                                            checks a published line
    /console/audit/export[/download]        auditor, admin; streams the export service

Times are entered in China time (a datetime-local field: `2026-12-01T14:30`); a query may also
carry ISO 8601 with an offset (`2026-12-01T06:30:00Z`).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from rectify.api.deps import ContextDep, Offset, RowId
from rectify.api.permissions import HazardRoles, Roles
from rectify.audit import checkpoints, export, reading
from rectify.audit.replay import REPLAYERS
from rectify.audit.verify import check_line, verify
from rectify.auth.models import ROLE_LABELS
from rectify.auth.scope import Caller
from rectify.console import audit_words as words
from rectify.console.deps import CheckedForm, ConsoleCaller
from rectify.console.errors import PageError
from rectify.console.render import page
from rectify.context import Context
from rectify.exceptions import InvalidInput
from rectify.inputs import parse_instant
from rectify.timers.policy import CHINA_TZ
from rectify.workflow.definition import Definition

__all__ = ["auditor_home_sections", "parse_china_time", "router"]

router = APIRouter(include_in_schema=False)
# Who may see what, declared on the routes (scope first where a hazard is named: 404, then 403).
AUDITORS_ONLY = Depends(Roles(*reading.AUDITORS))
REPLAY = Depends(HazardRoles(*REPLAYERS))
CHAIN = Depends(HazardRoles(*reading.CHAIN_READERS))

HOME = "/console/audit/"
CHECKPOINTS = "/console/audit/checkpoints"
EXPORT = "/console/audit/export"
CHAIN_PAGE = 100  # events per page of a timeline
CHECKPOINT_PAGE = 20
TIME_HINT = "请按北京时间填写，例如 2026-12-01 14:30"
_LOCAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?")
QueryText = Annotated[str | None, Query(max_length=100)]


# -- words a page needs --------------------------------------------------------------------


def parse_china_time(value: str) -> datetime:
    """A time typed in China time (`2026-12-01T14:30`, seconds optional, as a datetime-local
    field sends it) or ISO 8601 with an offset; ValueError (in Chinese) otherwise."""
    value = value.strip()
    m = _LOCAL.fullmatch(value)
    if m:
        year, month, day, hour, minute = (int(x) for x in m.groups()[:5])
        second = int(m[6] or 0)
        micro = int((m[7] or "0").ljust(6, "0"))
        try:
            return datetime(year, month, day, hour, minute, second, micro, tzinfo=CHINA_TZ)
        except ValueError:
            raise ValueError(f"没有这个日期或时间。{TIME_HINT}") from None
    try:
        return parse_instant(value)
    except ValueError:
        raise ValueError(TIME_HINT) from None


def local_value(moment: datetime | None) -> str:
    """A datetime-local field's value for an instant, in China time, to the second."""
    if moment is None:
        return ""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M:%S")


def china_seconds(moment: datetime | None) -> str:
    """2026年12月1日 14:30:05 (China time): the audit's times, where seconds tell events apart."""
    if moment is None:
        return "—"
    local = moment.astimezone(CHINA_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}"


def iso_china(value: str | None) -> str:
    """An ISO 8601 instant (as audit results carry them) in China time, to the second."""
    if not value:
        return "—"
    try:
        return china_seconds(datetime.fromisoformat(value))
    except ValueError:
        return value


def actor_label(actor: str) -> str:
    """`dispatcher:王督办` → 王督办（督办人员）; the timer engine → 系统（定时任务）."""
    role, _, name = actor.partition(":")
    if role == "system":
        return "系统（定时任务）"
    return f"{name or actor}（{ROLE_LABELS.get(role, role)}）" if name else actor


def state_words(definition: Definition, text: str | None) -> str:
    """A stored from/to state as its Chinese labels: the main track, and each branch that has
    left its initial state ("" for none: the first event has no `from`)."""
    try:
        state = json.loads(text) if text is not None else None
    except ValueError:
        return f"（无法读取：{text[:40]}）"  # type: ignore[index]
    if state is None:
        return ""
    if not isinstance(state, dict):
        return f"（无法读取：{str(text)[:40]}）"
    out = []
    for field, value in state.items():
        region = definition.region_by_field.get(field)
        if region is None:
            out.append(f"{field}：{value}")
        elif field == "state" or value != region.initial:
            out.append(region.states.get(value, value))
    return " · ".join(out)


def move_words(definition: Definition, from_text: str | None, to_text: str | None) -> str:
    """An event's move in Chinese: `已登记 → 已交办`, or only where it led for the first."""
    before, after = state_words(definition, from_text), state_words(definition, to_text)
    return f"{before} → {after}" if before else after


def _helpers(definition: Definition | None = None) -> dict[str, Any]:
    helpers: dict[str, Any] = {
        "break_zh": words.break_zh,
        "china_seconds": china_seconds,
        "iso_china": iso_china,
        "actor_label": actor_label,
        "grade_labels": words.GRADE_LABELS,
        "level_labels": words.LEVEL_LABELS,
        "penalty_kinds": words.PENALTY_KINDS,
        "resolution_labels": words.RESOLUTION_LABELS,
        "field_labels": words.FIELD_LABELS,
    }
    if definition is not None:
        helpers |= {
            "definition": definition,
            "trigger_label": lambda name: words.trigger_label(definition, name),
            "move_words": lambda a, b: move_words(definition, a, b),
            "divergence_zh": lambda d: words.divergence_zh(definition, d),
        }
    return helpers


# -- the auditor's overview ----------------------------------------------------------------


def auditor_home_sections(*, ctx: Context, caller: Caller) -> dict[str, Any]:
    """What the partial `audit/_home.html` shows, passed to it as `audit_home`: the newest
    checkpoint, the events appended since, the newest events in scope with their Chinese labels
    (by the newest workflow version), and whether the caller may verify and write checkpoints."""
    overview = reading.auditor_overview(ctx=ctx, caller=caller)
    latest = ctx.registry.latest("hazard")
    for event in overview["newest_events"]:
        event["label"] = words.trigger_label(latest, event["trigger"])
        event["actor_label"] = actor_label(event["actor"])
        event["when"] = china_seconds(event["at"])
    cp = overview["checkpoint"]
    if cp is not None:
        cp["when"] = china_seconds(cp["at"])
    return overview | {"may_audit": caller.role in reading.AUDITORS}


@router.get("/console/audit/", dependencies=[AUDITORS_ONLY])
def audit_home(request: Request, ctx: ContextDep, caller: ConsoleCaller) -> Response:
    """The auditor's overview: find a hazard's chain, the newest checkpoint, the newest events."""
    sections = auditor_home_sections(ctx=ctx, caller=caller)
    return page(request, "audit/home.html", audit_home=sections, section="home")


@router.get("/console/audit")
def audit_root() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get("/console/audit/find")
def find_hazard(caller: ConsoleCaller, hazard_id: QueryText = None) -> Response:
    """The hazard-number form of the overview: on to that hazard's chain page."""
    value = (hazard_id or "").strip().lstrip("#")
    if not (value.isascii() and value.isdigit() and len(value) <= 18 and int(value) > 0):
        raise PageError(400, "请输入隐患编号（数字）。")
    return RedirectResponse(f"/console/hazards/{int(value)}/chain", status_code=303)


# -- one hazard: replay and chain ----------------------------------------------------------


@router.get("/console/hazards/{hazard_id}/replay", dependencies=[REPLAY])
def replay_page(
    hazard_id: RowId, request: Request, ctx: ContextDep, caller: ConsoleCaller, at: QueryText = None
) -> Response:
    """The hazard rebuilt at `at` (China time or ISO 8601; now when empty), every field with its
    Chinese label, the events applied, and each divergence with its event."""
    moment, error = None, None
    if at and at.strip():
        try:
            moment = parse_china_time(at)
        except ValueError as exc:
            error = str(exc)
    view = reading.replay_view(
        ctx=ctx, caller=caller, hazard_id=hazard_id, at=moment, refused=error
    )
    status = 422 if view.at_error else 200
    return page(
        request,
        "audit/replay.html",
        status=status,
        view=view,
        typed=at or "",
        at_value=local_value(moment or (None if error else ctx.now())),
        **_helpers(view.definition),
    )


@router.get("/console/hazards/{hazard_id}/chain", dependencies=[CHAIN])
def chain_page(
    hazard_id: RowId,
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    offset: Offset = 0,
) -> Response:
    """The hazard's history in chain order, each event with its chain status (ok, or broken and
    why, in Chinese with the English original); the whole chain is checked on every visit."""
    view = reading.chain_view(
        ctx=ctx, caller=caller, hazard_id=hazard_id, offset=offset, limit=CHAIN_PAGE
    )
    first_break = min(
        (b["hazard_seq"] for b in view.breaks if isinstance(b["hazard_seq"], int)), default=None
    )
    return page(
        request,
        "audit/chain.html",
        view=view,
        first_break=first_break,
        page_size=CHAIN_PAGE,
        **_helpers(view.definition),
    )


# -- the whole database --------------------------------------------------------------------


@router.get("/console/audit/verify", dependencies=[AUDITORS_ONLY])
def verify_page(request: Request, ctx: ContextDep, caller: ConsoleCaller) -> Response:
    """Every chain and every checkpoint checked now; each break listed with its hazard."""
    started = time.perf_counter()
    result = verify(ctx=ctx)
    elapsed = time.perf_counter() - started
    return page(
        request,
        "audit/verify.html",
        result=result,
        elapsed=elapsed,
        checked_at=ctx.now(),
        section="verify",
        **_helpers(),
    )


def _checkpoints_page(
    request: Request,
    ctx: Context,
    offset: int,
    *,
    status: int = 200,
    notice: str | None = None,
    written: int | None = None,
    line: str = "",
    line_error: str | None = None,
    line_result: dict[str, Any] | None = None,
) -> Response:
    with ctx.db.session() as session:
        rows = checkpoints.list_checkpoints(
            session=session, limit=CHECKPOINT_PAGE + 1, offset=offset
        )
    return page(
        request,
        "audit/checkpoints.html",
        status=status,
        rows=rows[:CHECKPOINT_PAGE],
        more=len(rows) > CHECKPOINT_PAGE,
        offset=offset,
        page_size=CHECKPOINT_PAGE,
        notice=notice,
        written=written,
        line=line,
        line_error=line_error,
        line_result=line_result,
        section="checkpoints",
        **_helpers(),
    )


@router.get(CHECKPOINTS, dependencies=[AUDITORS_ONLY])
def checkpoints_page(
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    offset: Offset = 0,
    written: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """Checkpoints, newest first, each with its printable line; the forms to write one now and
    to check a published line."""
    notice = f"已写入检查点 #{written}，它的发布行见下表。" if written else None
    return _checkpoints_page(request, ctx, offset, notice=notice, written=written)


@router.post(CHECKPOINTS, dependencies=[AUDITORS_ONLY])
def write_checkpoint(ctx: ContextDep, caller: ConsoleCaller, form: CheckedForm) -> Response:
    """Seal every chain head now (the same service as POST /api/v1/audit/checkpoints)."""
    row = checkpoints.write_checkpoint(ctx=ctx, actor=caller.actor)
    return RedirectResponse(f"{CHECKPOINTS}?written={row.id}", status_code=303)


@router.post(f"{CHECKPOINTS}/check", dependencies=[AUDITORS_ONLY])
def check_published_line(
    request: Request, ctx: ContextDep, caller: ConsoleCaller, form: CheckedForm
) -> Response:
    """Check a published checkpoint line against the database (`audit.verify.check_line`)."""
    raw = form.get("line")
    line = raw.strip() if isinstance(raw, str) else ""
    if not line or len(line) > 1000:
        message = "请粘贴一整行检查点发布行（以 rectify-checkpoint v1 开头）。"
        return _checkpoints_page(request, ctx, 0, status=422, line=line[:1000], line_error=message)
    try:
        result = check_line(ctx=ctx, line=line)
    except InvalidInput:
        message = "这不是完整的检查点发布行：请从 rectify-checkpoint v1 开始整行复制，不要改动。"
        return _checkpoints_page(request, ctx, 0, status=422, line=line, line_error=message)
    return _checkpoints_page(request, ctx, 0, line=line, line_result=result)


# -- export --------------------------------------------------------------------------------


def _export_form(
    request: Request, typed: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return page(
        request,
        "audit/export.html",
        status=status,
        typed=typed,
        errors=errors,
        section="export",
        **_helpers(),
    )


@router.get(EXPORT, dependencies=[AUDITORS_ONLY])
def export_page(request: Request, caller: ConsoleCaller) -> Response:
    """The export form: from and to in China time, JSON Lines or CSV."""
    return _export_form(request, {"format": "jsonl"}, {})


@router.get(f"{EXPORT}/download", dependencies=[AUDITORS_ONLY])
def export_download(
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    start: Annotated[str | None, Query(alias="from", max_length=100)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=100)] = None,
    fmt: Annotated[str | None, Query(alias="format", max_length=10)] = None,
) -> Response:
    """The events in scope from `from` (inclusive) to `to` (exclusive), streamed by the export
    service, ending with its trailer; a refused form comes back with the reason beside it."""
    typed = {"from": start or "", "to": end or "", "format": fmt or ""}
    errors: dict[str, str] = {}
    times: dict[str, datetime | None] = {"from": None, "to": None}
    for name in ("from", "to"):
        if typed[name].strip():
            try:
                times[name] = parse_china_time(typed[name])
            except ValueError as exc:
                errors[name] = str(exc)
    if typed["format"] not in export.FORMATS:
        errors["format"] = "请选择 JSON Lines 或 CSV。"
    if not errors and times["from"] and times["to"] and times["from"] >= times["to"]:
        errors["to"] = "结束时间必须晚于开始时间。"
    if errors:
        return _export_form(request, typed, errors, status=422)
    body = export.stream(
        ctx=ctx, caller=caller, fmt=typed["format"], start=times["from"], end=times["to"]
    )
    stamp = ctx.now().astimezone(CHINA_TZ).strftime("%Y%m%d-%H%M%S")
    name = f"rectify-events-{stamp}.{typed['format']}"
    return StreamingResponse(
        body,
        media_type=export.FORMATS[typed["format"]],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
