"""The holiday data shipped in config/calendar/, the provisional calendar for a year without
data, and the checks that refuse a malformed year file (also through `rectify calendar load`)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rectify.calendar.data import parse_year, read_year_file
from rectify.calendar.days import Calendar, provisional_holidays
from rectify.calendar.store import calendar_of, read_folder
from rectify.cli import app
from rectify.exceptions import InvalidInput
from tests.timers.fictional import doc_2027

FOLDER = Path(__file__).resolve().parents[2] / "config" / "calendar"
D = timedelta(days=1)


def every_day(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + k * D for k in range((date(year + 1, 1, 1) - first).days)]


@pytest.fixture(scope="module")
def shipped() -> Calendar:
    return calendar_of(read_folder(FOLDER))


def test_shipped_years_name_their_notices() -> None:
    years = {y.year: y for y in read_folder(FOLDER)}
    assert {2025, 2026} <= set(years)
    assert years[2025].notice.document_no == "国办发明电〔2024〕12号"
    assert years[2025].notice.published == date(2024, 11, 12)
    assert years[2026].notice.published == date(2025, 11, 4)
    assert years[2026].notice.note and "[unsure]" in years[2026].notice.note
    for y in years.values():
        assert str(y.year) in y.notice.title and y.notice.title.startswith("国务院办公厅")


@pytest.mark.parametrize("year", [2023, 2024, 2025, 2026])
def test_shipped_years_agree_with_chinesecalendar_on_every_date(
    shipped: Calendar, year: int
) -> None:
    chinese_calendar = pytest.importorskip("chinese_calendar")  # a dev dependency only
    differ = [d for d in every_day(year) if shipped.is_workday(d) != chinese_calendar.is_workday(d)]
    assert differ == []


def test_2026_working_weekends_and_weekday_holidays(shipped: Calendar) -> None:
    # From the notice itself, independent of any package.
    weekends_worked = [d for d in every_day(2026) if d.weekday() >= 5 and shipped.is_workday(d)]
    assert [d.isoformat() for d in weekends_worked] == [
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
    ]  # fmt: skip
    weekdays_off = [d for d in every_day(2026) if d.weekday() < 5 and not shipped.is_workday(d)]
    assert len(weekdays_off) == 19
    assert sum(shipped.is_workday(d) for d in every_day(2026)) == 248  # 261 weekdays - 19 + 6


def test_provisional_2027_is_weekends_and_the_statutory_days() -> None:
    # 2027: 春节 (正月初一) is Sat 6 Feb, so 除夕 Fri 5 Feb to 初三 Mon 8 Feb; 清明 Mon 5 Apr;
    # 端午 Wed 9 Jun; 中秋 Wed 15 Sep.
    assert sorted(d.isoformat() for d in provisional_holidays(2027)) == [
        "2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-04-05",
        "2027-05-01", "2027-05-02", "2027-06-09", "2027-09-15", "2027-10-01", "2027-10-02",
        "2027-10-03",
    ]  # fmt: skip
    calendar = Calendar()
    assert not calendar.is_workday(date(2027, 6, 9))  # a Wednesday: 端午
    assert calendar.is_workday(date(2027, 6, 10))
    assert not calendar.is_workday(date(2027, 1, 9))  # a Saturday: no 调休 is guessed


def test_provisional_years_keep_the_law_for_every_year() -> None:
    # The statutory days of a year with data are among its published days off.
    for year in (2025, 2026):
        published = read_year_file(FOLDER / f"{year}.toml").days_off()
        assert provisional_holidays(year) <= published


# --- malformed files -------------------------------------------------------------------------


def test_a_well_formed_year_passes() -> None:
    year = parse_year(doc_2027(), "2027.toml")
    assert year.year == 2027 and date(2027, 1, 4) in year.days_off()
    assert year.working_days() == {
        date(2027, 1, 9),
        date(2027, 2, 20),
        date(2027, 9, 26),
        date(2027, 10, 9),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["holidays"][0].update(first=date(2026, 12, 31)), "2026-12-31 is not in 2027"),
        (
            lambda d: d["holidays"][1]["working_days"].append(date(2027, 1, 3)),
            "2027-01-03 is both a day off",
        ),
        (lambda d: d["holidays"][0]["working_days"].append(date(2027, 1, 5)), "is a Tuesday"),
        (lambda d: d["notice"].pop("document_no"), "notice.document_no: missing"),
        (lambda d: d["notice"].update(document_no="第7号"), "not a document number"),
        (lambda d: d["notice"].update(title="关于部分节假日安排的通知"), "does not name the year"),
        (lambda d: d["holidays"][1].update(last=date(2027, 3, 30)), "longer than 14 days"),
        (
            lambda d: d["holidays"][2].update(first=date(2027, 1, 2), last=date(2027, 1, 3)),
            "2027-01-02 is a day off of both 元旦 and 国庆节",
        ),
        (lambda d: d.update(holidays=[]), "holidays"),
        (lambda d: d.update(years=2027), "years: unknown key"),
    ],
)
def test_malformed_years_are_refused(change, message: str) -> None:
    data = doc_2027()
    change(data)
    with pytest.raises(InvalidInput, match=message) as err:
        parse_year(data, "2027.toml")
    assert "2027.toml is not a valid calendar year" in err.value.detail


def test_rectify_calendar_load_refuses_a_malformed_file_with_exit_2(tmp_path: Path) -> None:
    text = (FOLDER / "2026.toml").read_text(encoding="utf-8")
    bad = tmp_path / "2026.toml"
    bad.write_text(text.replace("working_days = [2026-01-04]", "working_days = [2026-01-02]"))
    result = CliRunner().invoke(app, ["calendar", "load", str(bad)])
    assert result.exit_code == 2
    assert "2026-01-02 is both a day off (元旦) and a working day" in result.output
    broken = tmp_path / "broken.toml"
    broken.write_text("year = 2027\n[notice\n")
    result = CliRunner().invoke(app, ["calendar", "load", str(broken)])
    assert result.exit_code == 2 and "not readable TOML" in result.output
