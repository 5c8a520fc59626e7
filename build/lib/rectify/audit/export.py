"""Export of the history: events in (hazard_id, hazard_seq) order as JSON Lines (one public event
a line, verifiable without the database) or CSV with Chinese headers; streamed, in scope only."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, func, select

from rectify.audit.chain import canonical_json
from rectify.audit.models import Event
from rectify.audit.service import to_public
from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.exceptions import Forbidden, InvalidInput
from rectify.hazards.models import Hazard

EXPORTERS = ("auditor", "admin")
FORMATS = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}
CSV_COLUMNS = (
    ("序号 seq", "seq"),
    ("隐患编号 hazard_id", "hazard_id"),
    ("链内序号 hazard_seq", "hazard_seq"),
    ("触发事件 trigger", "trigger"),
    ("原状态 from", "from"),
    ("新状态 to", "to"),
    ("操作人 actor", "actor"),
    ("角色 role", "role"),
    ("时间 at", "at"),
    ("内容 payload", "payload"),
    ("流程版本 workflow", "workflow"),
    ("前一哈希 prev_hash", "prev_hash"),
    ("哈希 hash", "hash"),
)
BATCH = 1000


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def check(*, caller: Caller, fmt: str, start: datetime | None, end: datetime | None) -> None:
    """Refuse before streaming starts: a problem cannot follow a 200 already sent."""
    if caller.role not in EXPORTERS:
        raise Forbidden(f"export needs the role auditor or admin; you are {caller.role}")
    if fmt not in FORMATS:
        raise InvalidInput.fields([{"field": "format", "message": "must be jsonl or csv"}])
    if start and end and _utc(start) >= _utc(end):  # type: ignore[operator]
        raise InvalidInput.fields([{"field": "to", "message": "must be later than from"}])


def _where(caller: Caller, start: datetime | None, end: datetime | None) -> list[Any]:
    where = [caller.scope_filter(Hazard)]
    if start is not None:
        where.append(col(Event.at) >= _utc(start))
    if end is not None:
        where.append(col(Event.at) < _utc(end))
    return [w for w in where if w is not None]


def count(*, ctx: Context, caller: Caller, start: datetime | None, end: datetime | None) -> int:
    """How many events an export would hold."""
    stmt = (
        select(func.count())
        .select_from(Event)
        .join(Hazard, col(Hazard.id) == col(Event.hazard_id))
        .where(*_where(caller, start, end))
    )
    with ctx.db.session() as session:
        return session.exec(stmt).one()


def events(
    *, ctx: Context, caller: Caller, start: datetime | None, end: datetime | None
) -> Iterator[dict[str, Any]]:
    """The public events in scope, `from` inclusive, `to` exclusive, read in batches."""
    stmt = (
        select(Event)
        .join(Hazard, col(Hazard.id) == col(Event.hazard_id))
        .where(*_where(caller, start, end))
        .order_by(col(Event.hazard_id), col(Event.hazard_seq))
        .execution_options(yield_per=BATCH)
    )
    with ctx.db.session() as session:
        for i, event in enumerate(session.exec(stmt), start=1):
            yield to_public(event)
            if i % BATCH == 0:
                session.expunge_all()  # yield_per keeps no rows, the identity map would


def jsonl_row(event: dict[str, Any]) -> str:
    return canonical_json(event) + "\n"


def csv_header() -> str:
    # A BOM so that spreadsheet programs read the Chinese headers as UTF-8.
    return "\ufeff" + _csv_line([label for label, _ in CSV_COLUMNS])


def csv_row(event: dict[str, Any]) -> str:
    cells = []
    for _, key in CSV_COLUMNS:
        value = event[key]
        if value is None:
            value = ""
        cells.append(canonical_json(value) if isinstance(value, dict | list) else value)
    return _csv_line(cells)


def _csv_line(cells: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def formatter(fmt: str) -> tuple[str, Callable[[dict[str, Any]], str]]:
    """The header and the row function of a format."""
    return ("", jsonl_row) if fmt == "jsonl" else (csv_header(), csv_row)


def stream(
    *, ctx: Context, caller: Caller, fmt: str, start: datetime | None, end: datetime | None
) -> Iterator[str]:
    """Checks now, then the export text piece by piece (for a StreamingResponse)."""
    check(caller=caller, fmt=fmt, start=start, end=end)
    header, row = formatter(fmt)

    def pieces() -> Iterator[str]:
        if header:
            yield header
        chunk: list[str] = []
        for event in events(ctx=ctx, caller=caller, start=start, end=end):
            chunk.append(row(event))
            if len(chunk) >= 200:
                yield "".join(chunk)
                chunk = []
        if chunk:
            yield "".join(chunk)

    return pieces()
