"""Use cases of the holiday calendar: store a year (from config/calendar/ at start-up, or
`rectify calendar load`), list the years, and recount the pending timers that were counted
over a year whose data have just arrived, one transaction per hazard.

A recounted rectification deadline that moved is recorded on its hazard as a
`deadline_recomputed` event by `system:scheduler`, through `hazards.service.apply_system`
(the same path as every timer event); a deadline that did not move gets no event. Other timers
(plan, progress, reminder, verification, filing decision) are recounted in place: their due
times are not part of the history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, text, update
from sqlmodel import Session, col, func, select

from rectify.calendar.data import YearFile
from rectify.calendar.days import CHINA_TZ, Calendar
from rectify.calendar.models import CalendarYear
from rectify.calendar.store import CalendarStore, read_folder
from rectify.config import Settings
from rectify.context import Context
from rectify.database.core import Database, utcnow
from rectify.database.uow import UnitOfWork
from rectify.exceptions import ConfigurationError, Conflict, InvalidInput, RectifyError
from rectify.hazards import row as rows
from rectify.hazards import service as hazards
from rectify.hazards.row import HazardRow
from rectify.timers.models import Timer
from rectify.timers.policy import Counted, recount

__all__ = ["Recounted", "catch_up", "list_years", "load", "open_calendar", "poll", "recompute"]

log = logging.getLogger(__name__)
STARTUP = "system:startup"
# pg_advisory_xact_lock key of calendar loads: two processes storing years take turns.
CALENDAR_LOCK_KEY = 0x7265637463616C00  # b"rectcal\0"


# --- storing years ---------------------------------------------------------------------------


def open_calendar(*, db: Database, settings: Settings) -> CalendarStore:
    """The process's calendar, after storing each shipped year the database lacks (or holds
    at a lower revision). A bad shipped file stops the start (ConfigurationError)."""
    try:
        files = read_folder(settings.calendar_path)
    except InvalidInput as exc:
        raise ConfigurationError(f"calendar data: {exc.detail}") from None
    put: set[int] = set()
    if files:
        with db.write() as session:
            _lock(session, db)
            stored = {r.year: r for r in session.exec(select(CalendarYear)).all()}
            for data in files:
                row = stored.get(data.year)
                if row is None or data.revision > row.revision:
                    _put(session, row, data, f"{settings.calendar_dir}/{data.year}.toml", STARTUP)
                    put.add(data.year)
    store = CalendarStore(db, settings.calendar_check_seconds)
    store.refresh(first=True)
    store.mark_changed(put)  # `catch_up` recounts the timers counted over them
    return store


def load(*, ctx: Context, data: YearFile, source: str, actor: str) -> dict[str, Any]:
    """Store a year, use it at once, and recount the pending timers counted over it.

    The same data again is a no-op (its timers are still recounted: that finishes a recount an
    interrupted load left undone); different data for a stored year need a higher revision."""
    with ctx.db.write() as session:
        _lock(session, ctx.db)
        row = session.get(CalendarYear, data.year)
        if row is not None and row.digest == data.digest():
            status = "unchanged"
        elif row is not None and data.revision <= row.revision:
            raise Conflict(
                f"{data.year} is loaded at revision {row.revision} "
                f"({row.data['notice']['document_no']}, from {row.source}); a different file "
                f"for the year needs a higher revision (this one has {data.revision})"
            )
        else:
            status = "replaced" if row is not None else "stored"
            _put(session, row, data, source, actor)
    ctx.calendar.refresh()
    recounted = recompute(ctx=ctx, years={data.year})
    return {"year": data.year, "status": status, **recounted.summary()}


def _put(
    session: Session, row: CalendarYear | None, data: YearFile, source: str, actor: str
) -> None:
    seq = (session.exec(select(func.max(CalendarYear.seq))).one() or 0) + 1
    values = dict(
        seq=seq,
        revision=data.revision,
        digest=data.digest(),
        data=data.document(),
        source=source,
        loaded_by=actor,
    )
    if row is None:
        session.add(CalendarYear(year=data.year, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
        row.loaded_at = utcnow()
        session.add(row)
    session.flush()


def _lock(session: Session, db: Database) -> None:
    # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL takes turns here, so two
    # processes starting together do not both insert a year.
    if not db.is_sqlite:
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=CALENDAR_LOCK_KEY))  # type: ignore[call-overload]


def list_years(*, ctx: Context) -> list[dict[str, Any]]:
    """The stored years, oldest first, with their notices."""
    with ctx.db.session() as session:
        rows = session.exec(select(CalendarYear).order_by(col(CalendarYear.year))).all()
    out = []
    for row in rows:
        data = YearFile.model_validate(row.data)
        out.append(
            {
                "year": row.year,
                "revision": row.revision,
                "notice": data.notice.model_dump(mode="json", exclude_none=True),
                "days_off": len(data.days_off()),
                "working_days": len(data.working_days()),
                "source": row.source,
                "loaded_by": row.loaded_by,
                "loaded_at": row.loaded_at.isoformat(),
            }
        )
    return out


# --- recounting ------------------------------------------------------------------------------


@dataclass
class Recounted:
    """What a recount did."""

    hazards: int = 0  # hazards looked at
    timers: int = 0  # timers whose due time or provisional mark changed
    moved: list[int] = field(default_factory=list)  # hazards given a deadline_recomputed event

    def summary(self) -> dict[str, Any]:
        return {"hazards": self.hazards, "timers": self.timers, "deadlines_moved": self.moved}


def recompute(*, ctx: Context, years: Iterable[int] | None) -> Recounted:
    """Recount the pending working-day timers counted over `years` (None: every pending timer
    still marked provisional), one transaction per hazard."""
    calendar = ctx.calendar.current()
    wanted = None if years is None else set(years)
    result = Recounted()
    for hazard_id in _candidates(ctx, calendar, wanted):
        result.hazards += 1
        try:
            _recount_hazard(ctx, calendar, hazard_id, wanted, result)
        except RectifyError as exc:  # e.g. a workflow version without deadline_recomputed
            log.warning("deadline of hazard %s not recounted: %s", hazard_id, exc.detail)
    if result.timers:
        log.info("calendar recount: %s", result.summary())
    return result


def poll(*, ctx: Context) -> Recounted:
    """The scheduler's calendar job: pick up years loaded by another process and recount.

    Years seen changed are recounted now and once more at the next poll: a request that was
    counting with the older calendar while this process re-read it commits in between."""
    store = ctx.calendar
    store.refresh()
    changed = store.take_changed()
    years, store.recheck = changed | store.recheck, changed
    return recompute(ctx=ctx, years=years) if years else Recounted()


def catch_up(*, ctx: Context) -> Recounted:
    """At start-up: recount for the years just stored, then whatever is still provisional
    (a recount an interrupted process left undone)."""
    changed = ctx.calendar.take_changed()
    first = recompute(ctx=ctx, years=changed) if changed else Recounted()
    rest = recompute(ctx=ctx, years=None)
    return Recounted(
        first.hazards + rest.hazards, first.timers + rest.timers, first.moved + rest.moved
    )


_T = Timer.__table__.c  # type: ignore[attr-defined]
_PENDING = (_T.fired_at.is_(None), _T.cancelled_at.is_(None), _T.rule.is_not(None))


def _candidates(ctx: Context, calendar: Calendar, years: set[int] | None) -> list[int]:
    """The hazards with a timer that the recount would change: counted here first, from one
    read, so that a recount that changes nothing opens no write transaction."""
    if years is None:
        where: Any = _T.provisional.is_(True)
    else:
        where = or_(*(_counted_over(year) for year in sorted(years)))
    columns = (_T.hazard_id, _T.kind, _T.due_at, _T.provisional, _T.counted_from, _T.rule)
    stmt = select(*columns).where(*_PENDING, where).order_by(_T.hazard_id)
    with ctx.db.session() as session:
        rows = session.exec(stmt).all()  # type: ignore[call-overload]
    now, changed = ctx.now(), dict[int, None]()
    for row in rows:
        new = _recounted(row, calendar, now)
        if (new.at, new.provisional) != (row.due_at, row.provisional):
            changed[row.hazard_id] = None
    return list(changed)


def _counted_over(year: int) -> Any:
    """A timer whose count may have stepped over a day of `year` (China time)."""
    start = datetime(year, 1, 1, tzinfo=CHINA_TZ)
    end = datetime(year + 1, 1, 1, tzinfo=CHINA_TZ)
    forward = and_(_T.counted_from < end, _T.due_at >= start)
    backward = and_(_T.due_at < end, _T.counted_from >= start)  # reminders count back
    return or_(forward, backward)


def _recount_hazard(
    ctx: Context, calendar: Calendar, hazard_id: int, years: set[int] | None, out: Recounted
) -> None:
    """One hazard's recount, as one command of the process's writer (the hazard locked)."""

    def command(uow: UnitOfWork) -> Recounted:
        now, result = ctx.now(), Recounted()
        hazard = rows.load(uow, hazard_id, lock=True)
        if hazard is None:
            return result
        stmt = select(*_TIMER_COLUMNS).where(_T.hazard_id == hazard_id, *_PENDING)
        # The deadline first: when it moves, its reminder is counted again with it.
        timers = sorted(uow.execute(stmt), key=lambda t: t.kind != "rectification")
        moved = False
        for row in timers:
            new = _recounted(row, calendar, now)
            if (new.at, new.provisional) == (row.due_at, row.provisional):
                continue
            is_deadline = row.kind == "rectification" and hazard.deadline == row.due_at
            if is_deadline and new.at != row.due_at:
                notices = _notices(calendar, row, new, years)
                _move_deadline(uow, ctx, hazard, row, new, notices)
                moved = True
                result.moved.append(hazard_id)
            elif row.kind == "reminder" and moved:
                continue  # set_deadline has counted it again from the new deadline
            else:
                if is_deadline:  # same deadline, no longer (or still) provisional: no event
                    hazard.set(deadline_provisional=new.provisional)
                    rows.save(uow, hazard)
                values = {"due_at": new.at, "provisional": new.provisional}
                uow.execute(update(Timer.__table__).where(_T.id == row.id).values(values))  # type: ignore[arg-type]
            result.timers += 1
        return result

    counted = ctx.db.run(command)
    out.timers += counted.timers
    out.moved += counted.moved


_TIMER_COLUMNS = (_T.id, _T.kind, _T.due_at, _T.provisional, _T.counted_from, _T.rule)


def _recounted(row: Any, calendar: Calendar, now: datetime) -> Counted:
    """A pending timer (row or Timer: kind, due_at, counted_from, rule) counted again."""
    new = recount(row.kind, row.rule, row.counted_from, calendar)
    if new.at < row.due_at and new.at <= now:
        # Never moved earlier into the past: what was announced stands (docs/DECISIONS.md).
        return Counted(row.due_at, False, row.counted_from, row.rule)
    return new


def _notices(
    calendar: Calendar, row: Timer, new: Counted, years: set[int] | None
) -> list[dict[str, Any]]:
    """The notices of the years that moved the count (of every year it crossed, when the
    recount was not for given years)."""
    first, last = sorted((row.counted_from, max(row.due_at, new.at)))  # type: ignore[type-var]
    crossed = range(first.astimezone(CHINA_TZ).year, last.astimezone(CHINA_TZ).year + 1)
    return [
        {k: v for k, v in calendar.years[y].notice.items() if k in NOTICE_FIELDS}
        for y in crossed
        if calendar.known(y) and (years is None or y in years)
    ]


NOTICE_FIELDS = ("year", "revision", "title", "document_no", "published")


def _move_deadline(
    uow: UnitOfWork,
    ctx: Context,
    hazard: HazardRow,
    row: Any,
    new: Counted,
    notices: list[dict[str, Any]],
) -> None:
    hazards.apply_system(
        uow=uow,
        ctx=ctx,
        hazard=hazard,
        trigger="deadline_recomputed",
        payload={
            "previous_deadline": row.due_at.isoformat(),
            "deadline": new.at.isoformat(),
            "deadline_provisional": new.provisional,
            "counted_from": row.counted_from.isoformat(),  # type: ignore[union-attr]
            "rule": row.rule,
            "notices": notices,
        },
    )
