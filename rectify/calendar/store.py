"""The process's calendar: the years in the calendar_years table, held in memory and re-read
when another process has loaded a year.

Every load raises `calendar_years.seq`; a process compares the highest `seq` with the one it
holds. That one-row read happens at most once per `check_seconds` (settings
`calendar_check_seconds`), when a working-day rule is counted or when the scheduler's calendar
job runs, so a year loaded by `rectify calendar load` is in use everywhere within that time,
without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from rectify.calendar.data import YearFile, read_year_file
from rectify.calendar.days import Calendar, YearDays
from rectify.calendar.models import CalendarYear
from rectify.database.core import Database

__all__ = ["CalendarStore", "FixedCalendar", "calendar_of", "read_folder"]

log = logging.getLogger(__name__)


def year_days(data: YearFile, seq: int = 0) -> YearDays:
    notice = {"year": data.year, "revision": data.revision, **data.notice.model_dump(mode="json")}
    return YearDays(
        year=data.year,
        off=data.days_off(),
        work=data.working_days(),
        notice={k: v for k, v in notice.items() if v is not None},
        seq=seq,
    )


def calendar_of(years: Iterable[YearFile]) -> Calendar:
    """A calendar of the given years (no database: tests, the default of a bare Policy)."""
    return Calendar({y.year: year_days(y) for y in years})


def read_folder(folder: Path) -> list[YearFile]:
    """Every config/calendar/YYYY.toml, validated; InvalidInput names a bad file."""
    paths = sorted(Path(folder).glob("*.toml")) if Path(folder).is_dir() else []
    return list(_read_cached(tuple((p, p.stat().st_mtime_ns) for p in paths)))


@lru_cache(maxsize=8)
def _read_cached(paths: tuple[tuple[Path, int], ...]) -> tuple[YearFile, ...]:
    return tuple(read_year_file(path) for path, _ in paths)


class FixedCalendar:
    """A calendar source that never changes (a Policy used without a database)."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar

    def current(self) -> Calendar:
        return self.calendar


class CalendarStore:
    """The years of the database, re-read when their version moves (see the module doc)."""

    def __init__(self, db: Database, check_seconds: float = 10.0) -> None:
        self.db = db
        self.check_seconds = check_seconds
        self._calendar = Calendar()
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self._changed: set[int] = set()  # years re-read and not yet recomputed here
        self.recheck: set[int] = set()  # years to recompute once more (calendar.service.poll)

    def current(self) -> Calendar:
        """The calendar, re-read first when the last check is older than `check_seconds`."""
        if time.monotonic() - self._checked >= self.check_seconds:
            try:
                self.refresh()
            except SQLAlchemyError:  # keep counting with what we have; the next check retries
                log.exception(
                    "could not read the calendar version; keeping version %s",
                    self._calendar.version,
                )
        return self._calendar

    def refresh(self, *, first: bool = False) -> set[int]:
        """Read the version now; re-read the years when it moved. Returns the years changed
        (none on the `first` read: what was there before this process needs no recount)."""
        with self._lock:
            self._checked = time.monotonic()
            with self.db.session() as session:
                version = session.exec(select(func.max(CalendarYear.seq))).one() or 0
                if version == self._calendar.version:
                    return set()
                rows = session.exec(select(CalendarYear)).all()
                years = {r.year: year_days(YearFile.model_validate(r.data), r.seq) for r in rows}
            old = self._calendar.years
            changed = {
                y
                for y in years.keys() | old.keys()
                if (years.get(y) and years[y].seq) != (old.get(y) and old[y].seq)
            }
            self._calendar = Calendar(years, version)
            if first:
                return set()
            self._changed |= changed
            if changed:
                log.info("calendar version %s: years %s (re)loaded", version, sorted(changed))
            return changed

    def mark_changed(self, years: set[int]) -> None:
        with self._lock:
            self._changed |= years

    def take_changed(self) -> set[int]:
        """The years re-read since the last call (they need their timers recomputed)."""
        with self._lock:
            changed, self._changed = self._changed, set()
            return changed
