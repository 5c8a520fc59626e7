"""Worklists (工作台): the hazards that need someone now, one query per list, in the caller's
scope exactly as the API's list applies it (rectify.auth.scope).

    overdue             open (assigned, rectifying) and past the deadline, longest overdue first
    due_soon            open, deadline within `settings.worklist_due_soon_days`, soonest first
    verification_late   awaiting verification longer than `worklist_verification_late_days`
    verification        awaiting verification, oldest first (the inspector's queue)
    extensions          an extension request waiting for its decision, by current deadline
    listed              挂牌督办 (supervision listed)
    suspended           停产整顿 or closure requested (production)
    transferred         移交司法 and waiting for an answer (judicial)
    tasks               an enterprise's work: plan, progress, confirm, a failed verification,
                        self-check steps; by deadline

Counts stop at `COUNT_CAP` (shown as "10000+"): a capped count reads at most that many index
entries, whatever the filters. Pages are offset-based up to `MAX_OFFSET`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    cast,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean

from rectify.audit.models import Event
from rectify.auth.scope import Caller, in_region
from rectify.config import Settings
from rectify.enterprises.models import Enterprise
from rectify.hazards.row import HAZARDS, OPEN_STATES
from rectify.timers.models import Timer

__all__ = [
    "COUNT_CAP",
    "DISPATCHER_LISTS",
    "MAX_OFFSET",
    "Filters",
    "Window",
    "count",
    "counts",
    "enterprises_in_scope",
    "industries_in_scope",
    "items",
    "plan_due_times",
]

DISPATCHER_LISTS = (
    "overdue",
    "due_soon",
    "verification_late",
    "extensions",
    "listed",
    "suspended",
    "transferred",
)
COUNT_CAP = 10_000
MAX_OFFSET = 5_000  # deeper than this, filters narrow the list faster than paging would

GRADES = ("general", "major")
SUSPENDED = ("suspended", "closure_requested")
# Handed to the police or the procuratorate and waiting for their answer.
WITH_THE_POLICE = ("transferred", "reconsideration_requested", "supervision_requested")
TASK_STATES = ("assigned", "rectifying", "awaiting_verification", "verified")

_h = HAZARDS.c
_e = Enterprise.__table__.c  # type: ignore[attr-defined]
_ev = Event.__table__.c  # type: ignore[attr-defined]
_t = Timer.__table__.c  # type: ignore[attr-defined]
# A stored JSON null and SQL NULL both mean "no request" (the JSON type writes None as 'null').
# A literal, not a parameter, so the partial index of migration 0013 matches the query.
_EXTENSION_PENDING = cast(_h.pending_extension, String) != literal_column("'null'")

# When the hazard last entered awaiting verification: its newest confirm_rectified event, one
# seek in the partial index ix_events_confirmed (the trigger a literal, so the index matches).
_SINCE = (
    select(func.max(_ev.at))
    .where(_ev.hazard_id == _h.id, _ev.trigger == literal_column("'confirm_rectified'"))
    .correlate(HAZARDS)
    .scalar_subquery()
    .label("since")
)


class rare(FunctionElement[bool]):  # noqa: N801 (an SQL function's name)
    """A condition few hazards meet, said so to SQLite (`likelihood(x, 0.0001)`): its statistics
    keep one average per key, so "supervision = 'listed'" looks as common as 'none' (every
    hazard) and it would scan the table instead of the branch's index. Elsewhere the condition
    itself (PostgreSQL's statistics know the common values)."""

    type = Boolean()
    name = "rare"
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition as it stands: no "= 1" where booleans are ints


@compiles(rare)
def _rare(element: rare, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(rare, "sqlite")
def _rare_sqlite(element: rare, compiler: Any, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.0001)"


_COLUMNS = (
    _h.id,
    _h.title,
    _h.grade,
    _h.industry,
    _h.region_code,
    _h.enterprise_id,
    _e.name.label("enterprise_name"),
    _h.state,
    _h.supervision,
    _h.production,
    _h.judicial,
    _h.deadline,
    _h.deadline_provisional,
    _h.assigned_at,
    _h.verify_failures,
    _h.self_managed,
    _h.pending_extension,
    _h.workflow_name,
    _h.workflow_version,
    _h.updated_at,
)


@dataclass(frozen=True)
class Filters:
    """What a dispatcher narrows a list by (None: any)."""

    region: str | None = None  # a region code inside the caller's scope
    grade: str | None = None
    industry: str | None = None
    enterprise_id: int | None = None
    state: str | None = None  # a main-track state


@dataclass(frozen=True)
class Window:
    """The instants the lists are measured against."""

    now: datetime
    due_soon_until: datetime
    verification_late_before: datetime

    @classmethod
    def of(cls, settings: Settings, now: datetime) -> Window:
        return cls(
            now=now,
            due_soon_until=now + timedelta(days=settings.worklist_due_soon_days),
            verification_late_before=now - timedelta(days=settings.worklist_verification_late_days),
        )


def _conditions(
    name: str, window: Window, states: tuple[str, ...] = OPEN_STATES
) -> list[ColumnElement[bool]]:
    now = window.now
    # Every grade, named: the deadline range is then read per (state, grade) in the index.
    graded = [_in(_h.state, states), _h.grade.in_(GRADES)]
    if name == "overdue":
        return [*graded, _h.deadline < now]
    if name == "due_soon":
        return [*graded, _h.deadline >= now, _h.deadline < window.due_soon_until]
    waiting = [_h.state == "awaiting_verification", _h.grade.in_(GRADES)]  # a covering range
    if name == "verification":
        return waiting
    if name == "verification_late":
        return [*waiting, window.verification_late_before > _SINCE]
    if name == "extensions":
        return [_h.pending_extension.is_not(None), _EXTENSION_PENDING]
    if name == "listed":
        return [rare(_h.supervision == "listed")]
    if name == "suspended":
        return [rare(_h.production.in_(SUSPENDED))]
    if name == "transferred":
        return [rare(_h.judicial.in_(WITH_THE_POLICE))]
    if name == "tasks":
        return [_h.state.in_(TASK_STATES), _task_condition()]
    raise ValueError(f"no worklist {name!r}")


def _in(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    return column == values[0] if len(values) == 1 else column.in_(values)


def _task_condition() -> ColumnElement[bool]:
    # The enterprise acts on assigned and rectifying hazards; on the self-check path it also
    # verifies and closes its own (workflow v2).
    return or_(_h.state.in_(OPEN_STATES), _h.self_managed.is_(True))


_ORDER: dict[str, tuple[Any, ...]] = {
    "overdue": (_h.deadline, _h.id),
    "due_soon": (_h.deadline, _h.id),
    "verification": (literal_column("since"), _h.id),
    "verification_late": (literal_column("since"), _h.id),
    "extensions": (_h.deadline, _h.id),
    "listed": (_h.id,),
    "suspended": (_h.id,),
    "transferred": (_h.id,),
    "tasks": (_h.deadline, _h.id),
}


# Lists by deadline over two states are read one state and grade at a time, each in the order
# of the (state, grade, deadline, id) index, and merged: SQLite cannot read
# `state IN (a, b) ORDER BY deadline` in index order and would sort every overdue hazard.
_BY_STATE = {"overdue": OPEN_STATES, "due_soon": OPEN_STATES}
# Lists read from their own index (a branch's, the waiting ones', the pending extensions'):
# SQLite's statistics (an average per key, no histogram) rate a region range or a state as
# selective as the list's rare value, and would read every hazard of the region or state
# instead; so there those filter columns are compared as expressions, which no index serves,
# and checked in (or beside) the list's own short index range.
_OWN_INDEX = ("verification", "verification_late", "extensions", "listed", "suspended")
_OWN_INDEX += ("transferred",)
_BRANCHES = ("listed", "suspended", "transferred")


def _plain(column: Any) -> Any:
    """A text column as an expression no index answers (`region_code || ''`)."""
    return column + ""


def _scope(caller: Caller) -> ColumnElement[bool] | None:
    """`Caller.scope_filter` of the hazards, with a region compared as an expression: the
    region_code index spans a whole district (every hazard of it), yet SQLite rates a range on
    it as selective and would read it instead of the list's own index (the region is checked
    in that index, which holds region_code too)."""
    if caller.role == "enterprise" or caller.region_code is None:
        return caller.scope_filter(HAZARDS)
    return in_region(_plain(_h.region_code), caller.region_code)


def _where(
    name: str,
    *,
    caller: Caller,
    filters: Filters,
    window: Window,
    states: tuple[str, ...] = OPEN_STATES,
) -> list[ColumnElement[bool]]:
    where = [c for c in (_scope(caller),) if c is not None]
    where += _conditions(name, window, states)
    own = name in _OWN_INDEX
    if filters.region:
        where.append(in_region(_plain(_h.region_code), filters.region))
    if filters.grade:
        grade = _plain(_h.grade) if own else _h.grade  # (state, grade, deadline) for the others
        where.append(grade == filters.grade)
    if filters.industry:
        where.append(_h.industry == filters.industry)
    if filters.enterprise_id is not None:
        # An enterprise's hazards are few: its index serves, except on the branch lists, whose
        # own index holds fewer still (the planner cannot tell).
        firm = _h.enterprise_id + 0 if name in _BRANCHES else _h.enterprise_id
        where.append(firm == filters.enterprise_id)
    if filters.state:
        where.append(_plain(_h.state) == filters.state)
    return where


def _capped(name: str, *, caller: Caller, filters: Filters, window: Window) -> Any:
    where = _where(name, caller=caller, filters=filters, window=window)
    inner = select(_h.id).where(*where).limit(COUNT_CAP + 1).subquery()
    return select(func.count()).select_from(inner).scalar_subquery()


def count(
    *, connection: Connection, caller: Caller, name: str, filters: Filters, window: Window
) -> int:
    """How many hazards the list holds, up to COUNT_CAP + 1 (more: "10000+")."""
    capped = _capped(name, caller=caller, filters=filters, window=window)
    return connection.execute(select(capped)).scalar_one()


def counts(
    *,
    connection: Connection,
    caller: Caller,
    names: tuple[str, ...],
    filters: Filters,
    window: Window,
) -> dict[str, int]:
    """`count` of several lists in one statement (one round trip for the page's counts)."""
    columns = [_capped(n, caller=caller, filters=filters, window=window).label(n) for n in names]
    row = connection.execute(select(*columns)).mappings().one()
    return {n: row[n] for n in names}


def items(
    *,
    connection: Connection,
    caller: Caller,
    name: str,
    filters: Filters,
    window: Window,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """One page of the list, most urgent first, each row with its enterprise's name (and, for
    the verification lists, `since`: when the hazard began waiting)."""
    columns: tuple[Any, ...] = _COLUMNS
    keys: tuple[Any, ...] = (_h.id,)
    if name in ("verification", "verification_late"):
        columns, keys = (*_COLUMNS, _SINCE), (_h.id, _SINCE)
    offset = min(offset, MAX_OFFSET)
    order = _ORDER[name]
    # First the page's ids, narrow rows sorted (for the verification lists every waiting
    # hazard's `since` is one index seek); then the page's rows with their enterprises' names.
    # One enterprise's hazards come in deadline order from (enterprise_id, deadline) itself.
    if name in _BY_STATE and filters.enterprise_id is None:
        end = offset + limit
        merged = _merged_ids(name, caller=caller, filters=filters, window=window, end=end)
        ids = list(connection.execute(merged.offset(offset)).scalars())
    elif name == "extensions":
        # Few, and read from the partial index; sorted here, because given an ORDER BY SQLite
        # prefers walking the deadline index over every hazard to sorting a handful.
        where = _where(name, caller=caller, filters=filters, window=window)
        found = connection.execute(select(_h.id, _h.deadline).where(*where).limit(COUNT_CAP))
        ranked = sorted(found, key=lambda r: (r.deadline is None, r.deadline or 0, r.id))
        ids = [r.id for r in ranked[offset : offset + limit]]
    else:
        where = _where(name, caller=caller, filters=filters, window=window)
        page = select(*keys).where(*where).order_by(*order).limit(limit).offset(offset)
        ids = [row[0] for row in connection.execute(page)]
    if not ids:
        return []
    joined = HAZARDS.outerjoin(Enterprise.__table__, _e.id == _h.enterprise_id)  # type: ignore[attr-defined]
    stmt = select(*columns).select_from(joined).where(_h.id.in_(ids))
    found = {row["id"]: dict(row) for row in connection.execute(stmt).mappings()}
    return [found[i] for i in ids if i in found]


def _merged_ids(
    name: str, *, caller: Caller, filters: Filters, window: Window, end: int
) -> Select[Any]:
    """One ordered, limited read per (state, grade), merged (see _BY_STATE)."""
    arms = []
    grades = (filters.grade,) if filters.grade else GRADES
    for state in _BY_STATE[name]:
        where = _where(name, caller=caller, filters=filters, window=window, states=(state,))
        for grade in grades:
            arm = select(_h.id, _h.deadline).where(*where, _h.grade == grade)
            arms.append(select(arm.order_by(*_ORDER[name]).limit(end).subquery()))
    merged = union_all(*arms).subquery()
    return select(merged.c.id).order_by(merged.c.deadline, merged.c.id).limit(end)


def plan_due_times(*, connection: Connection, hazard_ids: list[int]) -> dict[int, datetime]:
    """When each hazard's plan is (or was) due: its plan_due timer, pending or fired."""
    if not hazard_ids:
        return {}
    stmt = select(_t.hazard_id, func.min(_t.due_at)).where(
        _t.hazard_id.in_(hazard_ids),
        _t.kind == "plan_due",
        _t.cancelled_at.is_(None),
    )
    rows = connection.execute(stmt.group_by(_t.hazard_id)).all()
    return {hazard_id: due for hazard_id, due in rows}


def enterprises_in_scope(
    *, connection: Connection, caller: Caller, limit: int = 500
) -> list[dict[str, Any]]:
    """The enterprises a caller may pick in a filter or a report form (id, name), by name."""
    where = [c for c in (caller.scope_filter(Enterprise),) if c is not None]
    stmt = select(_e.id, _e.name, _e.region_code).where(*where).order_by(_e.name, _e.id)
    return [dict(r) for r in connection.execute(stmt.limit(limit)).mappings()]


def industries_in_scope(*, connection: Connection, caller: Caller) -> list[str]:
    """The industries of the enterprises in scope (suggestions for the industry filter)."""
    where = [c for c in (caller.scope_filter(Enterprise),) if c is not None]
    stmt = select(_e.industry).where(*where).distinct().order_by(_e.industry).limit(200)
    return list(connection.execute(stmt).scalars())
