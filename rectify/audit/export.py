"""Export of the history: events in (hazard_id, hazard_seq) order as JSON Lines (one public event
a line, verifiable without the database) or CSV with Chinese headers; streamed, in scope only.

Every export ends with a trailer: the number of events and the SHA-256 of every byte before the
trailer line, so that a file cut short anywhere (a dropped connection, a full disk) cannot pass
for a complete one; `rectify audit verify --file` requires it.
    JSON Lines: {"trailer":{"events":N,"sha256":"<64 hex>"}}
    CSV:        尾行 trailer,events=N,sha256=<64 hex>
"""

from __future__ import annotations

import csv
import hashlib
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
from rectify.exceptions import InvalidInput
from rectify.hazards.models import Hazard

FORMATS = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}
CSV_COLUMNS = (
    ("序号 seq", "seq"),
    ("隐患编号 hazard_id", "hazard_id"),
    ("链内序号 hazard_seq", "hazard_seq"),
    ("触发事件 trigger", "trigger"),
    ("原状态 from", "from"),
    ("新状态 to", "to"),
    ("操作人 actor", "actor"),
    ("操作人编号 actor_id", "actor_id"),
    ("角色 role", "role"),
    ("时间 at", "at"),
    ("内容 payload", "payload"),
    ("流程版本 workflow", "workflow"),
    ("前一哈希 prev_hash", "prev_hash"),
    ("哈希 hash", "hash"),
)
BATCH = 1000
TRAILER_LABEL = "尾行 trailer"  # the first cell of the CSV trailer row


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def check(*, fmt: str, start: datetime | None, end: datetime | None) -> None:
    """Refuse before streaming starts: a problem cannot follow a 200 already sent. (Who may
    export is the route's to say: `audit/views.py`.)"""
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
        value = event.get(key)  # actor_id: absent for the system and for older events
        if value is None:
            value = ""
        cells.append(canonical_json(value) if isinstance(value, dict | list) else value)
    return _csv_line(cells)


def _csv_line(cells: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def trailer(fmt: str, events: int, sha256: str) -> str:
    """The last line of an export: how many events, and the SHA-256 of all bytes before it."""
    if fmt == "jsonl":
        return canonical_json({"trailer": {"events": events, "sha256": sha256}}) + "\n"
    return _csv_line([TRAILER_LABEL, f"events={events}", f"sha256={sha256}"])


def formatter(fmt: str) -> tuple[str, Callable[[dict[str, Any]], str]]:
    """The header and the row function of a format."""
    return ("", jsonl_row) if fmt == "jsonl" else (csv_header(), csv_row)


def pieces(
    *,
    ctx: Context,
    caller: Caller,
    fmt: str,
    start: datetime | None,
    end: datetime | None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The export text piece by piece: header, events (in chunks), trailer. `progress` is told
    the number of events written so far after each chunk."""
    header, row = formatter(fmt)
    digest, written = hashlib.sha256(), 0

    def out(text: str) -> str:
        digest.update(text.encode("utf-8"))
        return text

    if header:
        yield out(header)
    chunk: list[str] = []
    for event in events(ctx=ctx, caller=caller, start=start, end=end):
        chunk.append(row(event))
        if len(chunk) >= 200:
            written += len(chunk)
            yield out("".join(chunk))
            chunk = []
            if progress:
                progress(written)
    if chunk:
        written += len(chunk)
        yield out("".join(chunk))
    if progress:
        progress(written)
    yield trailer(fmt, written, digest.hexdigest())


def stream(
    *, ctx: Context, caller: Caller, fmt: str, start: datetime | None, end: datetime | None
) -> Iterator[str]:
    """Checks now, then the export text piece by piece (for a StreamingResponse)."""
    check(fmt=fmt, start=start, end=end)
    return pieces(ctx=ctx, caller=caller, fmt=fmt, start=start, end=end)
