"""The deadline policy (config/policy.toml): timers and escalation ladder per grade, overrides
for a region prefix and/or an industry (the most specific match winning, key by key), loaded and
checked with pydantic, and the deadline arithmetic in calendar or Chinese working days.

Working days come from a calendar source (the process's `CalendarStore`, bound by
`build_context`; without one, the years shipped in config/calendar/). A count that crosses a
year without holiday data uses the provisional calendar and says so (`Counted.provisional`)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from rectify.calendar.days import CHINA_TZ, Calendar
from rectify.exceptions import ConfigurationError

__all__ = [
    "CHINA_TZ",
    "HORIZON_MARGIN",
    "TIMER_KINDS",
    "CalendarSource",
    "ClosureRule",
    "Override",
    "SelfCheck",
    "Counted",
    "DayMode",
    "GradePolicy",
    "LadderStep",
    "Policy",
    "TimerRule",
    "add_working_days",
    "load_policy",
    "recount",
]

TIMER_KINDS: tuple[str, ...] = (
    "plan_due",
    "progress_due",
    "reminder",
    "rectification",
    "verification_due",
    "resumption_review",
    "judicial_decision_due",
    "closure_decision_due",
    "reconsideration_window",
    "reconsideration_answer_due",
)
"""Every timer rule a grade's policy names. `resumption_review` is the length of the
verification timer when the confirmation is a resumption application (production suspended)."""
GRADES: tuple[str, ...] = ("general", "major")

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
    # progress_due only: restarted by every progress report (True) or started once (False)
    recurring: bool = False

    @model_validator(mode="after")
    def _positive(self) -> TimerRule:
        if self.duration <= timedelta(0):
            raise ValueError("a timer duration must be positive")
        return self


class LadderStep(_Model):
    after: Duration
    days: DayMode = DayMode.calendar  # `after` in calendar or Chinese working days
    action: Literal["notify", "list_for_supervision", "recommend_suspension", "recommend_penalty"]
    mode: Literal["auto", "notify"]
    level: Literal["county", "city", "province"] | None = None
    requires: Literal["overdue", "listed_and_overdue"] = "overdue"
    # Open a 追责问责 entry when the step is reached while the hazard is listed and overdue,
    # against the enterprise or the office (issue 12); notify steps only.
    accountability: Literal["enterprise", "office"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LadderStep:
        _non_negative(self.after)
        if self.accountability and self.mode == "auto":
            raise ValueError("accountability is opened by a notify step, not an automatic one")
        if self.action == "list_for_supervision" and self.level is None:
            raise ValueError("a list_for_supervision step needs a level (county, city, province)")
        if self.action in ("recommend_suspension", "recommend_penalty") and self.mode == "auto":
            raise ValueError(
                f"{self.action} must be mode 'notify': a suspension order or a penalty is a "
                "person's decision with a document number"
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
    # Only penalties whose legal basis cites one of these laws count (安全生产法 art. 113 counts
    # the penalties of the work-safety administration).
    laws: list[str] = ["安全生产法"]

    @model_validator(mode="after")
    def _sane(self) -> ClosureRule:
        for count, window in self.windows:
            if count < 1 or window <= timedelta(0):
                raise ValueError(f"bad closure window ({count}, {window}): both must be positive")
        return self


class CalendarSource(Protocol):
    def current(self) -> Calendar: ...


@dataclass(frozen=True, slots=True)
class Counted:
    """A due time counted by a rule, with what recounting it needs: the instant it was counted
    from and the rule (`"general.rectification P7D working"`), for working-day rules only."""

    at: datetime
    provisional: bool = False  # a year without holiday data was counted
    counted_from: datetime | None = None
    rule: str | None = None


class SelfCheck(_Model):
    """The self-check path (16号令 art. 15): may a general hazard the enterprise found itself be
    rectified and accepted within the enterprise (its person in charge verifying)?"""

    allowed: bool = True


class Override(_Model):
    """Policy for a region prefix and/or an industry: any timer, ladder or the closure rule,
    replacing the general policy's key by key; the most specific match wins."""

    name: str
    source: str  # the law or procedure it follows, or "ours, not the law's"
    region: str | None = None  # a region code prefix: "14" (山西), "4201", "420102", ...
    industry: str | None = None  # the hazard's industry, exactly
    grades: dict[Literal["general", "major"], dict[str, Any]] = {}
    closure_rule: dict[str, Any] | None = None
    self_check: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _scoped(self) -> Override:
        if self.region is None and self.industry is None:
            raise ValueError(f"override {self.name!r} needs a region prefix, an industry or both")
        if self.region is not None and not (self.region.isascii() and self.region.isdigit()):
            raise ValueError(f"override {self.name!r}: region must be a prefix of digits")
        for grade, part in self.grades.items():
            unknown = sorted(set(part) - {"timers", "ladder"})
            if unknown:
                raise ValueError(f"override {self.name!r}: grades.{grade}: unknown {unknown}")
        return self

    def matches(self, region_code: str, industry: str) -> bool:
        return (self.region is None or region_code.startswith(self.region)) and (
            self.industry is None or industry == self.industry
        )

    @property
    def specificity(self) -> tuple[int, bool]:
        return (len(self.region or ""), self.industry is not None)


class Policy(_Model):
    grades: dict[Literal["general", "major"], GradePolicy]
    closure_rule: ClosureRule
    self_check: SelfCheck = SelfCheck()
    overrides: list[Override] = []
    # The overrides a resolved policy applied, least specific first (empty: the general one).
    applied: tuple[str, ...] = ()
    _calendar: CalendarSource | None = PrivateAttr(default=None)
    _resolved: dict[tuple[str, str], Policy] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _both_grades(self) -> Policy:
        missing = [g for g in GRADES if g not in self.grades]
        if missing:
            raise ValueError(f"missing grade(s) {missing}")
        return self

    def use_calendar(self, source: CalendarSource) -> Policy:
        """Count working days with this source (the process's CalendarStore)."""
        self._calendar = source
        self._resolved.clear()
        return self

    def for_(self, region_code: str, industry: str) -> Policy:
        """The policy that applies to a hazard of this region and industry: the general policy
        with every matching override laid over it, the most specific last (region prefix length
        first, then an industry), key by key. Cached: a process has few such pairs."""
        key = (region_code, industry)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._resolve(region_code, industry)
        return found

    def _resolve(self, region_code: str, industry: str) -> Policy:
        matching = sorted(
            (o for o in self.overrides if o.matches(region_code, industry)),
            key=lambda o: o.specificity,
        )
        if not matching:
            return self
        data = self.model_dump(mode="python", exclude={"overrides", "applied"})
        for o in matching:
            for grade, part in o.grades.items():
                data["grades"][grade]["timers"] |= part.get("timers", {})
                if "ladder" in part:
                    data["grades"][grade]["ladder"] = part["ladder"]
            if o.closure_rule:
                data["closure_rule"] |= o.closure_rule
            if o.self_check:
                data["self_check"] |= o.self_check
        data["applied"] = tuple(o.name for o in matching)
        resolved = Policy.model_validate(data)
        resolved._calendar = self._calendar
        return resolved

    @property
    def rule_name(self) -> str:
        """What a history says of the rule that applied: the overrides, or the general policy."""
        return " + ".join(self.applied) or "general"

    def ladder_due(self, step: LadderStep, missed_at: datetime) -> Counted:
        """When a ladder step falls due after the deadline was missed (calendar or working)."""
        start = _as_utc(missed_at)
        if step.days is DayMode.calendar:
            return Counted(start + step.after)
        label = f"ladder {iso_duration(step.after)} {step.days.value}"
        return _count_working(self.calendar, start, step.after, 1, label)

    @property
    def calendar(self) -> Calendar:
        return (self._calendar or _shipped()).current()

    def rule(self, kind: str, grade: str) -> TimerRule:
        """The rule for one timer kind of one grade; ValueError for unknown names."""
        if grade not in self.grades:
            raise ValueError(f"unknown grade {grade!r}; expected one of {list(GRADES)}")
        if kind not in TIMER_KINDS:
            raise ValueError(f"unknown timer kind {kind!r}; expected one of {list(TIMER_KINDS)}")
        return self.grades[grade].timers[kind]  # type: ignore[index]

    def count(self, kind: str, grade: str, start: datetime) -> Counted:
        """When the timer falls due: start + duration; for 'reminder', deadline - duration."""
        rule = self.rule(kind, grade)
        sign = -1 if kind == "reminder" else 1
        start = _as_utc(start)
        if rule.days is DayMode.calendar:
            return Counted(start + sign * rule.duration)
        label = f"{grade}.{kind} {iso_duration(rule.duration)} {rule.days.value}"
        return _count_working(self.calendar, start, rule.duration, sign, label)

    def due(self, kind: str, grade: str, start: datetime) -> datetime:
        """The due time alone (see `count`)."""
        return self.count(kind, grade, start).at

    def rectification_deadline(self, grade: str, start: datetime) -> datetime:
        return self.due("rectification", grade, start)

    def check_horizon(self, now: datetime) -> str | None:
        """A warning when working-day timers started soon would count a year without holiday
        data (their deadlines are then provisional until the year is loaded); None otherwise.
        It no longer stops the service: the provisional calendar covers any year."""
        working = [
            (f"{grade}.{kind}", rule)
            for grade, policy in self.grades.items()
            for kind, rule in policy.timers.items()
            if rule.days is DayMode.working
        ]
        if not working:
            return None
        name, rule = max(working, key=lambda item: item[1].duration)
        start = _as_utc(now) + HORIZON_MARGIN
        calendar = self.calendar
        end = calendar.shift(start, rule.duration.days)
        if not end.provisional:
            return None
        first = start.astimezone(CHINA_TZ).year
        last = end.at.astimezone(CHINA_TZ).year
        missing = [y for y in range(first, last + 1) if not calendar.known(y)]
        return (
            f"timer {name} counts {rule.duration.days} working days; started within "
            f"{HORIZON_MARGIN.days} days of {now.date().isoformat()} it counts over "
            f"{', '.join(map(str, missing))}, for which no holiday data are loaded: such "
            "deadlines are provisional (weekends and statutory holidays only) until "
            "`rectify calendar load` loads the year's notice"
        )


def _count_working(
    calendar: Calendar, start: datetime, duration: timedelta, sign: int, label: str
) -> Counted:
    # The whole-day part counts working days; hours and minutes are added as plain time.
    whole = duration.days
    rest = duration - timedelta(days=whole)
    shifted = calendar.shift(start, sign * whole)
    return Counted(shifted.at + sign * rest, shifted.provisional, start, label)


def recount(kind: str, rule: str, counted_from: datetime, calendar: Calendar) -> Counted:
    """Count a timer again with `calendar`, from what its row keeps (`Counted.rule`)."""
    _label, duration, _days = rule.split()
    sign = -1 if kind == "reminder" else 1
    return _count_working(calendar, _as_utc(counted_from), _parse_duration(duration), sign, rule)


def iso_duration(value: timedelta) -> str:
    """A timedelta as an ISO 8601 duration in days, hours, minutes and seconds."""
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    seconds_text = f"{seconds + value.microseconds / 1e6:g}" if value.microseconds else seconds
    time = "".join(
        f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds_text, "S")) if n
    )
    text = (f"{value.days}D" if value.days else "") + (f"T{time}" if time else "")
    return f"P{text}" if text else "PT0S"


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


@lru_cache(maxsize=1)
def _shipped() -> CalendarSource:
    # A Policy used without a context (tests, bench): the years shipped in config/calendar/.
    from rectify.calendar.store import FixedCalendar, calendar_of, read_folder
    from rectify.config import CONFIG_DIR

    return FixedCalendar(calendar_of(read_folder(CONFIG_DIR / "calendar")))


def add_working_days(start: datetime, days: int, calendar: Calendar | None = None) -> datetime:
    """Step `days` Chinese working days (法定节假日, 调休) from start's date in China, keeping
    the time of day; negative goes back. A nonzero count lands on a working day; 0 is a no-op.
    Without a calendar, the years shipped in config/calendar/ (provisional beyond them)."""
    return (calendar or _shipped().current()).shift(start, days).at


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
