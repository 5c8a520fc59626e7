"""The hazard page (`/console/hazards/{id}`) and what is driven from it:

    GET  /console/hazards/{id}                           the page (anyone in scope; else 404)
    POST /console/hazards/{id}/triggers/{trigger}        a trigger's form → hazards.service
    POST /console/hazards/{id}/evidence                  evidence upload → evidence.service
    GET  /console/hazards/{id}/evidence/{sha256}         an evidence file (thumbnails, PDFs)
    POST /console/hazards/{id}/documents/{doc}/serve     送达 → documents.service.serve

Each POST calls the same service function as the API, so the workflow's roles, guards and
payload rules decide here exactly as there. A refusal (403, 409, 422) renders the same page
again with the reason in Chinese, each field's error beside its input and what was typed kept;
nothing was applied. Success answers 303 back to the page. A form carries the hazard's version
(`version`): a page older than the hazard is refused (409) unless everything since is a rendered
document (`hazards.reading.benign_since`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from rectify.api.deps import ContextDep, RowId
from rectify.api.permissions import HazardRoles
from rectify.api.uploads import MultipartFile
from rectify.auth.scope import Caller
from rectify.console import labels
from rectify.console.deps import CheckedForm, ConsoleCaller, check_csrf
from rectify.console.enterprises import overdue_words
from rectify.console.errors import PageError
from rectify.console.forms import Choice, FormField, fields_of, local_value, payload_of
from rectify.console.render import china_time, page
from rectify.context import Context
from rectify.documents import service as documents
from rectify.documents.models import SERVICE_METHODS, ServeRequest
from rectify.evidence import service as evidence
from rectify.evidence.serving import file_headers
from rectify.exceptions import Conflict, Forbidden, InvalidInput, RectifyError
from rectify.hazards import reading
from rectify.hazards import service as hazards
from rectify.workflow.definition import Definition
from rectify.workflow.diagram import mermaid

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

# Anyone signed in whose scope holds the hazard (404 otherwise, before anything else); what
# each may do is the workflow's data (a trigger's roles), decided by the service.
IN_SCOPE = Depends(HazardRoles("dispatcher", "inspector", "enterprise", "auditor", "admin"))
STAGES = {"before": "整改前", "after": "整改后"}
UPLOAD_FIELDS = ("csrf_token", "stage")


def page_url(hazard_id: int) -> str:
    return f"/console/hazards/{hazard_id}"


@dataclass
class TriggerForm:
    """One trigger offered as a form, and, after a refusal, what was typed and why."""

    name: str
    label: str
    source: str
    fields: list[FormField]
    typed: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""


@dataclass
class Refused:
    """The form that came back refused (its trigger, or `serve:<doc>` / `upload`)."""

    form: str
    typed: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""


# -- the page ------------------------------------------------------------------------------


@router.get("/console/hazards/{hazard_id}", dependencies=[IN_SCOPE])
def hazard_page(
    hazard_id: RowId,
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    uploaded: Annotated[int | None, Query(ge=0, le=100)] = None,
) -> Response:
    """The hazard: its track and branches, deadlines, timers, plan, penalties, evidence,
    documents, history and state diagram, and a form for each trigger the caller may fire."""
    notice = f"已上传 {uploaded} 个文件。" if uploaded else None
    return _render(request, ctx, caller, hazard_id, notice=notice)


def _render(
    request: Request,
    ctx: Context,
    caller: Caller,
    hazard_id: int,
    *,
    refused: Refused | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    with ctx.db.engine.connect() as connection:
        data = reading.hazard_page(
            ctx=ctx, connection=connection, caller=caller, hazard_id=hazard_id
        )
    definition = data.definition
    grade = data.hazard.grade or "general"
    forms = []
    for name in data.view["allowed_triggers"]:
        spec = definition.triggers[name]
        form = TriggerForm(name, spec.label, spec.source or "", _fields(ctx, name, grade))
        if refused is not None and refused.form == name:
            form.typed, form.errors, form.message = refused.typed, refused.errors, refused.message
        forms.append(form)
    shown = {f.name for f in forms} | ({"upload"} if data.may_upload else set())
    if caller.role in documents.SERVERS:
        shown |= {f"serve:{d.id}" for d in data.documents if d.status == "issued" and not d.served}
    lost = refused is not None and refused.form not in shown  # said at the top instead
    return page(
        request,
        "hazards/page.html",
        status=status,
        data=data,
        h=data.view,
        definition=definition,
        forms=forms,
        refused=refused,
        lost_refusal=refused.message if lost and refused else None,
        notice=notice,
        regions=_regions(definition, data.hazard.workflow_state),
        timeline=_timeline(definition, data.events, _document_kinds(ctx)),
        diagram=_diagram(definition, data.hazard.workflow_state),
        evidence=_evidence(data.evidence),
        stages=STAGES,
        default_stage="before" if data.hazard.state in ("reported", "assigned") else "after",
        overdue=overdue_words(data.view.get("overdue_seconds")),
        timer_labels=labels.TIMER_LABELS,
        field_label=labels.field_label,
        value_label=labels.value_label,
        plan_words=labels.payload_words("accept", data.hazard.plan, china_time, prefix="plan.")
        if data.hazard.plan
        else [],
        pending_words=labels.payload_words(
            "request_extension", data.hazard.pending_extension or {}, china_time
        ),
        grade_labels=labels.VALUE_LABELS["grade"],
        level_labels=labels.VALUE_LABELS["level"],
        penalty_kinds=labels.VALUE_LABELS["kind"],
        service_methods=SERVICE_METHODS,
        serve_fields=SERVE_FIELDS,
        may_serve=caller.role in documents.SERVERS,
        now_local=local_value(ctx.now()),
        parse_time=_parse_time,
    )


def _fields(ctx: Context, trigger: str, grade: str) -> list[FormField]:
    """The trigger's inputs; `officers` marked required where the step's document needs them
    and the officers rule is on (documents.issue refuses it otherwise)."""
    fields = fields_of(trigger, grade=grade)
    config = ctx.documents
    kind = config.kind_of(trigger) if config else None
    if kind and config and config.kinds[kind].officers and ctx.settings.documents_require_officers:
        for f in fields:
            if f.name == "officers" and f.widget == "officers":
                f.required = True
    return fields


def _document_kinds(ctx: Context) -> dict[str, str]:
    """Each 执法文书 kind's name (config/documents.toml)."""
    return {k: v.name for k, v in ctx.documents.kinds.items()} if ctx.documents else {}


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _regions(definition: Definition, state: dict[str, str]) -> list[dict[str, Any]]:
    """The main track and the three branches: each state in order, the current one marked."""
    return [
        {
            "field": r.field,
            "label": r.label,
            "current": state[r.field],
            "current_label": r.states.get(state[r.field], state[r.field]),
            "at_rest": state[r.field] == r.initial,
            "states": [(s, label, s == state[r.field]) for s, label in r.states.items()],
        }
        for r in definition.regions
    ]


def _timeline(
    definition: Definition, events: list[dict[str, Any]], kinds: dict[str, str]
) -> list[dict[str, Any]]:
    out = []
    for e in reversed(events):  # newest first
        spec = definition.triggers.get(e["trigger"])
        moved = []
        if e["from"] and e["to"]:
            before, after = e["from"], e["to"]
            for f, s in after.items():
                if before.get(f) != s and f in definition.region_by_field:
                    region = definition.region_by_field[f]
                    old = region.states.get(before.get(f, ""), before.get(f))
                    moved.append(f"{region.label}：{old} → {region.states.get(s, s)}")
        out.append(
            {
                "seq": e["hazard_seq"],
                "label": spec.label if spec else e["trigger"],
                "trigger": e["trigger"],
                "actor": labels.actor_words(e["actor"]),
                "at": _parse_time(e["at"]),
                "moved": moved,
                "words": labels.payload_words(
                    e["trigger"], e["payload"], china_time, document_kinds=kinds
                ),
                "hash": e["hash"],
            }
        )
    return out


def _diagram(definition: Definition, state: dict[str, str]) -> str:
    """The running definition's Mermaid text (as the API gives it) with the current state of
    each region marked."""
    current = ",".join(f"{r.name}_{state[r.field]}" for r in definition.regions)
    return (
        mermaid(definition)
        + "    classDef current fill:#fde2e0,stroke:#b42318,stroke-width:3px,font-weight:bold\n"
        + f"    class {current} current\n"
    )


def _evidence(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        name = row.get("filename") or ""
        stage = next((label for label in STAGES.values() if name.startswith(f"【{label}】")), "")
        out.append(
            row
            | {
                "stage": stage or "证据材料",
                "shown": name.removeprefix(f"【{stage}】")
                if stage
                else (name or row["sha256"][:12]),
                "image": row["content_type"] in ("image/jpeg", "image/png", "image/webp"),
            }
        )
    return out


# -- firing a trigger ----------------------------------------------------------------------


def _version(form: Any) -> int:
    raw = form.get("version")
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 18:
        raise PageError(400, "表单缺少版本信息，请刷新页面后重试。")
    return int(raw)


def _if_match(ctx: Context, hazard_id: int, version: int) -> int:
    """The version to apply at: the page's, or the newest when only rendered documents came
    since (they change nothing a person decides on)."""
    with ctx.db.engine.connect() as connection:
        later = reading.benign_since(connection=connection, hazard_id=hazard_id, version=version)
    return later if later is not None else version


def _field_errors(
    errors: list[dict[str, Any]], fields: list[FormField]
) -> tuple[dict[str, str], str]:
    """A 422's errors by form field, in Chinese; errors naming no field of the form go into a
    sentence for the whole form."""
    names = {f.name for f in fields}
    by_field: dict[str, str] = {}
    rest: list[str] = []
    for e in errors:
        name = str(e.get("field", "")).removeprefix("payload.")
        words = labels.field_error_zh(str(e.get("message", "")))
        while name and name not in names and "." in name:
            name = name.rsplit(".", 1)[0]  # officers.1 → officers
        if name in names:
            by_field.setdefault(name, words)
        else:
            rest.append(f"{labels.field_label(name)}：{words}")
    return by_field, "；".join(rest)


@router.post("/console/hazards/{hazard_id}/triggers/{trigger}", dependencies=[IN_SCOPE])
def fire(
    hazard_id: RowId,
    trigger: str,
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    form: CheckedForm,
) -> Response:
    """Fire a trigger from its form (hazards.service.transition, as the API's /transitions)."""
    with ctx.db.engine.connect() as connection:
        hazard = hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    spec = definition.triggers.get(trigger)
    if spec is None or spec.creates or spec.internal:
        raise PageError(404, "没有这个操作。")
    fields = _fields(ctx, trigger, hazard.grade or "general")
    payload, errors, typed = payload_of(fields, form)
    refused = Refused(trigger, typed, errors)
    if errors:
        refused.message = "有填写不正确的地方，请按提示修改。本次提交未生效。"
        return _render(request, ctx, caller, hazard_id, refused=refused, status=422)
    if_match = _if_match(ctx, hazard_id, _version(form))
    try:
        hazards.transition(
            ctx=ctx,
            caller=caller,
            hazard_id=hazard_id,
            trigger=trigger,
            payload=payload,
            if_match=if_match,
        )
    except InvalidInput as exc:
        refused.errors, rest = _field_errors(exc.errors, fields)
        refused.message = "有填写不正确的地方，请按提示修改。本次提交未生效。" + (
            f"（{rest}）" if rest else ""
        )
        return _render(request, ctx, caller, hazard_id, refused=refused, status=422)
    except (Conflict, Forbidden) as exc:
        refused.message = labels.refusal_zh(definition, exc, trigger)
        return _render(request, ctx, caller, hazard_id, refused=refused, status=exc.status)
    return RedirectResponse(page_url(hazard_id), status_code=303)


# -- evidence ------------------------------------------------------------------------------


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _upload_refused(
    request: Request, ctx: Context, caller: Caller, hazard_id: int, status: int, message: str
) -> Response:
    if _wants_json(request):
        return JSONResponse({"message": message}, status_code=status)
    refused = Refused("upload", message=message)
    return _render(request, ctx, caller, hazard_id, refused=refused, status=status)


def _upload_words(exc: RectifyError) -> str:
    if exc.status == 413:
        return "文件太大，请压缩后或分开上传。"
    if exc.status == 415:
        return "只能上传照片（JPEG、PNG、WebP、HEIC）或 PDF 文件，且文件必须完整可读。"
    if exc.status == 409:
        return "该隐患已结案，不能再上传材料。"
    if exc.status == 403:
        return "您的角色无权上传证据材料。"
    return "上传未完成，请重新选择文件后再试。"


@router.post("/console/hazards/{hazard_id}/evidence", dependencies=[IN_SCOPE])
def upload(
    hazard_id: RowId,
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    stage: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """Upload one or more files (the same evidence service as the API, each streamed into the
    store within the size limit). The page's script sends one file per request with the CSRF
    token in a header and shows its progress; without script the form posts them all at once,
    the token and stage ahead of the files."""
    if request.headers.get("x-csrf-token"):
        check_csrf(request, None)
    reader = MultipartFile(request, "file", fields=UPLOAD_FIELDS)
    try:
        reader.open()
    except InvalidInput:
        check_csrf(request, reader.fields.get("csrf_token"))
        return _upload_refused(request, ctx, caller, hazard_id, 422, "请先选择要上传的文件。")
    check_csrf(request, reader.fields.get("csrf_token"))  # before a byte of the file is kept
    label = STAGES.get(stage or reader.fields.get("stage") or "", "")
    count = 0
    try:
        while True:
            name = reader.filename or "材料"
            if reader.filename is None and count:  # an empty file input posts an empty part
                break
            shown = f"【{label}】{name}" if label else name
            evidence.upload(
                ctx=ctx, caller=caller, hazard_id=hazard_id, stream=reader, filename=shown
            )
            count += 1
            if not reader.next_file():
                break
    except RectifyError as exc:
        done = f"已上传 {count} 个文件；" if count else ""
        return _upload_refused(
            request, ctx, caller, hazard_id, exc.status, done + _upload_words(exc)
        )
    if _wants_json(request):
        return JSONResponse({"uploaded": count}, status_code=201)
    return RedirectResponse(f"{page_url(hazard_id)}?uploaded={count}#evidence", status_code=303)


@router.get("/console/hazards/{hazard_id}/evidence/{sha256}", dependencies=[IN_SCOPE])
def evidence_file(
    hazard_id: RowId, sha256: str, ctx: ContextDep, caller: ConsoleCaller
) -> FileResponse:
    """One evidence file, served as the API serves it (images inline, PDFs as downloads)."""
    with ctx.db.engine.connect() as connection:
        row = evidence.get(connection=connection, caller=caller, hazard_id=hazard_id, sha256=sha256)
    return FileResponse(
        ctx.evidence.path(row["sha256"]), media_type=row["content_type"], headers=file_headers(row)
    )


# -- 送达 ------------------------------------------------------------------------------------

SERVE_FIELDS = [
    FormField("served_at", "送达时间", "datetime", required=True, hint="北京时间。"),
    FormField(
        "method",
        "送达方式",
        "select",
        required=True,
        choices=[Choice(k, v) for k, v in SERVICE_METHODS.items()],
    ),
    FormField("recipient", "受送达人", "text", required=True),
    FormField("note", "说明", "textarea"),
]


@router.post("/console/hazards/{hazard_id}/documents/{document_id}/serve", dependencies=[IN_SCOPE])
def serve(
    hazard_id: RowId,
    document_id: RowId,
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    form: CheckedForm,
) -> Response:
    """Record the service (送达) of a document (documents.service.serve, as the API's)."""
    payload, errors, typed = payload_of(SERVE_FIELDS, form)
    refused = Refused(f"serve:{document_id}", typed, errors)
    if not errors:
        try:
            body = ServeRequest.model_validate(payload)
        except ValidationError as exc:
            problems = [
                {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()
            ]
            refused.errors, _ = _field_errors(problems, SERVE_FIELDS)
        else:
            try:
                documents.serve(ctx=ctx, caller=caller, document_id=document_id, request=body)
            except InvalidInput as exc:
                refused.errors, rest = _field_errors(exc.errors, SERVE_FIELDS)
                refused.message = rest
            except (Conflict, Forbidden) as exc:
                status = exc.status
                refused.message = (
                    "该文书已送达或尚未生成，本次登记未生效。"
                    if status == 409
                    else "您的角色无权登记送达。"
                )
                return _render(request, ctx, caller, hazard_id, refused=refused, status=status)
            else:
                return RedirectResponse(f"{page_url(hazard_id)}#documents", status_code=303)
    refused.message = refused.message or "有填写不正确的地方，请按提示修改。本次登记未生效。"
    return _render(request, ctx, caller, hazard_id, refused=refused, status=422)
