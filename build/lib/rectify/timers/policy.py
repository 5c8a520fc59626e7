"""The deadline policy (config/policy.toml): timers and escalation ladder per grade, loaded and
checked with pydantic, and the deadline arithmetic in calendar or Chinese working days."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal

import chinese_calendar
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from rectify.exceptions import ConfigurationError

__all__ = [
    "CHINA_TZ",
    "HORIZON_MARGIN",
    "TIMER_KINDS",
    "ClosureRule",
    "DayMode",
    "GradePolicy",
    "LadderStep",
    "Policy",
    "TimerRule",
    "add_working_days",
    "load_policy",
]

TIMER_KINDS: tuple[str, ...] = (
    "plan_due",
    "progress_due",
    "reminder",
    "rectification",
    "verification_due",
    "judicial_decision_due",
)
GRADES: tuple[str, ...] = ("general", "major")

# China has used UTC+8 without daylight saving since 1991; a fixed offset needs no tzdata.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
# check_horizon covers every working-day timer started up to this long after `now`.
HORIZON_MARGIN = timedelta(days=30)

_ISO_DURATION = re.compile(
    r"P(?=.)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=.)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


def _parse_duration(value: Any) -> timedelta:
    """ISO 8601 duration without years or months (their length varies); never a bare number."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 duration string such as 'P7D', got {value!r}")
    match = _ISO_DURATION.fullmatch(value.strip().upper())
    if not match:
        raise ValueError(
            f"bad ISO 8601 duration {value!r}: use weeks, days, hours, minutes or seconds "
            "(P7D, PT36H); years and months are not allowed"
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return timedelta(**parts)


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration must not be negative")
    return value


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]


class DayMode(StrEnum):
    calendar = "calendar"
    working = "working"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimerRule(_Model):
    duration: Duration
    days: DayMode = DayMode.calendar

    @model_validator(mode="after")
    def _positive(self) -> TimerRule:
        if self.duration <= timedelta(0):
            raise ValueError("a timer duration must be positive")
        return self


class LadderStep(_Model):
    after: Duration
    action: Literal["notify", "list_for_supervision", "recommend_suspension"]
    mode: Literal["auto", "notify"]
    level: Literal["county", "city", "province"] | None = None
    requires: Literal["overdue", "listed_and_overdue"] = "overdue"

    @model_validator(mode="after")
    def _consistent(self) -> LadderStep:
        _non_negative(self.after)
        if self.action == "list_for_supervision" and self.level is None:
            raise ValueError("a list_for_supervision step needs a level (county, city, province)")
        if self.action == "recommend_suspension" and self.mode == "auto":
            raise ValueError(
                "recommend_suspension must be mode 'notify': order_suspension is a dispatcher's "
                "decision with an order number"
            )
        return self


class GradePolicy(_Model):
    timers: dict[str, TimerRule]
    ladder: list[LadderStep]

    @model_validator(mode="after")
    def _complete(self) -> GradePolicy:
        unknown = sorted(set(self.timers) - set(TIMER_KINDS))
        missing = [k for k in TIMER_KINDS if k not in self.timers]
        if unknown:
            raise ValueError(f"unknown timer(s) {unknown}; expected {list(TIMER_KINDS)}")
        if missing:
            raise ValueError(f"missing timer(s) {missing}")
        afters = [step.after for step in self.ladder]
        if afters != sorted(afters):
            raise ValueError("ladder steps must be in order of `after`")
        return self


class ClosureRule(_Model):
    windows: list[tuple[int, Duration]]

    @model_validator(mode="after")
    def _sane(self) -> ClosureRule:
        for count, window in self.windows:
            if count < 1 or window <= timedelta(0):
                raise ValueError(f"bad closure window ({count}, {window}): both must be positive")
        return self


class Policy(_Model):
    grades: dict[Literal["general", "major"], GradePolicy]
    closure_rule: ClosureRule

    @model_validator(mode="after")
    def _both_grades(self) -> Policy:
        missing = [g for g in GRADES if g not in self.grades]
        if missing:
            raise ValueError(f"missing grade(s) {missing}")
        return self

    def rule(self, kind: str, grade: str) -> TimerRule:
        """The rule for one timer kind of one grade; ValueError for unknown names."""
        if grade not in self.grades:
            raise ValueError(f"unknown grade {grade!r}; expected one of {list(GRADES)}")
        if kind not in TIMER_KINDS:
            raise ValueError(f"unknown timer kind {kind!r}; expected one of {list(TIMER_KINDS)}")
        return self.grades[grade].timers[kind]  # type: ignore[index]

    def due(self, kind: str, grade: str, start: datetime) -> datetime:
        """When the timer falls due: start + duration; for 'reminder', deadline - duration."""
        rule = self.rule(kind, grade)
        sign = -1 if kind == "reminder" else 1
        try:
            return _shift(_as_utc(start), rule, sign)
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"timer {grade}.{kind} counts working days and needs {exc.detail}",
                timer=f"{grade}.{kind}",
                **exc.extra,
            ) from exc

    def rectification_deadline(self, grade: str, start: datetime) -> datetime:
        return self.due("rectification", grade, start)

    def check_horizon(self, now: datetime) -> None:
        """Refuse when chinese-calendar lacks data for working-day timers started soon."""
        working = [
            (f"{grade}.{kind}", rule)
            for grade, policy in self.grades.items()
            for kind, rule in policy.timers.items()
            if rule.days is DayMode.working
        ]
        if not working:
            return
        name, rule = max(working, key=lambda item: item[1].duration)
        try:
            add_working_days(_as_utc(now) + HORIZON_MARGIN, rule.duration.days)
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"timer {name} counts {rule.duration.days} working days; started within "
                f"{HORIZON_MARGIN.days} days of {now.date().isoformat()} it would need "
                f"{exc.detail}",
                timer=name,
                **exc.extra,
            ) from exc


def _shift(start: datetime, rule: TimerRule, sign: int) -> datetime:
    if rule.days is DayMode.calendar:
        return start + sign * rule.duration
    whole = rule.duration.days
    rest = rule.duration - timedelta(days=whole)
    return add_working_days(start, sign * whole) + sign * rest


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _calendar_version() -> str:
    try:
        return version("chinesecalendar")
    except PackageNotFoundError:  # pragma: no cover - installed as a dependency
        return "?"


def _is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError as exc:
        raise ConfigurationError(
            f"holiday data for {day.isoformat()}, which chinesecalendar {_calendar_version()} "
            f'does not have ({exc}); upgrade chinesecalendar or use days = "calendar"',
            date=day.isoformat(),
        ) from exc


def add_working_days(start: datetime, days: int) -> datetime:
    """Step `days` Chinese working days (法定节假日, 调休) from start's date in China, keeping
    the time of day; negative goes back. A nonzero count lands on a working day; 0 is a no-op."""
    local = _as_utc(start).astimezone(CHINA_TZ)
    day, step, left = local.date(), (1 if days > 0 else -1), abs(days)
    while left:
        day += timedelta(days=step)
        left -= _is_workday(day)
    return datetime.combine(day, local.timetz()).astimezone(UTC)


def load_policy(path: Path) -> Policy:
    """Read and validate the policy file; ConfigurationError names the file and each problem."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"policy file {path} not found", path=str(path)) from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"policy file {path} unreadable: {exc}", path=str(path)) from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise ConfigurationError(
            f"policy file {path} is invalid: {problems}", path=str(path)
        ) from exc


def _describe(err: Any) -> str:
    where = ".".join(str(part) for part in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if err["type"] == "missing":
        return f"{where}: missing"
    return f"{where}: {err['msg']}"
