"""Use cases for 执法文书: list a hazard's documents, read one (its PDF), render what is pending
and bind it into the hazard's chain (`document_issued`), and record a service (送达).

Rendering runs after the issuing step's commit, outside the group-commit writer (Typst takes
about 10 ms a page, the writer must not wait for it): render the snapshot, store the PDF by
content, then one short command locks the hazard, appends `document_issued` (kind, number, the
issuing event's hazard_seq, SHA-256) and marks the row issued. Two processes may render the same
pending document; the bytes are the same and the second finds it issued and does nothing.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.database.uow import UnitOfWork
from rectify.documents.models import (
    SERVICE_METHODS,
    STATUS_LABELS,
    Document,
    DocumentPublic,
    ServeRequest,
    Service,
)
from rectify.documents.render import RenderError, RenderProcess
from rectify.evidence.storage import EvidenceStore
from rectify.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from rectify.hazards import row as rows
from rectify.hazards import service as hazards

__all__ = [
    "SERVERS",
    "for_hazard",
    "for_page",
    "get",
    "pdf_path",
    "render_one",
    "render_pending",
    "serve",
    "store",
]

log = logging.getLogger(__name__)

DOCUMENTS = Document.__table__  # type: ignore[attr-defined]
SERVERS = ("dispatcher", "inspector")  # who records a service (送达)
MAX_BACKOFF = timedelta(hours=1)
PDF_MAX_BYTES = 20 * 1024 * 1024

_renderers: dict[str, RenderProcess] = {}  # one per configuration (so one per process)


def renderer(ctx: Context) -> RenderProcess:
    """The process's renderer: a child process keeping Typst and the fonts loaded (Typst holds
    the GIL while it works, which would stall this process's requests)."""
    assert ctx.documents is not None
    key = ctx.documents.model_dump_json()
    if key not in _renderers:
        _renderers[key] = RenderProcess(ctx.documents)
    return _renderers[key]


def store(ctx: Context) -> EvidenceStore:
    """Rendered documents by content: data_dir/documents/ab/cd/<sha256>."""
    return EvidenceStore(ctx.settings.documents_dir, PDF_MAX_BYTES)


# -- reading ---------------------------------------------------------------------------------
def _model(ctx: Context, row: Any) -> DocumentPublic:
    kinds = ctx.documents.kinds if ctx.documents else {}
    name = kinds[row.kind].name if row.kind in kinds else row.kind
    served = None
    if row.served_at is not None:
        served = Service(
            served_at=row.served_at,
            method=row.served_method,
            method_label=SERVICE_METHODS.get(row.served_method, row.served_method),
            recipient=row.served_recipient,
            hazard_seq=row.served_seq,
        )
    issued = row.status == "issued"
    return DocumentPublic(
        id=row.id,
        hazard_id=row.hazard_id,
        kind=row.kind,
        name=name,
        number=row.number,
        trigger=row.trigger,
        hazard_seq=row.hazard_seq,
        issued_at=row.issued_at,
        status=row.status,
        status_label=STATUS_LABELS.get(row.status, row.status),
        sha256=row.sha256,
        size=row.size,
        issued_seq=row.issued_seq,
        served=served,
        href=f"/api/v1/documents/{row.id}" if issued else None,
    )


def _public(ctx: Context, row: Any) -> dict[str, Any]:
    return _model(ctx, row).model_dump(mode="json")


def for_hazard(
    *, ctx: Context, connection: Connection, caller: Caller, hazard_id: int
) -> list[dict[str, Any]]:
    """The documents of a hazard in scope, oldest first (pending ones say so)."""
    hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
    stmt = select(DOCUMENTS).where(DOCUMENTS.c.hazard_id == hazard_id).order_by(DOCUMENTS.c.id)
    return [_public(ctx, r) for r in connection.execute(stmt)]


def for_page(
    *, ctx: Context, connection: Connection, caller: Caller, hazard_id: int
) -> list[DocumentPublic]:
    """The documents of a hazard in scope for a console page (times as datetimes): what
    `console/templates/documents/_list.html` shows as `documents`."""
    hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
    stmt = select(DOCUMENTS).where(DOCUMENTS.c.hazard_id == hazard_id).order_by(DOCUMENTS.c.id)
    return [_model(ctx, r) for r in connection.execute(stmt)]


def _row(connection: Connection, caller: Caller, document_id: int) -> Any:
    """The document row, in scope through its hazard (NotFound otherwise)."""
    row = connection.execute(select(DOCUMENTS).where(DOCUMENTS.c.id == document_id)).first()
    if row is None:
        raise NotFound(f"no document {document_id}")
    try:
        hazards.get(connection=connection, caller=caller, hazard_id=row.hazard_id)
    except NotFound:
        raise NotFound(f"no document {document_id}") from None
    return row


def get(
    *, ctx: Context, connection: Connection, caller: Caller, document_id: int
) -> dict[str, Any]:
    """One document in scope, as listed."""
    return _public(ctx, _row(connection, caller, document_id))


def pdf_path(
    *, ctx: Context, connection: Connection, caller: Caller, document_id: int
) -> tuple[Path, dict[str, Any]]:
    """Where the document's PDF is, with the document; Conflict while it is still pending."""
    row = _row(connection, caller, document_id)
    if row.status != "issued":
        raise Conflict(
            f"document {row.number} is still being rendered (待生成); try again in a few seconds",
            retry_after=5,
        )
    return store(ctx).path(row.sha256), _public(ctx, row)


# -- rendering -------------------------------------------------------------------------------
def render_pending(*, ctx: Context, limit: int = 50) -> int:
    """Render every pending document that is due (oldest first) and bind each into its
    hazard's chain; returns how many were issued. A failure is logged and retried later."""
    if ctx.documents is None:
        return 0
    c = DOCUMENTS.c
    stmt = (
        select(c.id)
        .where(c.status == "pending", c.next_attempt_at <= ctx.now())
        .order_by(c.id)
        .limit(limit)
    )
    with ctx.db.engine.connect() as connection:
        ids = list(connection.execute(stmt).scalars())
    return sum(render_one(ctx=ctx, document_id=i) for i in ids)


def render_one(*, ctx: Context, document_id: int) -> bool:
    """Render one pending document and append its `document_issued`; True when issued now."""
    with ctx.db.engine.connect() as connection:
        row = connection.execute(select(DOCUMENTS).where(DOCUMENTS.c.id == document_id)).first()
    if row is None or row.status != "pending" or ctx.documents is None:
        return False
    kind = ctx.documents.kinds.get(row.kind)
    try:
        if kind is None:
            raise RenderError(f"kind {row.kind} is no longer in config/documents.toml")
        pdf = renderer(ctx).render(
            template=kind.template, snapshot=json.loads(row.snapshot), at=row.issued_at
        )
    except RenderError as exc:
        _failed(ctx, row, str(exc))
        return False
    blob = store(ctx).put(io.BytesIO(pdf))
    return ctx.db.run(lambda uow: _bind(uow, ctx, document_id, blob.sha256, blob.size))


def _bind(uow: UnitOfWork, ctx: Context, document_id: int, sha256: str, size: int) -> bool:
    """Append `document_issued` and mark the row issued, once (another process may have)."""
    c = DOCUMENTS.c
    hazard_id = uow.execute(select(c.hazard_id).where(c.id == document_id)).scalar_one()
    hazard = rows.load(uow, hazard_id, lock=True)
    row = uow.execute(select(DOCUMENTS).where(c.id == document_id)).one()
    if row.status != "pending" or hazard is None:
        return False
    payload = {"document_id": row.id, "kind": row.kind, "number": row.number}
    payload |= {"issued_by": row.hazard_seq, "sha256": sha256, "size": size}
    hazards.apply_system(
        uow=uow, ctx=ctx, hazard=hazard, trigger="document_issued", payload=payload
    )
    done = {"status": "issued", "sha256": sha256, "size": size, "rendered_at": ctx.now()}
    done |= {"issued_seq": hazard.version, "last_error": None}
    uow.execute(update(DOCUMENTS).where(c.id == document_id).values(done))
    return True


def _failed(ctx: Context, row: Any, error: str) -> None:
    attempts = row.attempts + 1
    wait = min(timedelta(seconds=2**attempts), MAX_BACKOFF)
    log.error(
        "document %s (%s) could not be rendered: %s",
        row.id,
        row.number,
        error,
        extra={"document_id": row.id, "attempts": attempts},
    )
    values = {"attempts": attempts, "next_attempt_at": ctx.now() + wait, "last_error": error[:500]}
    with ctx.db.write() as session:
        session.execute(update(DOCUMENTS).where(DOCUMENTS.c.id == row.id).values(values))


# -- service (送达) ------------------------------------------------------------------------------
def serve(
    *, ctx: Context, caller: Caller, document_id: int, request: ServeRequest
) -> dict[str, Any]:
    """Record that a document was served (date, method, recipient) with a `serve_document`
    event on its hazard; once per document."""
    with ctx.db.engine.connect() as connection:
        _row(connection, caller, document_id)  # scope first: 404 outside it
    if caller.role not in SERVERS:
        raise Forbidden(f"a {caller.role} may not record a service (送达)")

    def command(uow: UnitOfWork) -> dict[str, Any]:
        c = DOCUMENTS.c
        hazard_id = uow.execute(select(c.hazard_id).where(c.id == document_id)).scalar_one()
        hazard = rows.load(uow, hazard_id, lock=True)
        hazard = hazards.get_in_scope(caller=caller, hazard_id=hazard_id, hazard=hazard)
        row = uow.execute(select(DOCUMENTS).where(c.id == document_id)).one()
        if row.status != "issued":
            raise Conflict(
                f"document {row.number} is still being rendered (待生成): serve it once issued"
            )
        if row.served_at is not None:
            raise Conflict(
                f"document {row.number} was already served on {row.served_at.isoformat()}"
            )
        if request.served_at < row.issued_at:
            when = row.issued_at.isoformat()
            raise InvalidInput.fields(
                [{"field": "served_at", "message": f"is before the document was issued ({when})"}]
            )
        payload = {"document_id": row.id, "number": row.number}
        payload |= request.model_dump(mode="json", exclude_none=True)
        hazards.apply(
            uow=uow,
            ctx=ctx,
            caller=caller,
            hazard=hazard,
            trigger="serve_document",
            payload=payload,
        )
        served = {"served_at": request.served_at, "served_method": request.method}
        served |= {"served_recipient": request.recipient, "served_seq": hazard.version}
        uow.execute(update(DOCUMENTS).where(c.id == document_id).values(served))
        return _public(ctx, uow.execute(select(DOCUMENTS).where(c.id == document_id)).one())

    return ctx.db.run(command)
