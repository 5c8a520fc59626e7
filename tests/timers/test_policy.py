"""The deadline policy: the shipped defaults, calendar and Chinese working-day arithmetic (the
years shipped in config/calendar/, provisional beyond them), and the errors for bad policy
files."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rectify.exceptions import ConfigurationError
from rectify.timers.policy import (
    CHINA_TZ,
    TIMER_KINDS,
    DayMode,
    LadderStep,
    Policy,
    TimerRule,
    add_working_days,
    load_policy,
)

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "policy.toml"
D = timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def beijing(*args: int) -> datetime:
    """A wall-clock time in China, returned in UTC."""
    return datetime(*args, tzinfo=CHINA_TZ).astimezone(UTC)


def shipped_data() -> dict[str, Any]:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


def policy_with(grade: str, kind: str, duration: str, days: str = "working") -> Policy:
    data = shipped_data()
    data["grades"][grade]["timers"][kind] = {"duration": duration, "days": days}
    return Policy.model_validate(data)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SHIPPED)


# --- the shipped file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grade", "expected"),
    [
        ("general", {"plan_due": 1, "progress_due": 3, "reminder": 1, "rectification": 7,
                     "verification_due": 10, "resumption_review": 10, "judicial_decision_due": 3,
                     "closure_decision_due": 30, "reconsideration_window": 3,
                     "reconsideration_answer_due": 3}),
        ("major", {"plan_due": 1, "progress_due": 3, "reminder": 1, "rectification": 30,
                   "verification_due": 10, "resumption_review": 10, "judicial_decision_due": 3,
                   "closure_decision_due": 30, "reconsideration_window": 3,
                   "reconsideration_answer_due": 3}),
    ],
)  # fmt: skip
def test_shipped_timer_defaults(policy: Policy, grade: str, expected: dict[str, int]) -> None:
    timers = policy.grades[grade].timers  # type: ignore[index]
    assert set(timers) == set(TIMER_KINDS) == set(expected)
    assert {k: r.duration for k, r in timers.items()} == {k: v * D for k, v in expected.items()}
    assert all(r.days is DayMode.calendar for r in timers.values())


def test_shipped_ladder_general(policy: Policy) -> None:
    assert policy.grades["general"].ladder == [
        LadderStep(after=timedelta(0), action="notify", mode="notify"),
        LadderStep(after=3 * D, action="list_for_supervision", mode="auto", level="county"),
        LadderStep(
            after=10 * D, action="recommend_penalty", mode="notify", accountability="enterprise"
        ),
    ]


def test_shipped_ladder_major(policy: Policy) -> None:
    assert policy.grades["major"].ladder == [
        LadderStep(after=timedelta(0), action="list_for_supervision", mode="auto", level="city"),
        LadderStep(
            after=7 * D,
            action="recommend_suspension",
            mode="notify",
            requires="listed_and_overdue",
        ),
        LadderStep(
            after=7 * D,
            action="recommend_penalty",
            mode="notify",
            requires="listed_and_overdue",
            accountability="enterprise",
        ),
    ]


def test_shipped_closure_rule(policy: Policy) -> None:
    assert policy.closure_rule.windows == [(3, 180 * D), (4, 365 * D)]


def test_every_shipped_default_cites_a_source() -> None:
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if " = " in line and not line.startswith("#"):
            comments = "\n".join(lines[max(0, i - 6) : i])
            tags = ("[law]", "[practice]", "[unsure]", "[ours]")
            assert any(tag in comments for tag in tags), line


def test_shipped_policy_ignores_horizon_without_working_days(policy: Policy) -> None:
    assert policy.check_horizon(utc(2040, 1, 1)) is None  # calendar days need no holiday data


# --- calendar arithmetic ---------------------------------------------------------------------


def test_calendar_due_dates(policy: Policy) -> None:
    start = utc(2026, 2, 13, 17, 30)
    assert policy.due("plan_due", "general", start) == utc(2026, 2, 14, 17, 30)
    assert policy.due("verification_due", "major", start) == utc(2026, 2, 23, 17, 30)
    assert policy.rectification_deadline("general", start) == utc(2026, 2, 20, 17, 30)
    assert policy.rectification_deadline("major", start) == utc(2026, 3, 15, 17, 30)


def test_calendar_days_work_beyond_holiday_data(policy: Policy) -> None:
    assert policy.rectification_deadline("major", utc(2031, 12, 20)) == utc(2032, 1, 19)


def test_reminder_is_before_the_deadline(policy: Policy) -> None:
    deadline = policy.rectification_deadline("general", utc(2026, 3, 2, 2))
    reminder = policy.due("reminder", "general", deadline)
    assert reminder == utc(2026, 3, 8, 2) == deadline - D
    assert reminder < deadline


def test_non_utc_input_comes_back_in_utc(policy: Policy) -> None:
    start = datetime(2026, 3, 2, 10, tzinfo=CHINA_TZ)
    due = policy.due("plan_due", "general", start)
    assert due == utc(2026, 3, 3, 2) and due.tzinfo is UTC


def test_naive_datetime_refused(policy: Policy) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        policy.due("plan_due", "general", datetime(2026, 3, 2, 10))


def test_unknown_kind_or_grade(policy: Policy) -> None:
    with pytest.raises(ValueError, match="unknown timer kind 'escalation'"):
        policy.due("escalation", "general", utc(2026, 3, 2))
    with pytest.raises(ValueError, match="unknown grade 'minor'"):
        policy.due("plan_due", "minor", utc(2026, 3, 2))


# --- Chinese working days: Spring Festival 2026 ----------------------------------------------
# config/calendar/2026.toml (chinesecalendar 1.11 agrees): holiday Sun 2026-02-15 .. Mon
# 2026-02-23; Sat 02-14 and Sat 02-28 are 调休 working days; work resumes Tue 02-24.


def test_calendar_data_as_assumed() -> None:
    assert chinese_calendar.is_workday(date(2026, 2, 14))  # Saturday, 调休
    assert chinese_calendar.is_workday(date(2026, 2, 28))  # Saturday, 调休
    assert not any(chinese_calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert chinese_calendar.is_workday(date(2026, 2, 24))


def test_p3d_working_rule_before_the_holiday_lands_after_it() -> None:
    policy = policy_with("general", "progress_due", "P3D")
    start = beijing(2026, 2, 12, 9)  # Thursday: Fri 13 (1), Sat 14 调休 (2), Tue 24 (3)
    assert policy.due("progress_due", "general", start) == beijing(2026, 2, 24, 9)
    assert policy.due("progress_due", "major", start) == beijing(2026, 2, 15, 9)  # calendar


def test_tiaoxiu_weekend_day_counts() -> None:
    assert add_working_days(beijing(2026, 2, 13, 9), 1) == beijing(2026, 2, 14, 9)
    assert add_working_days(beijing(2026, 2, 27, 9), 1) == beijing(2026, 2, 28, 9)
    assert add_working_days(beijing(2026, 3, 6, 9), 1) == beijing(2026, 3, 9, 9)  # plain weekend


def test_start_on_a_holiday_counts_from_the_next_working_day() -> None:
    assert add_working_days(beijing(2026, 2, 18, 15), 1) == beijing(2026, 2, 24, 15)


def test_negative_days_go_backwards() -> None:
    assert add_working_days(beijing(2026, 2, 24, 9), -1) == beijing(2026, 2, 14, 9)
    assert add_working_days(beijing(2026, 2, 24, 9), -2) == beijing(2026, 2, 13, 9)


def test_zero_days_is_a_no_op() -> None:
    assert add_working_days(beijing(2026, 2, 18, 9), 0) == beijing(2026, 2, 18, 9)


def test_working_reminder_counts_back_over_the_holiday() -> None:
    policy = policy_with("major", "reminder", "P1D")
    assert policy.due("reminder", "major", beijing(2026, 2, 24, 18)) == beijing(2026, 2, 14, 18)


def test_working_remainder_is_plain_time() -> None:
    policy = policy_with("general", "plan_due", "PT36H")  # 1 working day + 12 hours
    assert policy.due("plan_due", "general", beijing(2026, 2, 13, 9)) == beijing(2026, 2, 14, 21)


def test_china_date_boundary() -> None:
    # 2026-02-13T17:00Z is Saturday 2026-02-14 01:00 in Beijing: the next working day after
    # that Saturday is Tuesday 24th, not Saturday 14th as the UTC date (Friday) would suggest.
    assert add_working_days(utc(2026, 2, 13, 17), 1) == utc(2026, 2, 23, 17)
    # One minute before midnight in Beijing it is still Friday.
    assert add_working_days(utc(2026, 2, 13, 15, 59), 1) == utc(2026, 2, 14, 15, 59)


@settings(max_examples=60, deadline=None)
@given(
    day=st.dates(min_value=date(2023, 2, 1), max_value=date(2026, 11, 30)),
    minutes=st.integers(min_value=0, max_value=24 * 60 - 1),
    days=st.integers(min_value=-15, max_value=15).filter(bool),
)
def test_working_day_count_property(day: date, minutes: int, days: int) -> None:
    start = beijing(day.year, day.month, day.day) + timedelta(minutes=minutes)
    local = add_working_days(start, days).astimezone(CHINA_TZ)
    assert chinese_calendar.is_workday(local.date())
    assert local.time() == start.astimezone(CHINA_TZ).time()
    # forwards: working days in (start, result]; backwards: in [result, start)
    first, last = (day + D, local.date()) if days > 0 else (local.date(), day - D)
    stepped = [first + k * D for k in range((last - first).days + 1)]
    assert sum(chinese_calendar.is_workday(d) for d in stepped) == abs(days)


# --- beyond the shipped data: the provisional calendar ----------------------------------------


def test_due_beyond_the_data_is_provisional_not_an_error() -> None:
    policy = policy_with("major", "rectification", "P30D")
    counted = policy.count("rectification", "major", utc(2026, 12, 10))
    assert counted.provisional
    assert counted.counted_from == utc(2026, 12, 10)
    assert counted.rule == "major.rectification P30D working"
    # 2027 provisional: 元旦 (Fri 1 Jan) and 春节 (除夕 Fri 5 Feb to 初三 Mon 8 Feb) are off.
    # 2026: Dec 11, 14-18, 21-25, 28-31 (15); 2027: Jan 4-8 ... Jan 22 (30).
    assert counted.at == utc(2027, 1, 22)
    within = policy.count("rectification", "major", utc(2026, 3, 2))
    assert not within.provisional


def test_a_count_that_only_starts_before_the_data_is_not_provisional() -> None:
    # Stepping from 2026-12-30 by one working day stays in 2026: nothing provisional counted.
    counted = policy_with("general", "plan_due", "P1D").count(
        "plan_due", "general", beijing(2026, 12, 30, 9)
    )
    assert counted.at == beijing(2026, 12, 31, 9) and not counted.provisional


def test_calendar_days_are_never_provisional(policy: Policy) -> None:
    counted = policy.count("rectification", "major", utc(2031, 12, 20))
    assert counted.at == utc(2032, 1, 19) and not counted.provisional and counted.rule is None


def test_check_horizon_warns_instead_of_refusing() -> None:
    policy = policy_with("major", "rectification", "P30D")
    assert policy.check_horizon(utc(2026, 3, 1)) is None  # well inside 2026
    warning = policy.check_horizon(utc(2026, 11, 1))
    assert warning is not None
    assert "major.rectification" in warning and "2027" in warning and "provisional" in warning


def test_check_horizon_uses_the_longest_working_rule() -> None:
    data = shipped_data()
    data["grades"]["general"]["timers"]["plan_due"]["days"] = "working"
    data["grades"]["major"]["timers"]["verification_due"]["days"] = "working"
    policy = Policy.model_validate(data)
    assert policy.check_horizon(utc(2026, 11, 10)) is None  # 30 days + 10 working days fit
    assert "major.verification_due" in (policy.check_horizon(utc(2026, 11, 25)) or "")


# --- bad policy files ------------------------------------------------------------------------


def write_policy(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("plan_due = {", "plan_deu = {", r"unknown timer\(s\) \['plan_deu'\]"),
        ('"P7D"', '"7 days"', r"general\.timers\.rectification\.duration.*bad ISO 8601"),
        (
            'rectification = { duration = "P30D"',
            'rectification = { duration = "P1M"',
            r"major\.timers\.rectification\.duration.*months are not",
        ),
        ('"P7D"', "7", r"rectification\.duration.*ISO 8601 duration string"),
        ('"P7D"', '"-P7D"', r"rectification\.duration.*bad ISO 8601"),
        ('"P10D"', '"PT0S"', r"verification_due.*must be positive"),
        ('action = "notify"', 'action = "shout"', r"general\.ladder\.0\.action"),
        ('level = "county"', 'level = "town"', r"general\.ladder\.1\.level"),
        ('level = "county"\n', "", r"needs a level"),
        ('mode = "notify"\nrequires = "listed', 'mode = "auto"\nrequires = "listed', "decision"),
        ('days = "calendar" }', 'dayz = "calendar" }', r"plan_due\.dayz: unknown key"),
        ('days = "calendar" }', 'days = "business" }', r"plan_due\.days"),
        ("[closure_rule]", "[closure]", r"closure_rule: missing; closure: unknown key"),
        ('after = "P3D"', 'after = "P3D"\nurgent = true', r"ladder\.1\.urgent: unknown key"),
        ("[grades.major.timers]", "[grades.minor.timers]", r"grades\.minor"),
        ("windows = [[3,", "windows = [[0,", r"bad closure window"),
    ],
)
def test_bad_policy_file(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = write_policy(tmp_path, old, new)
    with pytest.raises(ConfigurationError, match=message) as err:
        load_policy(path)
    assert str(path) in err.value.detail


def test_missing_timer(tmp_path: Path) -> None:
    path = write_policy(tmp_path, 'judicial_decision_due = { duration = "P3D", days = "cal', "#")
    with pytest.raises(ConfigurationError, match=r"missing timer\(s\) \['judicial_decision_due'\]"):
        load_policy(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        load_policy(tmp_path / "nope.toml")


def test_broken_toml(tmp_path: Path) -> None:
    path = write_policy(tmp_path, "[closure_rule]", "[closure_rule")
    with pytest.raises(ConfigurationError, match="unreadable"):
        load_policy(path)


def test_models_accept_timedeltas_directly() -> None:
    rule = TimerRule(duration=timedelta(hours=36), days=DayMode.working)
    assert rule.duration == timedelta(days=1, hours=12)
    assert TimerRule.model_validate({"duration": "P1W"}).duration == 7 * D
