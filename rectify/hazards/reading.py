"""What the console's hazard page reads (`/console/hazards/{id}`), in one connection: the hazard
as the API shows it (`service.view`: branches, plan, penalties, timers, allowed triggers), its
history, evidence, 执法文书, every deadline it has had, the officers who may sign its documents,
and whether the caller may upload evidence now. Reads only; scope first (NotFound)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from rectify.audit import service as audit
from rectify.auth.models import Principal
from rectify.auth.scope import Caller, region_prefix
from rectify.context import Context
from rectify.documents import service as documents
from rectify.documents.models import DocumentPublic
from rectify.evidence.models import Evidence
from rectify.hazards import service
from rectify.hazards.row import HazardRow
from rectify.workflow.definition import Definition
from rectify.workflow.engine import rules_of

__all__ = ["DeadlineChange", "HazardPage", "benign_since", "hazard_page"]

EVIDENCE = Evidence.__table__  # type: ignore[attr-defined]
PRINCIPALS = Principal.__table__  # type: ignore[attr-defined]
OFFICER_ROLES = ("inspector", "dispatcher")
# Events that change nothing a person decides on: a page loaded before one of them is not stale.
BENIGN = frozenset({"document_issued"})


@dataclass(frozen=True)
class DeadlineChange:
    """One deadline the hazard has had, and the event that set it."""

    at: datetime
    trigger: str
    hazard_seq: int
    deadline: datetime
    previous: datetime | None


@dataclass
class HazardPage:
    hazard: HazardRow
    view: dict[str, Any]
    definition: Definition
    events: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    documents: list[DocumentPublic]
    deadlines: list[DeadlineChange]
    officers: list[dict[str, Any]]
    may_upload: bool


def hazard_page(
    *, ctx: Context, connection: Connection, caller: Caller, hazard_id: int
) -> HazardPage:
    """Everything the hazard page shows, for a caller in scope (NotFound otherwise)."""
    hazard = service.get(connection=connection, caller=caller, hazard_id=hazard_id)
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    view = service.view(ctx=ctx, connection=connection, caller=caller, hazard=hazard)
    events = [audit.to_public(e) for e in audit.history(connection=connection, hazard_id=hazard_id)]
    stmt = select(EVIDENCE).where(EVIDENCE.c.hazard_id == hazard_id).order_by(EVIDENCE.c.at)
    evidence = [dict(r) for r in connection.execute(stmt).mappings()]
    docs = documents.for_page(ctx=ctx, connection=connection, caller=caller, hazard_id=hazard_id)
    return HazardPage(
        hazard=hazard,
        view=view,
        definition=definition,
        events=events,
        evidence=evidence,
        documents=docs,
        deadlines=deadlines(events),
        officers=officers(connection=connection, hazard=hazard, now=ctx.now()),
        may_upload=may_upload(definition, hazard, caller),
    )


def may_upload(definition: Definition, hazard: HazardRow, caller: Caller) -> bool:
    """The caller's role is one of `evidence_added`'s and the hazard's state allows it."""
    spec = definition.triggers.get("evidence_added")
    if spec is None or caller.role not in spec.roles:
        return False
    state = hazard.workflow_state
    return any(r.primary and r.matches(state, None) for r in rules_of(definition, "evidence_added"))


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def deadlines(events: list[dict[str, Any]]) -> list[DeadlineChange]:
    """Every deadline the history set, oldest first: the first is the original one (交办),
    the later ones extensions, failed verifications, regrades, listings and recounts."""
    out: list[DeadlineChange] = []
    current: datetime | None = None
    for e in events:
        p = e["payload"] if isinstance(e["payload"], dict) else {}
        trigger = e["trigger"]
        new: datetime | None = None
        if trigger == "decide_extension" and p.get("approved"):
            new = _instant((p.get("request") or {}).get("new_deadline"))
        elif trigger == "verify_fail":
            new = _instant(p.get("new_deadline"))
        elif trigger in (
            "assign",
            "self_assign",
            "regrade",
            "list_for_supervision",
            "deadline_recomputed",
        ):
            new = _instant(p.get("deadline"))
        if new is not None and new != current:
            at = _instant(e["at"]) or new
            out.append(DeadlineChange(at, trigger, e["hazard_seq"], new, current))
            current = new
    return out


def officers(*, connection: Connection, hazard: HazardRow, now: datetime) -> list[dict[str, Any]]:
    """Who may sign this hazard's documents: active inspectors and dispatchers with an
    enforcement certificate number (执法证号) whose region covers the hazard (the rule
    `documents.issue` checks again when the step is fired)."""
    p = PRINCIPALS.c
    stmt = (
        select(p.id, p.display_name, p.role, p.region_code, p.certificate_no, p.expires_at)
        .where(p.role.in_(OFFICER_ROLES), p.revoked_at.is_(None), p.certificate_no.is_not(None))
        .order_by(p.display_name, p.id)
    )
    out = []
    for row in connection.execute(stmt):
        if row.expires_at is not None and row.expires_at <= now:
            continue
        if not row.region_code or not hazard.region_code.startswith(region_prefix(row.region_code)):
            continue
        out.append(
            {
                "id": row.id,
                "name": row.display_name,
                "role": row.role,
                "certificate_no": row.certificate_no,
            }
        )
    return out


def benign_since(*, connection: Connection, hazard_id: int, version: int) -> int | None:
    """The hazard's newest version when every event after `version` is one that changes
    nothing a person decides on (a rendered document, `document_issued`); None otherwise.
    A form loaded at `version` may then be applied at the returned version: the service still
    refuses it (409) should anything else arrive in between."""
    stmt = (
        select(audit.EVENTS.c.hazard_seq, audit.EVENTS.c.trigger)
        .where(audit.EVENTS.c.hazard_id == hazard_id, audit.EVENTS.c.hazard_seq > version)
        .order_by(audit.EVENTS.c.hazard_seq)
    )
    later = list(connection.execute(stmt))
    if not later or any(r.trigger not in BENIGN for r in later):
        return None
    return later[-1].hazard_seq
