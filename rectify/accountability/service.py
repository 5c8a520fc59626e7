"""Use cases for 追责问责 entries: list them in scope, and record how one was handled (the
`resolve_accountability` event through `hazards.service.apply`, one transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from rectify.accountability.models import (
    OUTCOMES,
    RULES,
    STATE_LABELS,
    Accountability,
    ResolveRequest,
)
from rectify.auth.scope import Caller, in_region
from rectify.context import Context
from rectify.database.uow import UnitOfWork
from rectify.exceptions import Conflict, NotFound
from rectify.hazards import row as rows
from rectify.hazards import service as hazards

__all__ = ["RESOLVERS", "ACCOUNTABILITY", "Filters", "get", "list_", "public", "resolve"]

ACCOUNTABILITY = Accountability.__table__  # type: ignore[attr-defined]
RESOLVERS = ("dispatcher",)
"""Who records how an entry was handled (declared on the route; the workflow files say the same
of `resolve_accountability`)."""


@dataclass(frozen=True)
class Filters:
    state: str | None = None  # open | resolved
    region: str | None = None
    hazard_id: int | None = None


def public(row: Any) -> dict[str, Any]:
    """An entry as the API shows it, with its Chinese labels."""
    values = dict(row._mapping)
    return values | {
        "rule_label": RULES.get(values["rule"], values["rule"]),
        "state_label": STATE_LABELS.get(values["state"], values["state"]),
        "outcome_label": OUTCOMES.get(values["outcome"]) if values["outcome"] else None,
    }


def _where(caller: Caller, filters: Filters) -> list[Any]:
    c = ACCOUNTABILITY.c
    where = [caller.scope_filter(ACCOUNTABILITY)]
    if filters.state:
        where.append(c.state == filters.state)
    if filters.region:
        where.append(in_region(c.region_code, filters.region))
    if filters.hazard_id is not None:
        where.append(c.hazard_id == filters.hazard_id)
    return [w for w in where if w is not None]


def list_(
    *, connection: Connection, caller: Caller, filters: Filters, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Entries in scope matching the filters, newest first, with the total count."""
    where = _where(caller, filters)
    count = select(func.count()).select_from(ACCOUNTABILITY).where(*where)
    total = connection.execute(count).scalar_one()
    c = ACCOUNTABILITY.c
    stmt = select(ACCOUNTABILITY).where(*where).order_by(c.opened_at.desc(), c.id.desc())
    found = connection.execute(stmt.limit(limit).offset(offset))
    return [public(r) for r in found], total


def get(*, connection: Connection, caller: Caller, accountability_id: int) -> dict[str, Any]:
    """One entry, or NotFound when it does not exist for this caller."""
    stmt = select(ACCOUNTABILITY).where(ACCOUNTABILITY.c.id == accountability_id)
    row = connection.execute(stmt).first()
    if row is None or not caller.sees(region_code=row.region_code, enterprise_id=row.enterprise_id):
        raise NotFound(f"no 追责问责 entry {accountability_id}")
    return public(row)


def resolve(
    *, ctx: Context, caller: Caller, accountability_id: int, request: ResolveRequest
) -> dict[str, Any]:
    """Record how an open entry was handled: a `resolve_accountability` event on its hazard
    (outcome, note, the person where found out) and the entry marked resolved; once."""

    def command(uow: UnitOfWork) -> dict[str, Any]:
        c = ACCOUNTABILITY.c
        stmt = select(ACCOUNTABILITY).where(c.id == accountability_id)
        entry = uow.execute(stmt).first()
        if entry is None:
            raise NotFound(f"no 追责问责 entry {accountability_id}")
        hazard = rows.load(uow, entry.hazard_id, lock=True)
        try:
            hazard = hazards.get_in_scope(caller=caller, hazard_id=entry.hazard_id, hazard=hazard)
        except NotFound:
            raise NotFound(f"no 追责问责 entry {accountability_id}") from None
        entry = uow.execute(stmt).one()  # read again under the hazard's lock
        if entry.state != "open":
            when = entry.resolved_at.isoformat() if entry.resolved_at else "earlier"
            raise Conflict(f"追责问责 entry {accountability_id} was already resolved ({when})")
        payload = {"accountability_id": accountability_id}
        payload |= request.model_dump(mode="json", exclude_none=True)
        hazards.apply(
            uow=uow,
            ctx=ctx,
            caller=caller,
            hazard=hazard,
            trigger="resolve_accountability",
            payload=payload,
        )
        return public(uow.execute(stmt).one())

    return ctx.db.run(command)
