"""An enterprise as its page shows it: the record, a page of its hazards, its penalties, and the
closure rule of 安全生产法第一百一十三条 counted in the policy's windows. One read, in scope.

The counts use the rule's own terms (`enterprises.service.closure_due`): penalties recorded
after `now - window`, and an open major hazard (any state but closed and dismissed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

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
        run = partial(_run, session.connection(), eid=enterprise_id)
        rows, total = _OPEN if open_only else _ALL
        hazards = [
            dict(r) | {"overdue_seconds": overdue_seconds(_Row(r), now)}
            for r in run(rows, limit=limit, offset=offset).mappings()
        ]
        return Overview(
            enterprise=enterprise,
            hazards=hazards,
            hazards_total=run(total).scalar_one(),
            open_only=open_only,
            offset=offset,
            limit=limit,
            penalties=[dict(r) for r in run(_PENALTY_ROWS, limit=penalties).mappings()],
            penalties_total=run(_PENALTY_COUNT).scalar_one(),
            open_major=run(_OPEN_MAJOR).scalar_one(),
            windows=[
                ClosureWindow(needed, _days(w), run(_PENALTIES_SINCE, since=now - w).scalar_one())
                for needed, w in ctx.policy.closure_rule.windows
            ],
        )


def _run(connection: Connection, statement: Any, **params: Any) -> Any:
    return connection.execute(statement, params)


def _days(window: timedelta) -> int:
    return round(window.total_seconds() / 86400)


class _Row:
    """Attribute access over a row mapping, for `overdue_seconds`."""

    def __init__(self, values: Any) -> None:
        self.state, self.deadline = values["state"], values["deadline"]


# Core statements, built once (the page runs them on every visit).
_h, _p = HAZARDS.c, PENALTIES.c
_MINE = _h.enterprise_id == bindparam("eid")
_OPEN_STATE = _h.state.not_in(FINAL_STATES)
_COUNT = select(func.count()).select_from(HAZARDS)


def _page(*where: Any) -> Any:
    return (
        select(*(_h[name] for name in LIST_COLUMNS))
        .where(*where)
        .order_by(_h.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


_ALL = (_page(_MINE), _COUNT.where(_MINE))
_OPEN = (_page(_MINE, _OPEN_STATE), _COUNT.where(_MINE, _OPEN_STATE))
_OPEN_MAJOR = _COUNT.where(_MINE, _h.grade == "major", _OPEN_STATE)
_PENALTY_MINE = _p.enterprise_id == bindparam("eid")
_PENALTY_ROWS = (
    select(_p.id, _p.hazard_id, _p.decision_no, _p.kind, _p.amount_yuan, _p.legal_basis)
    .add_columns(_p.at, _p.recorded_by)
    .where(_PENALTY_MINE)
    .order_by(_p.at.desc(), _p.id.desc())
    .limit(bindparam("limit"))
)
_PENALTY_COUNT = select(func.count()).select_from(PENALTIES).where(_PENALTY_MINE)
_PENALTIES_SINCE = _PENALTY_COUNT.where(_p.at > bindparam("since"))
