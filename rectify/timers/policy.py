"""The deadline policy from `config/policy.toml`: durations per grade in calendar or Chinese
working days (法定节假日 and 调休 from chinese-calendar), reminders, ladder and closure rule."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Literal

import chinese_calendar
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from rectify.exceptions import ConfigurationError

TIMER_KINDS = (
    "plan_due", "progress_due", "reminder", "rectification", "verification_due",
    "judicial_decision_due",
)
CHINA = timezone(timedelta(hours=8))  # working days are judged on the date in Beijing


class DayMode(StrEnum):
    calendar = "calendar"
    working = "working"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimerRule(_Strict):
    duration: timedelta
    days: DayMode = DayMode.calendar


class LadderStep(_Strict):
    after: timedelta
    action: Literal["notify", "list_for_supervision", "recommend_suspension"]
    mode: Literal["auto", "notify"]
    level: Literal["county", "city", "province"] | None = None
    requires: Literal["overdue", "listed_and_overdue"] = "overdue"


class GradePolicy(_Strict):
    timers: dict[str, TimerRule]
    ladder: list[LadderStep]

    @field_validator("timers")
    @classmethod
    def _all_kinds(cls, v: dict[str, TimerRule]) -> dict[str, TimerRule]:
        unknown = sorted(set(v) - set(TIMER_KINDS))
        missing = sorted(set(TIMER_KINDS) - set(v))
        if unknown or missing:
            raise ValueError(f"unknown timers {unknown}, missing timers {missing}")
        return v


class ClosureRule(_Strict):
    windows: list[tuple[int, timedelta]]


class Policy(_Strict):
    grades: dict[Literal["general", "major"], GradePolicy]
    closure_rule: ClosureRule

    def due(self, kind: str, grade: str, start: datetime) -> datetime:
        """When a timer of `kind` started at `start` falls due; a reminder counts backwards."""
        rule = self.grades[grade].timers[kind]  # type: ignore[index]
        sign = -1 if kind == "reminder" else 1
        if rule.days is DayMode.calendar:
            return start + sign * rule.duration
        whole = timedelta(days=rule.duration.days)
        return add_working_days(start, sign * whole.days) + sign * (rule.duration - whole)

    def rectification_deadline(self, grade: str, start: datetime) -> datetime:
        return self.due("rectification", grade, start)

    def check_horizon(self, now: datetime) -> None:
        """Fail at start-up when a working-day rule would need dates chinese-calendar lacks."""
        for grade, gp in self.grades.items():
            for kind, rule in gp.timers.items():
                if rule.days is not DayMode.working:
                    continue
                # Look as far ahead as the longest deadline this rule can produce, with margin.
                horizon = now + rule.duration * 2 + timedelta(days=30)
                try:
                    chinese_calendar.is_workday(horizon.astimezone(CHINA).date())
                except NotImplementedError:
                    raise ConfigurationError(
                        f"policy {grade}.{kind} counts working days, but chinese-calendar has "
                        f"no holiday data for {horizon.date()}: upgrade chinesecalendar or "
                        "switch the rule to calendar days"
                    ) from None


def _is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        raise ConfigurationError(
            f"chinese-calendar has no holiday data for {day}: upgrade chinesecalendar or use "
            "calendar days"
        ) from None


def add_working_days(start: datetime, days: int) -> datetime:
    """Step `days` Chinese working days from `start` (backwards when negative), keeping the
    time of day; the result lands on a working day."""
    local = start.astimezone(CHINA)
    step = 1 if days >= 0 else -1
    day, left = local.date(), abs(days)
    while left:
        day += timedelta(days=step)
        if _is_workday(day):
            left -= 1
    while not _is_workday(day):
        day += timedelta(days=step)
    return datetime.combine(day, local.timetz()).astimezone(UTC)


def load_policy(path: Path) -> Policy:
    """Read and check the policy file; any problem stops start-up with a clear message."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Policy.model_validate(data)
    except FileNotFoundError:
        raise ConfigurationError(f"policy file {path} not found") from None
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigurationError(f"policy file {path}: {exc}") from None
