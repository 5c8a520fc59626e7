"""An enterprise as its page shows it: the record, a page of its hazards, its penalties, and the
closure rule of 安全生产法第一百一十三条 counted in the policy's windows. One read, in scope.

The counts use the rule's own terms (`enterprises.service.closure_due`): penalties recorded
after `now - window`, and an open major hazard (any state but closed and dismissed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select
from sqlmodel import Session

from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.enterprises import service
from rectify.enterprises.models import Enterprise
from rectify.hazards.models import Penalty
from rectify.hazards.row import HAZARDS, overdue_seconds

__all__ = ["ClosureWindow", "Overview", "overview"]

PENALTIES = Penalty.__table__  # type: ignore[attr-defined]
FINAL_STATES = ("closed", "dismissed")
LIST_COLUMNS = (
    "id",
    "title",
    "grade",
    "state",
    "supervision",
    "production",
    "judicial",
    "deadline",
    "deadline_provisional",
    "workflow_name",
    "workflow_version",
    "created_at",
)


@dataclass(frozen=True)
class ClosureWindow:
    """One of the rule's windows: `needed` penalties within `days` days, and how many there are."""

    needed: int
    days: int
    count: int

    @property
    def reached(self) -> bool:
        return self.count >= self.needed


@dataclass
class Overview:
    enterprise: Enterprise
    hazards: list[dict[str, Any]]  # the page asked for, newest first, with `overdue_seconds`
    hazards_total: int  # matching the filter
    open_only: bool
    offset: int
    limit: int
    penalties: list[dict[str, Any]]  # the newest, with the hazard each was recorded on
    penalties_total: int
    open_major: int  # open major hazards (the rule requires one)
    windows: list[ClosureWindow]

    @property
    def rule_holds(self) -> bool:
        """Would the rule flag the enterprise now (an open major hazard and a window reached)?"""
        return self.open_major > 0 and any(w.reached for w in self.windows)


def overview(
    *,
    ctx: Context,
    caller: Caller,
    enterprise_id: int,
    open_only: bool = False,
    offset: int = 0,
    limit: int = 20,
    penalties: int = 20,
) -> Overview:
    """The enterprise page's content (NotFound outside the caller's scope)."""
    now = ctx.now()
    with ctx.db.session() as session:
        enterprise = service.get(session=session, caller=caller, enterprise_id=enterprise_id)
        connection = session.connection()
        rows, total = _hazards(connection, enterprise_id, open_only, offset, limit, now)
        recent, penalty_total = _penalties(connection, enterprise_id, penalties)
        windows = [
            ClosureWindow(needed, _days(w), _penalties_since(connection, enterprise_id, now - w))
            for needed, w in ctx.policy.closure_rule.windows
        ]
        return Overview(
            enterprise=enterprise,
            hazards=rows,
            hazards_total=total,
            open_only=open_only,
            offset=offset,
            limit=limit,
            penalties=recent,
            penalties_total=penalty_total,
            open_major=_open_major(session, enterprise_id),
            windows=windows,
        )


def _days(window: timedelta) -> int:
    return round(window.total_seconds() / 86400)


def _hazards(
    connection: Connection,
    enterprise_id: int,
    open_only: bool,
    offset: int,
    limit: int,
    now: datetime,
) -> tuple[list[dict[str, Any]], int]:
    c = HAZARDS.c
    where = [c.enterprise_id == enterprise_id]
    if open_only:
        where.append(c.state.not_in(FINAL_STATES))
    total = connection.execute(select(func.count()).select_from(HAZARDS).where(*where)).scalar_one()
    stmt = (
        select(*(c[name] for name in LIST_COLUMNS))
        .where(*where)
        .order_by(c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = []
    for row in connection.execute(stmt).mappings():
        values = dict(row)
        rows.append(values | {"overdue_seconds": overdue_seconds(_Row(values), now)})
    return rows, total


class _Row:
    """Attribute access over a dict, for `overdue_seconds`."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _penalties(
    connection: Connection, enterprise_id: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    p = PENALTIES.c
    where = p.enterprise_id == enterprise_id
    total = connection.execute(select(func.count()).select_from(PENALTIES).where(where))
    stmt = (
        select(p.id, p.hazard_id, p.decision_no, p.kind, p.amount_yuan, p.legal_basis, p.at)
        .add_columns(p.recorded_by)
        .where(where)
        .order_by(p.at.desc(), p.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in connection.execute(stmt).mappings()], total.scalar_one()


def _penalties_since(connection: Connection, enterprise_id: int, since: datetime) -> int:
    p = PENALTIES.c
    stmt = select(func.count()).select_from(PENALTIES)
    stmt = stmt.where(p.enterprise_id == enterprise_id, p.at > since)
    return connection.execute(stmt).scalar_one()


def _open_major(session: Session, enterprise_id: int) -> int:
    c = HAZARDS.c
    stmt = select(func.count()).select_from(HAZARDS)
    stmt = stmt.where(
        c.enterprise_id == enterprise_id, c.grade == "major", c.state.not_in(FINAL_STATES)
    )
    return session.connection().execute(stmt).scalar_one()
