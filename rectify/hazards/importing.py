"""Importing a hazard ledger (隐患台账导入): the template, every row checked, then all rows or none.

The sheet is the template's (`template()`): one header row of Chinese column names, then one
hazard a row. Every row is checked first, with the API's rules (HazardCreate's fields, the
enterprise by its credit code in the caller's scope, grade and source, the dates, the
deadline's horizon), and every bad cell is reported with its row number and column; only a
sheet without one is imported, in one transaction through the service path: each row is
reported (`report_in`, its discovery date recorded) and, when it names a responsible person or a
deadline, assigned (`apply('assign')`, which sets the deadline and its timers). A deadline the
ledger names may have passed: the hazard is overdue at once and its timers fire on the next
tick, so it escalates through the ladder like any other.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from pydantic import TypeAdapter, ValidationError
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.database.uow import UnitOfWork
from rectify.enterprises.models import Enterprise
from rectify.exceptions import InvalidInput, RectifyError
from rectify.hazards import service
from rectify.hazards.models import HazardCreate
from rectify.hazards.triggers.base import Situation, deadline_rules
from rectify.inputs import Text

__all__ = ["COLUMNS", "Row", "check", "import_rows", "read_sheet", "template"]

CHINA = timedelta(hours=8)
MAX_UNPACKED = 512 * 1024 * 1024
"""The most a sheet may unpack to (ours): a zip bomb is refused before it is inflated."""
MAX_TEMPLATE_ROWS = 200_001
"""The template's drop-down lists reach this row."""
MAX_ERRORS = 1000
"""At most this many bad cells are listed (the count says how many there were)."""


@dataclass(frozen=True)
class Column:
    name: str  # the field
    header: str  # the sheet's Chinese header
    note: str  # what the template's notes say about it
    width: int = 16


COLUMNS = (
    Column(
        "credit_code",
        "统一社会信用代码",
        "必填：企业的18位统一社会信用代码（须已登记、在本辖区）",
        22,
    ),
    Column("title", "隐患名称", "必填，不超过300字", 30),
    Column("description", "隐患描述", "选填", 40),
    Column("grade", "隐患等级", "必填：一般事故隐患 或 重大事故隐患（也可写 一般、重大）", 14),
    Column("industry", "行业", "选填：空则取企业登记的行业", 12),
    Column("source", "隐患来源", "必填：企业自查、执法检查、群众举报、监测预警", 12),
    Column("location", "隐患部位", "选填", 20),
    Column("violation", "是否违法行为", "选填：是 或 否（空为否）", 12),
    Column("discovered_on", "发现日期", "必填：日期，如 2026-03-02，不晚于今天", 14),
    Column("assignee", "整改责任人", "填写整改期限时必填", 14),
    Column(
        "deadline",
        "整改期限",
        "选填：日期（当日24时止）或日期时间，北京时间；已过期的隐患导入后即为逾期",
        20,
    ),
)
HEADERS = tuple(c.header for c in COLUMNS)
_HEADER_OF = {c.name: c.header for c in COLUMNS}

GRADES = {"一般事故隐患": "general", "一般": "general", "general": "general"} | {
    "重大事故隐患": "major",
    "重大": "major",
    "major": "major",
}
SOURCES = {
    "企业自查": "self_check",
    "执法检查": "inspection",
    "群众举报": "public_report",
    "监测预警": "monitoring",
} | {v: v for v in ("self_check", "inspection", "public_report", "monitoring")}
YES_NO = {"是": True, "否": False, "": False, True: True, False: False}
_TEXT = TypeAdapter(Text)


@dataclass
class Row:
    """One checked row: what the service is given."""

    number: int  # the sheet's row number (the header is row 1)
    data: HazardCreate
    discovered_at: datetime
    assign: dict[str, Any] | None  # the assign payload, or None: left reported


@dataclass
class Checked:
    rows: list[Row] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    def bad(self, number: int, name: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            header = _HEADER_OF.get(name, name)
            self.errors.append(
                {"row": number, "column": header, "field": f"row {number}: {header}"}
                | {"message": message}
            )


# -- the template ------------------------------------------------------------------------------


def template() -> bytes:
    """The import sheet: headers, frozen, widths, date formats; notes on a second sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = "隐患台账"
    sheet.append(list(HEADERS))
    sheet.freeze_panes = "A2"
    for i, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = column.width
    # Drop-down lists where a column takes fixed words (they create no cells: rows stay empty).
    for name, words in (
        ("grade", "一般事故隐患,重大事故隐患"),
        ("source", "企业自查,执法检查,群众举报,监测预警"),
        ("violation", "是,否"),
    ):
        letter = get_column_letter(1 + [c.name for c in COLUMNS].index(name))
        choice = DataValidation(type="list", formula1=f'"{words}"', allow_blank=True)
        choice.add(f"{letter}2:{letter}{MAX_TEMPLATE_ROWS}")
        sheet.add_data_validation(choice)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "说明"])
    for column in COLUMNS:
        notes.append([column.header, column.note])
    notes.append(["", "只读取第一个工作表；第一行为表头，请勿修改；每行一条隐患。"])
    notes.append(["", "全部行校验通过才导入；任何一行有误则不导入，并列出行号、列名和原因。"])
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 80
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- reading -----------------------------------------------------------------------------------


def read_sheet(stream: BinaryIO, *, max_rows: int) -> list[tuple[int, tuple[Any, ...]]]:
    """The data rows of the first sheet (number, cells), the header checked; blank rows
    skipped. InvalidInput when it is no XLSX, unpacks too large, the header differs or it has
    too many rows. Read by calamine (Rust), which loads the sheet whole: hence the unpacked
    size is checked first, from the archive's directory, before anything is inflated."""
    data = stream.read()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except zipfile.BadZipFile:
        raise _file_error("is not an XLSX workbook (not a zip archive)") from None
    if unpacked > MAX_UNPACKED:
        raise _file_error(f"unpacks to {unpacked} bytes, over {MAX_UNPACKED}; split it")
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        found = iter(sheet.iter_rows())
    except Exception as exc:  # calamine's errors: not a readable workbook
        raise _file_error(f"is not an XLSX workbook ({exc})") from None
    header = next(found, None)
    given = tuple(_str(v) for v in (header or ())[: len(HEADERS)])
    if given != HEADERS:
        raise _file_error("the first row must be the template's headers: " + "、".join(HEADERS))
    rows = []
    for number, cells in enumerate(found, start=2):
        if all(v is None or _str(v) == "" for v in cells):
            continue
        if len(rows) >= max_rows:
            raise _file_error(f"has more than {max_rows} rows; split it")
        padded = tuple(cells[: len(HEADERS)]) + (None,) * (len(HEADERS) - len(cells))
        rows.append((number, padded))
    return rows


def _file_error(message: str) -> InvalidInput:
    return InvalidInput.fields([{"field": "file", "message": f"the sheet {message}"}])


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# -- checking ----------------------------------------------------------------------------------


def check(
    *, ctx: Context, connection: Any, caller: Caller, rows: list[tuple[int, tuple[Any, ...]]]
) -> Checked:
    """Every row checked with the API's rules; the good ones ready for the service."""
    now = ctx.now()
    firms = _enterprises(connection, caller, {_str(cells[0]) for _, cells in rows})
    situation = Situation(
        hazard=None,  # type: ignore[arg-type]  # the deadline rules read only the times
        caller=caller,
        now=now,
        horizon=timedelta(days=ctx.settings.deadline_horizon_days),
        imported=True,
    )
    checked = Checked()
    for number, cells in rows:
        row = _check_row(checked, number, dict(zip((c.name for c in COLUMNS), cells, strict=True)))
        if row is not None:
            _finish(checked, number, row, firms, situation, now)
    return checked


def _check_row(checked: Checked, number: int, cell: dict[str, Any]) -> dict[str, Any] | None:
    """The row's values parsed cell by cell (None when one is bad; each bad one is listed)."""
    out: dict[str, Any] = {}
    before = checked.error_count
    for name in ("credit_code", "title", "description", "industry", "location", "assignee"):
        out[name] = _str(cell[name])
    for name in ("credit_code", "title"):
        if not out[name]:
            checked.bad(number, name, "is required")
    grade = GRADES.get(_str(cell["grade"]))
    if grade is None:
        checked.bad(number, "grade", "must be 一般事故隐患 or 重大事故隐患")
    source = SOURCES.get(_str(cell["source"]))
    if source is None:
        checked.bad(number, "source", "must be one of 企业自查、执法检查、群众举报、监测预警")
    violation = YES_NO.get(
        cell["violation"] if isinstance(cell["violation"], bool) else _str(cell["violation"])
    )
    if violation is None:
        checked.bad(number, "violation", "must be 是 or 否")
    out |= {"grade": grade, "source": source, "violation": violation}
    out["discovered_on"] = _day(checked, number, "discovered_on", cell["discovered_on"], True)
    out["deadline"] = _deadline(checked, number, cell["deadline"])
    return out if checked.error_count == before else None


def _finish(
    checked: Checked,
    number: int,
    row: dict[str, Any],
    firms: dict[str, tuple[int, str]],
    situation: Situation,
    now: datetime,
) -> None:
    """The checks that need the enterprise, the model and the times together."""
    before = checked.error_count
    firm = firms.get(row["credit_code"])
    if firm is None:
        checked.bad(number, "credit_code", "names no enterprise registered in your scope")
        return
    discovered_at = datetime.combine(row["discovered_on"], time(0), tzinfo=UTC) - CHINA
    if discovered_at > now:
        checked.bad(number, "discovered_on", "is after today")
    fields = {
        "enterprise_id": firm[0],
        "title": row["title"],
        "description": row["description"],
        "grade": row["grade"],
        "industry": row["industry"] or firm[1],
        "source": row["source"],
        "location": row["location"],
        "violation": row["violation"],
    }
    try:
        data = HazardCreate.model_validate(fields)
    except ValidationError as exc:
        for e in exc.errors():
            checked.bad(number, str(e["loc"][0]), e["msg"])
        return
    deadline, assignee = row["deadline"], row["assignee"]
    assign: dict[str, Any] | None = None
    if deadline is not None or assignee:
        if not assignee:
            checked.bad(number, "assignee", "is required with a deadline")
        else:
            try:
                _TEXT.validate_python(assignee)
            except ValidationError as exc:
                checked.bad(number, "assignee", exc.errors()[0]["msg"])
        if deadline is not None:
            if deadline <= discovered_at:
                checked.bad(number, "deadline", "must be after the discovery date")
            for e in deadline_rules("deadline", deadline, situation):
                checked.bad(number, "deadline", e["message"])
        assign = {"assignee": assignee}
        if deadline is not None:
            assign["deadline"] = deadline.isoformat()
    if checked.error_count == before:
        checked.rows.append(Row(number, data, discovered_at, assign))


def _day(checked: Checked, number: int, name: str, value: Any, required: bool) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _str(value)
    if not text:
        if required:
            checked.bad(number, name, "is required")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        checked.bad(number, name, "must be a date such as 2026-03-02")
        return None


def _deadline(checked: Checked, number: int, value: Any) -> datetime | None:
    """A deadline cell in China time: a date means the end of that day (24:00)."""
    if isinstance(value, datetime):
        moment = value if value.time() != time(0) else value + timedelta(days=1)
        return moment.replace(tzinfo=UTC) - CHINA
    text = _str(value)
    if isinstance(value, date) or (text and len(text) == 10):
        day = _day(checked, number, "deadline", value, False)
        return (
            None if day is None else datetime.combine(day + timedelta(days=1), time(0), UTC) - CHINA
        )
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        checked.bad(
            number, "deadline", "must be a date or a date and time, such as 2026-03-02 18:00"
        )
        return None
    return moment.replace(tzinfo=UTC) - CHINA if moment.tzinfo is None else moment.astimezone(UTC)


_ENTERPRISES = Enterprise.__table__  # type: ignore[attr-defined]


def _enterprises(connection: Any, caller: Caller, codes: set[str]) -> dict[str, tuple[int, str]]:
    """credit code → (id, industry) of the enterprises in the caller's scope."""
    e = _ENTERPRISES.c
    found: dict[str, tuple[int, str]] = {}
    listed = sorted(c for c in codes if c)
    for start in range(0, len(listed), 500):
        chunk = listed[start : start + 500]
        statement = select(e.id, e.credit_code, e.industry, e.region_code).where(
            e.credit_code.in_(chunk)
        )
        for r in connection.execute(statement):
            if caller.sees(region_code=r.region_code, enterprise_id=r.id):
                found[r.credit_code] = (r.id, r.industry)
    return found


# -- importing ---------------------------------------------------------------------------------


def import_rows(*, ctx: Context, caller: Caller, rows: list[Row]) -> list[int]:
    """Report (and assign) every row in one transaction: all of them, or none."""

    def command(uow: UnitOfWork) -> list[int]:
        with uow.deferring():  # the events, timers and outbox rows go in large batches
            return [_import_checked(uow, ctx, caller, row) for row in rows]

    return ctx.db.run(command)


def _import_checked(uow: UnitOfWork, ctx: Context, caller: Caller, row: Row) -> int:
    """One row through the service; a rule the checks did not foresee names the row."""
    try:
        return _import_one(uow, ctx, caller, row)
    except RectifyError as exc:
        errors = getattr(exc, "errors", None) or [{"message": exc.detail}]
        raise InvalidInput.fields(
            [
                {"row": row.number, "field": f"row {row.number}"}
                | {"message": e.get("message", str(e)), "column": e.get("field", "")}
                for e in errors
            ]
        ) from exc


def _import_one(uow: UnitOfWork, ctx: Context, caller: Caller, row: Row) -> int:
    hazard = service.report_in(
        uow=uow,
        ctx=ctx,
        caller=caller,
        data=row.data,
        discovered_at=row.discovered_at,
        save=row.assign is None,  # else the assign's save writes both events' head
    )
    if row.assign is not None:
        service.apply(
            uow=uow,
            ctx=ctx,
            caller=caller,
            hazard=hazard,
            trigger="assign",
            payload=row.assign,
            imported=True,
        )
    return int(hazard.id)
