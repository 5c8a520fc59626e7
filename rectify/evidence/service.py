"""Use cases for evidence: upload to a hazard (file, row and `evidence_added` event, undone
together), read back."""

from __future__ import annotations

import re
from typing import Any, BinaryIO

from sqlalchemy import Connection, select

from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.database.uow import UnitOfWork
from rectify.evidence.models import Evidence
from rectify.exceptions import Forbidden, NotFound
from rectify.hazards import row as rows
from rectify.hazards import service as hazards
from rectify.inputs import clean_filename

SHA256 = re.compile(r"[0-9a-f]{64}")
EVIDENCE = Evidence.__table__  # type: ignore[attr-defined]


def upload(
    *, ctx: Context, caller: Caller, hazard_id: int, stream: BinaryIO, filename: str | None
) -> dict[str, Any]:
    """Store the file by content, attach it to the hazard and record it in the hazard's history;
    a failure or a refusal (a final hazard: 409) leaves nothing."""
    # Scope (404) and role (403) before a byte of the file is read; the roles are those of the
    # workflow's `evidence_added` (data: `apply` checks them again in the transaction).
    with ctx.db.engine.connect() as connection:
        stored = hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
    definition = ctx.registry.get(stored.workflow_name, stored.workflow_version)
    roles = definition.triggers["evidence_added"].roles
    if caller.role not in roles:
        raise Forbidden(f"a {caller.role} may not upload evidence (allowed: {', '.join(roles)})")
    shown = clean_filename(filename)  # for display (and messages) only, never a path
    blob = ctx.evidence.put(stream, name=shown)
    fields = {"sha256": blob.sha256, "size": blob.size, "content_type": blob.content_type}

    def command(uow: UnitOfWork) -> dict[str, Any]:
        hazard = rows.load(uow, hazard_id, lock=True)
        hazard = hazards.get_in_scope(caller=caller, hazard_id=hazard_id, hazard=hazard)
        existing = _row(uow.connection, hazard_id, blob.sha256)
        if existing is not None:
            return existing  # the same bytes again: already attached and recorded
        payload = fields | ({"filename": shown} if shown else {})
        hazards.apply(
            uow=uow,
            ctx=ctx,
            caller=caller,
            hazard=hazard,
            trigger="evidence_added",
            payload=payload,
        )
        return fields | {"filename": shown}

    try:
        return ctx.db.run(command)
    except BaseException:
        if blob.created and not _referenced(ctx, blob.sha256):
            ctx.evidence.discard(blob)
        raise


def _row(connection: Connection, hazard_id: int, sha256: str) -> dict[str, Any] | None:
    stmt = select(EVIDENCE.c.sha256, EVIDENCE.c.size, EVIDENCE.c.content_type).where(
        EVIDENCE.c.hazard_id == hazard_id, EVIDENCE.c.sha256 == sha256
    )
    found = connection.execute(stmt).mappings().first()
    return None if found is None else dict(found)


def _referenced(ctx: Context, sha256: str) -> bool:
    # Another hazard may have attached the same bytes between our put and our failure.
    with ctx.db.engine.connect() as connection:
        stmt = select(EVIDENCE.c.sha256).where(EVIDENCE.c.sha256 == sha256).limit(1)
        return connection.execute(stmt).first() is not None


def get(*, connection: Connection, caller: Caller, hazard_id: int, sha256: str) -> dict[str, Any]:
    """One evidence record of a hazard in scope."""
    hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
    if not SHA256.fullmatch(sha256):  # nothing else names evidence (nor reaches the database)
        raise NotFound(f"hazard {hazard_id} has no evidence {sha256[:64]!r}")
    stmt = select(EVIDENCE).where(EVIDENCE.c.hazard_id == hazard_id, EVIDENCE.c.sha256 == sha256)
    found = connection.execute(stmt).mappings().first()
    if found is None:
        raise NotFound(f"hazard {hazard_id} has no evidence {sha256}")
    return dict(found)
