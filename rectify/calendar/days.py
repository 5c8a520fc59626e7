"""Chinese working days: the published years as loaded, and for a year without data a
provisional calendar (weekends plus the statutory holidays, no 调休). Pure arithmetic, no I/O.

The provisional holidays are those of 《全国年节及纪念日放假办法》 as revised in November 2024
(in force 2025-01-01), art. 2 [law]: 元旦 1 day (1月1日); 春节 4 days (农历除夕、正月初一至初三);
清明节 1 day (农历清明当日); 劳动节 2 days (5月1日、2日); 端午节 1 day (农历端午当日);
中秋节 1 day (农历中秋当日); 国庆节 3 days (10月1日至3日). What the law leaves to the yearly notice
is not guessed: the days off around them, the 调休 working days, and the make-up day (补假) of
art. 6 for a holiday falling on a weekend. Lunar dates and 清明 come from tyme4py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

from tyme4py.lunar import LunarDay
from tyme4py.solar import SolarTerm

__all__ = [
    "CHINA_TZ",
    "Calendar",
    "Shift",
    "YearDays",
    "provisional_holidays",
]

# China has used UTC+8 without daylight saving since 1991; a fixed offset needs no tzdata.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class YearDays:
    """One published year: its days off and its 调休 working days."""

    year: int
    off: frozenset[date]
    work: frozenset[date]
    notice: Mapping[str, object] = field(default_factory=dict)
    seq: int = 0  # the load that stored it (calendar_years.seq)


@dataclass(frozen=True)
class Shift:
    """A moment stepped by working days, and whether a year without data was counted."""

    at: datetime
    provisional: bool


def _solar(day: LunarDay) -> date:
    solar = day.get_solar_day()
    return date(solar.get_year(), solar.get_month(), solar.get_day())


@lru_cache(maxsize=256)
def provisional_holidays(year: int) -> frozenset[date]:
    """The statutory holidays of one Gregorian year (2024 revision of the law, art. 2)."""
    new_year = _solar(LunarDay.from_ymd(year, 1, 1))  # 正月初一 falls in January or February
    qingming = SolarTerm.from_name(year, "清明").get_julian_day().get_solar_day()
    days = {
        date(year, 1, 1),
        *(new_year + k * ONE_DAY for k in range(-1, 3)),  # 除夕 to 正月初三
        date(qingming.get_year(), qingming.get_month(), qingming.get_day()),
        date(year, 5, 1),
        date(year, 5, 2),
        _solar(LunarDay.from_ymd(year, 5, 5)),  # 端午
        _solar(LunarDay.from_ymd(year, 8, 15)),  # 中秋
        date(year, 10, 1),
        date(year, 10, 2),
        date(year, 10, 3),
    }
    return frozenset(d for d in days if d.year == year)


class Calendar:
    """An immutable view of the loaded years; any other year is provisional."""

    def __init__(self, years: Mapping[int, YearDays] | None = None, version: int = 0) -> None:
        self.years: Mapping[int, YearDays] = dict(years or {})
        self.version = version  # the highest load seq it holds: 0 for none

    def known(self, year: int) -> bool:
        return year in self.years

    def is_workday(self, day: date) -> bool:
        data = self.years.get(day.year)
        if data is None:
            return day.weekday() < 5 and day not in provisional_holidays(day.year)
        if day in data.work:
            return True
        return day.weekday() < 5 and day not in data.off

    def shift(self, start: datetime, days: int) -> Shift:
        """Step `days` working days from start's date in China, keeping the time of day;
        negative goes back. A nonzero count lands on a working day; 0 is a no-op."""
        local = _as_utc(start).astimezone(CHINA_TZ)
        day, step, left = local.date(), (1 if days > 0 else -1), abs(days)
        provisional = False
        while left:
            day += step * ONE_DAY
            left -= self.is_workday(day)
            provisional = provisional or day.year not in self.years
        return Shift(datetime.combine(day, local.timetz()).astimezone(UTC), provisional)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)
