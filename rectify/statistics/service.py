"""Statistics of hazards (隐患统计): counts and rates per group, in the caller's scope.

One aggregate query over the hazard rows, in SQLAlchemy Core, grouped by the group's key, the
state, the grade and the tenths of a day a hazard took to close (stored when it closed): a few
rows per group, added up here into the counts, the rates, the mean and the 90th percentile
(nearest rank over the tenths). Grouped by region, the query follows the covering index
ix_hazards_statistics (region, state, grade, tenths, ...) and sorts nothing; the region codes
are rolled up to the level below the scope here. Only the China month differs by backend
(`database.dialect`). The definitions are docs/STATISTICS.md's and the
OpenAPI description's (DEFINITIONS below).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, cast, func, select

from rectify.auth.scope import Caller, in_region, region_prefix
from rectify.database.dialect import Dialect
from rectify.enterprises.models import Enterprise
from rectify.exceptions import InvalidInput
from rectify.hazards.row import HAZARDS, OPEN_STATES
from rectify.hazards.words import GRADE_LABELS, SOURCE_LABELS

__all__ = ["DEFINITIONS", "GROUPS", "Query", "child_length", "statistics"]

GROUPS = ("region", "industry", "enterprise", "grade", "source", "month")
CHINA = timedelta(hours=8)

DEFINITIONS = {
    "reported": "hazards discovered in the period (discovered_at, China dates `from`..`to`)",
    "open": "of those, not in a final state (neither closed nor dismissed)",
    "closed": "of those, closed (销号, state closed, including shut down)",
    "dismissed": "of those, dismissed (撤销: false reports and duplicates)",
    "overdue": "of those, open in assigned or rectifying with the deadline passed, now",
    "closed_on_time": "closed, and the rectification confirmed (rectified_at; closed_at when "
    "there is none) no later than the deadline in force (extensions granted count)",
    "closed_late": "closed, and confirmed after the deadline in force",
    "on_time_rate": "按期整改率 = closed_on_time / (closed_on_time + closed_late + overdue): "
    "of the hazards whose rectification is done or due, the share done by the deadline; "
    "null when none is done or due",
    "major_signoff_rate": "重大隐患销号率 = major hazards closed / (major hazards reported − "
    "major hazards dismissed); null when there is no major hazard",
    "mean_days_to_close": "mean of closed_at − discovered_at over closed hazards, in days "
    "(2 decimals); null when none is closed",
    "p90_days_to_close": "90th percentile (nearest rank) of closed_at − discovered_at over "
    "closed hazards, each truncated to a tenth of a day; null when none is closed",
    "repeat": "hazards linked as repeating one the enterprise closed recently (recurrence_of, "
    "not dismissed)",
    "duplicates": "hazards dismissed as the duplicate of another (recurrence_of, dismissed)",
}

_CHILD = {None: 2, 2: 4, 4: 6, 6: 9, 9: 9}
"""The length of the group key one level below a prefix length (None: the whole country)."""


def child_length(code: str | None) -> int:
    """How many digits of the region code name the next level below `code`'s region:
    country → provinces (2), province → cities (4), city → counties (6), county → townships
    (9); a township stays itself."""
    return _CHILD[None if code is None else len(region_prefix(code))]


def full_code(key: str) -> str:
    """A group key as a region code: 42 → 420000, 4201 → 420100, others as they are."""
    return key + "0" * (6 - len(key)) if len(key) < 6 else key


@dataclass(frozen=True)
class Query:
    group_by: str
    from_: date | None = None
    to: date | None = None
    region: str | None = None
    grade: str | None = None
    industry: str | None = None
    state: str | None = None


def _base_region(caller: Caller, region: str | None) -> str | None:
    """The region the figures cover: the narrower of the caller's scope and `region`; a
    region outside the scope is the parameter's error."""
    scope = caller.region_code
    if region is None:
        return scope
    if scope is None:
        return region
    inside, outside = region_prefix(region), region_prefix(scope)
    if inside.startswith(outside):
        return region
    if outside.startswith(inside):
        return scope
    raise InvalidInput.fields(
        [{"field": "region", "message": f"{region} is outside your scope ({scope})"}]
    )


def _where(caller: Caller, query: Query, base: str | None) -> list[Any]:
    c = HAZARDS.c
    where = [caller.scope_filter(HAZARDS)]
    if base is not None:
        where.append(in_region(c.region_code, base))
    if query.from_ is not None:
        where.append(c.discovered_at >= _china_midnight(query.from_))
    if query.to is not None:
        where.append(c.discovered_at < _china_midnight(query.to + timedelta(days=1)))
    for name in ("grade", "industry", "state"):
        value = getattr(query, name)
        if value is not None:
            where.append(c[name] == value)
    return [w for w in where if w is not None]


def _china_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC) - CHINA


def _key(query: Query, dialect: Dialect) -> Any:
    """What the scan groups by: for regions the whole code (rolled up here, so that the scan
    follows the statistics index's order and sorts nothing)."""
    c = HAZARDS.c
    if query.group_by == "region":
        return c.region_code
    if query.group_by == "enterprise":
        return c.enterprise_id
    if query.group_by == "month":
        return dialect.china_month(c.discovered_at)
    return c[query.group_by]


def _scan(key: Any, where: list[Any], now: datetime) -> Any:
    """One pass over the hazards (the covering index ix_hazards_statistics): per group key,
    state, grade and tenths of a day to close, the counts the figures are added up from."""
    c = HAZARDS.c
    done = func.coalesce(c.rectified_at, c.closed_at)

    def count(condition: Any) -> Any:
        return func.sum(cast(condition, Integer))  # NULL (no deadline) counts as no

    return (
        select(
            key.label("key"),
            c.state,
            c.grade,
            c.tenths_to_close,
            func.count().label("hazards"),
            count(c.deadline < now).label("past_deadline"),
            count(c.deadline.is_(None) | (done <= c.deadline)).label("in_time"),
            count(c.recurrence_of.is_not(None)).label("linked"),
            func.sum(c.seconds_to_close).label("seconds"),
        )
        .where(*where)
        .group_by(key, c.state, c.grade, c.tenths_to_close)
    )


def statistics(
    *, connection: Connection, dialect: Dialect, caller: Caller, query: Query, now: datetime
) -> dict[str, Any]:
    """The figures of each group of hazards in scope matching the query, and their total."""
    if query.group_by not in GROUPS:
        raise InvalidInput.fields(
            [{"field": "group_by", "message": f"must be one of: {', '.join(GROUPS)}"}]
        )
    if query.from_ and query.to and query.from_ > query.to:
        raise InvalidInput.fields([{"field": "to", "message": "must not be before from"}])
    base = _base_region(caller, query.region)
    length = child_length(base)
    groups: dict[Any, _Group] = defaultdict(_Group)
    everything = _Group()
    scan = _scan(_key(query, dialect), _where(caller, query, base), now)
    for r in connection.execute(scan):
        key = full_code(r.key[:length]) if query.group_by == "region" else r.key
        groups[key].add(r)
        everything.add(r)
    figures = [g.figures(k) for k, g in groups.items()]
    labels = _labels(connection, query.group_by, list(groups))
    for g in figures:
        g["label"] = labels.get(g["key"], str(g["key"]))
    figures.sort(key=lambda g: str(g["key"]))
    return {
        "group_by": query.group_by,
        "region": base,
        "level": _level(query, base),
        "from": query.from_,
        "to": query.to,
        "as_of": now,
        "groups": figures,
        "total": everything.figures(None),
    }


_INT_FIELDS = (
    "reported",
    "open",
    "closed",
    "dismissed",
    "overdue",
    "closed_on_time",
    "major_reported",
    "major_closed",
    "major_dismissed",
    "repeat",
    "duplicates",
)


@dataclass
class _Group:
    """A group's sums while the scan's rows are added up."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_INT_FIELDS, 0))
    seconds: float = 0.0
    tenths: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, r: Any) -> None:
        n, c = int(r.hazards), self.counts
        major = int(r.grade == "major")
        c["reported"] += n
        c["major_reported"] += n * major
        if r.state == "closed":
            c["closed"] += n
            c["major_closed"] += n * major
            c["closed_on_time"] += int(r.in_time or 0)
            self.seconds += float(r.seconds or 0)
            self.tenths[int(r.tenths_to_close or 0)] += n
        elif r.state == "dismissed":
            c["dismissed"] += n
            c["major_dismissed"] += n * major
            c["duplicates"] += int(r.linked or 0)
        else:
            c["open"] += n
        if r.state != "dismissed":
            c["repeat"] += int(r.linked or 0)
        if r.state in OPEN_STATES:
            c["overdue"] += int(r.past_deadline or 0)

    def figures(self, key: Any) -> dict[str, Any]:
        """The counts, the late count, the rates and the days to close."""
        out: dict[str, Any] = {"key": key, **self.counts}
        out["closed_late"] = out["closed"] - out["closed_on_time"]
        out["on_time_rate"] = _rate(out["closed_on_time"], out["closed"] + out["overdue"])
        majors = out["major_reported"] - out["major_dismissed"]
        out["major_signoff_rate"] = _rate(out["major_closed"], majors)
        return out | days_to_close(self.tenths, self.seconds)


def _level(query: Query, base: str | None) -> str | None:
    if query.group_by != "region":
        return None
    return {2: "province", 4: "city", 6: "county", 9: "township"}[child_length(base)]


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def days_to_close(tenths: dict[int, int], seconds: float) -> dict[str, float | None]:
    """Mean (from the seconds) and 90th percentile (nearest rank over whole tenths of a day)
    of the days from discovery to closing."""
    n = sum(tenths.values())
    if n == 0:
        return {"mean_days_to_close": None, "p90_days_to_close": None}
    rank, seen, p90 = math.ceil(0.9 * n), 0, 0
    for value in sorted(tenths):
        seen += tenths[value]
        if seen >= rank:
            p90 = value
            break
    return {"mean_days_to_close": round(seconds / n / 86400, 2), "p90_days_to_close": p90 / 10}


_ENTERPRISES = Enterprise.__table__  # type: ignore[attr-defined]


def _labels(connection: Connection, group_by: str, keys: list[Any]) -> dict[Any, str]:
    """How a page names each group (Chinese; the code itself for regions and industries)."""
    if group_by == "grade":
        return GRADE_LABELS
    if group_by == "source":
        return SOURCE_LABELS
    if group_by == "enterprise" and keys:
        e = _ENTERPRISES.c
        found = connection.execute(select(e.id, e.name).where(e.id.in_(keys))).all()
        return {r.id: r.name for r in found}
    if group_by == "month":
        return {k: f"{k[:4]}年{int(k[5:7])}月" for k in keys if k}
    return {}
