"""A year of holiday data (config/calendar/YYYY.toml): the State Council notice it comes from,
its days off and its 调休 working days, read and checked before anything is stored."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from rectify.exceptions import InvalidInput

__all__ = ["Holiday", "Notice", "YearFile", "parse_year", "read_year_file"]

# Long enough for the longest arrangement so far (春节 2020, extended to 10 days); a longer
# span is a typing mistake (10-01 to 11-07) more likely than a holiday.
LONGEST_HOLIDAY = 14
# 国办发明电〔2025〕7号: issuer, year in tortoise-shell brackets, number, 号.
DOCUMENT_NO = re.compile(r"\S+〔\d{4}〕\d+号")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Notice(_Model):
    """The 国务院办公厅 notice the dates come from."""

    title: Text
    document_no: Text
    published: date
    url: Text | None = None
    note: Text | None = None  # e.g. "[unsure] ...": what could not be confirmed

    @model_validator(mode="after")
    def _number(self) -> Notice:
        if not DOCUMENT_NO.fullmatch(self.document_no):
            raise ValueError(
                f"document_no {self.document_no!r} is not a document number such as "
                "国办发明电〔2025〕7号"
            )
        return self


class Holiday(_Model):
    """One item of the notice: days off from `first` to `last`, and its 调休 working days."""

    name: Text
    first: date
    last: date
    working_days: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _span(self) -> Holiday:
        if self.last < self.first:
            raise ValueError(f"{self.name}: last {self.last} is before first {self.first}")
        if (self.last - self.first).days + 1 > LONGEST_HOLIDAY:
            raise ValueError(
                f"{self.name}: {self.first} to {self.last} is longer than {LONGEST_HOLIDAY} days"
            )
        return self

    def days_off(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


class YearFile(_Model):
    """A whole year: every date in it, none both a day off and a working day."""

    year: int = Field(ge=2000, le=2100)
    revision: int = Field(default=1, ge=1)  # raise it to replace a loaded year with a correction
    notice: Notice
    holidays: list[Holiday] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> YearFile:
        problems = _year_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def days_off(self) -> frozenset[date]:
        return frozenset(d for h in self.holidays for d in h.days_off())

    def working_days(self) -> frozenset[date]:
        return frozenset(d for h in self.holidays for d in h.working_days)

    def document(self) -> dict[str, Any]:
        """JSON-ready, as stored."""
        return self.model_dump(mode="json", exclude_none=True)

    def digest(self) -> str:
        """sha256 of the canonical JSON of the data: the same data loaded twice is one load."""
        text = json.dumps(self.document(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def _year_problems(y: YearFile) -> list[str]:
    problems: list[str] = []
    if str(y.year) not in y.notice.title:
        problems.append(f"notice.title {y.notice.title!r} does not name the year {y.year}")
    if y.notice.published > date(y.year, 12, 31):
        problems.append(f"notice.published {y.notice.published} is after the year {y.year}")
    seen: dict[date, str] = {}
    for h in y.holidays:
        for day in h.days_off():
            if day.year != y.year:
                problems.append(f"{h.name}: day off {day} is not in {y.year}")
            elif day in seen:
                problems.append(f"{day} is a day off of both {seen[day]} and {h.name}")
            seen.setdefault(day, h.name)
    for h in y.holidays:
        for day in h.working_days:
            if day.year != y.year:
                problems.append(f"{h.name}: working day {day} is not in {y.year}")
            elif day in seen:
                problems.append(f"{day} is both a day off ({seen[day]}) and a working day")
            elif day.weekday() < 5:
                problems.append(
                    f"{h.name}: working day {day} is a {day:%A}, already a working day; "
                    "调休 working days are Saturdays and Sundays"
                )
    return problems


def parse_year(data: dict[str, Any], source: str) -> YearFile:
    """Validate parsed TOML; InvalidInput names the source and every problem."""
    try:
        return YearFile.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "(file)", "message": _message(e)}
            for e in exc.errors()
        ]
        detail = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] != "(file)" else e["message"]
            for e in errors
        )
        raise InvalidInput(f"{source} is not a valid calendar year: {detail}", errors) from None


def read_year_file(path: Path) -> YearFile:
    """Read and validate a year file; InvalidInput says what is wrong with it."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"no file {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path} is not readable TOML: {exc}") from None
    return parse_year(data, str(path))


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "missing"
    return str(err["msg"]).removeprefix("Value error, ")
