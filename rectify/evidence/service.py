"""Use cases for evidence: upload to a hazard (file then row, undone together), read back."""

from __future__ import annotations

import re
from typing import BinaryIO

from sqlmodel import Session, select

from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.evidence.models import Evidence
from rectify.exceptions import Forbidden, NotFound
from rectify.hazards import service as hazards
from rectify.inputs import clean_filename

UPLOADERS = ("enterprise", "inspector", "dispatcher")
SHA256 = re.compile(r"[0-9a-f]{64}")


def upload(
    *, ctx: Context, caller: Caller, hazard_id: int, stream: BinaryIO, filename: str | None
) -> Evidence:
    """Store the file by content and attach it to the hazard; a failure leaves nothing."""
    with ctx.db.session() as session:
        hazards.get(session=session, caller=caller, hazard_id=hazard_id)
    if caller.role not in UPLOADERS:
        raise Forbidden(f"a {caller.role} may not upload evidence")
    blob = ctx.evidence.put(stream)
    try:
        with ctx.db.write() as session:
            existing = session.get(Evidence, (hazard_id, blob.sha256))
            if existing is not None:
                return existing
            row = Evidence(
                hazard_id=hazard_id,
                sha256=blob.sha256,
                size=blob.size,
                content_type=blob.content_type,
                filename=clean_filename(filename),  # for display only, never a path
                uploaded_by=caller.actor,
                at=ctx.now(),
            )
            session.add(row)
        return row
    except BaseException:
        if blob.created and not _referenced(ctx, blob.sha256):
            ctx.evidence.discard(blob)
        raise


def _referenced(ctx: Context, sha256: str) -> bool:
    # Another hazard may have attached the same bytes between our put and our failure.
    with ctx.db.session() as session:
        return session.exec(select(Evidence).where(Evidence.sha256 == sha256)).first() is not None


def get(*, session: Session, caller: Caller, hazard_id: int, sha256: str) -> Evidence:
    """One evidence record of a hazard in scope."""
    hazards.get(session=session, caller=caller, hazard_id=hazard_id)
    if not SHA256.fullmatch(sha256):  # nothing else names evidence (nor reaches the database)
        raise NotFound(f"hazard {hazard_id} has no evidence {sha256[:64]!r}")
    row = session.exec(
        select(Evidence).where(Evidence.hazard_id == hazard_id, Evidence.sha256 == sha256)
    ).first()
    if row is None:
        raise NotFound(f"hazard {hazard_id} has no evidence {sha256}")
    return row
