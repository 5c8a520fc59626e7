"""Chain verification: each event's hash recomputed, prev links, gapless hazard_seq, the hazard's
head and version, and every checkpoint; over the database (streamed) or an export file (JSON Lines
or CSV, whose trailer is required).

Over the database the events are read with a plain DB-API cursor and hashed from their stored text
(see `_walk`): reading them costs more than hashing them, so nothing else is built per event.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack, closing
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from rectify.audit import checkpoints as cp
from rectify.audit import export
from rectify.audit.chain import (
    GENESIS,
    IDS,
    SPLICED,
    PieceCache,
    canonical_event,
    canonical_json,
    link,
)
from rectify.audit.checkpoints import verify_checkpoints
from rectify.audit.models import Checkpoint, Event
from rectify.context import Context

EVENTS = Event.__table__.c  # type: ignore[attr-defined]
BATCH = 2000


class ChainChecker:
    """Fed events in (hazard_id, hazard_seq) order, it keeps one chain's tail and the breaks."""

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self.broken: list[dict[str, Any]] = []
        self.total_broken = 0
        self.events = 0
        self.chains = 0
        self.hazard_id: int | None = None
        self.seq = 0
        self.hash = GENESIS

    def fail(
        self,
        hazard_id: int | None,
        hazard_seq: int | None,
        reason: str,
        checkpoint: int | None = None,
    ) -> None:
        self.total_broken += 1
        if len(self.broken) < self.limit:
            entry = {"hazard_id": hazard_id, "hazard_seq": hazard_seq, "checkpoint": checkpoint}
            self.broken.append({**entry, "reason": reason})

    def feed(
        self,
        hazard_id: int,
        hazard_seq: int,
        prev_hash: str,
        stored_hash: str,
        canonical: bytes | None,
        *,
        trust_start: bool = False,
    ) -> None:
        """Check one event (canonical None: its content could not be read)."""
        self.events += 1
        if hazard_id != self.hazard_id:
            self.hazard_id, self.chains = hazard_id, self.chains + 1
            start = trust_start and hazard_seq > 1
            want_seq, want_prev = (hazard_seq, prev_hash) if start else (1, GENESIS)
        else:
            want_seq, want_prev = self.seq + 1, self.hash
        reasons = []
        if hazard_seq != want_seq:
            reasons.append(
                f"hazard_seq {want_seq}–{hazard_seq - 1} missing (deleted?)"
                if hazard_seq > want_seq
                else f"hazard_seq {hazard_seq} where {want_seq} was due"
            )
        if prev_hash != want_prev:
            reasons.append(f"prev_hash {prev_hash[:16]}… does not link to {want_prev[:16]}…")
        if canonical is None:
            reasons.append("the event's content cannot be read")
        elif link(prev_hash, canonical) != stored_hash:
            reasons.append("hash mismatch: the event was changed after it was written")
        if reasons:
            self.fail(hazard_id, hazard_seq, "; ".join(reasons))
        self.seq, self.hash = hazard_seq, stored_hash

    def result(self, **extra: Any) -> dict[str, Any]:
        return {
            "ok": self.total_broken == 0,
            "hazards_checked": self.chains,
            "events_checked": self.events,
            **extra,
            "broken_total": self.total_broken,
            "broken": self.broken,
        }


def canonical_of(row: Any) -> bytes | None:
    """The hashed bytes of a typed event row, as first defined: the payload parsed and dumped
    again, so a valid but not canonical stored payload still counts (None when its content
    cannot be read). The exact path: `_walk` only comes here for events its fast path refused."""
    try:
        return canonical_event(
            hazard_id=row.hazard_id,
            hazard_seq=row.hazard_seq,
            trigger=row.trigger,
            from_state=row.from_state,
            to_state=row.to_state,
            actor=row.actor,
            role=row.role,
            at=row.at,
            payload=canonical_json(json.loads(row.payload)),
            workflow_name=row.workflow_name,
            workflow_version=row.workflow_version,
            prev_hash=row.prev_hash,
        )
    except (ValueError, TypeError, AttributeError):
        return None


def _snapshot(ctx: Context, session: Session) -> None:
    # One snapshot for every query of the run: a concurrent append must not look like a break.
    if not ctx.db.is_sqlite:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


class _Heads:
    """The hazard rows (id, version, head_hash as bytes), walked beside the chains (both
    ordered by hazard id)."""

    def __init__(self, rows: Iterator[Any], checker: ChainChecker) -> None:
        self.rows, self.checker, self.pending = rows, checker, next(rows, None)

    def take(self, hazard_id: int | None) -> Any:
        """The row of `hazard_id`; rows before it are hazards whose chain is gone."""
        while self.pending is not None and (hazard_id is None or self.pending[0] < hazard_id):
            row, self.pending = self.pending, next(self.rows, None)
            self.checker.chains += 1
            gone = (
                f"hazard {row[0]} has no events although it is at version {row[1]}: its chain "
                f"of {row[1]} events is gone (missing: deleted)"
            )
            self.checker.fail(row[0], 1, gone)
        if self.pending is not None and self.pending[0] == hazard_id:
            row, self.pending = self.pending, next(self.rows, None)
            return row
        return None


def _close_chain(checker: ChainChecker, row: Any) -> None:
    hid, last, head = checker.hazard_id, checker.seq, checker.hash
    if row is None:
        checker.fail(hid, last, "events of a hazard that has no row")
        return
    version, row_head = row[1], _text(row[2])
    if version > last:
        checker.fail(
            hid,
            last + 1,
            f"hazard {hid} is at version {version} but its chain ends at hazard_seq {last}: "
            f"the chain is shorter than the hazard's version (newest events deleted)",
        )
    elif version != last or row_head != head:
        checker.fail(
            hid,
            last,
            f"hazard {hid} is at version {version}, head {row_head[:16]}…; its chain "
            f"ends at hazard_seq {last}, hash {head[:16]}… (newest events deleted or altered)",
        )


# The event columns the fast path reads, text as bytes (no decoding: they are hashed as bytes)
# and the time in SQLite's stored form "YYYY-MM-DD HH:MM:SS.ffffff" on both databases.
_SQLITE_COLUMNS = (
    "hazard_id, hazard_seq, CAST(trigger AS BLOB), CAST(from_state AS BLOB), "
    "CAST(to_state AS BLOB), CAST(actor AS BLOB), CAST(role AS BLOB), CAST(at AS BLOB), "
    "CAST(payload AS BLOB), CAST(workflow_name AS BLOB), workflow_version, "
    "CAST(prev_hash AS BLOB), CAST(hash AS BLOB)"
)
_PG_COLUMNS = (
    "hazard_id, hazard_seq, convert_to(trigger, 'UTF8'), convert_to(from_state::text, 'UTF8'), "
    "convert_to(to_state::text, 'UTF8'), convert_to(actor, 'UTF8'), convert_to(role, 'UTF8'), "
    "convert_to(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), 'UTF8'), "
    "convert_to(payload, 'UTF8'), convert_to(workflow_name, 'UTF8'), workflow_version, "
    "convert_to(prev_hash, 'UTF8'), convert_to(hash, 'UTF8')"
)


def _raw(session: Session, name: str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """An executed DB-API cursor over `sql` (? placeholders), in the session's transaction, to
    iterate and close: no SQLAlchemy rows or type processing, which cost more than hashing.
    A server-side cursor on PostgreSQL (streamed); SQLite steps through the table as it is read."""
    raw = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "sqlite":
        cursor = raw.cursor()
    else:
        cursor = raw.cursor(name=f"rectify_verify_{name}")
        cursor.itersize = BATCH
        sql = sql.replace("?", "%s")
    cursor.execute(sql, params)
    return cursor


def _raw_events(session: Session, max_seq: int | None) -> Any:
    """A cursor over every event (the columns of `_walk`'s loop) in chain order; up to
    `max_seq` if given."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    where = "" if max_seq is None else "WHERE seq <= ? "
    columns = _SQLITE_COLUMNS if sqlite else _PG_COLUMNS
    sql = f"SELECT {columns} FROM events {where}ORDER BY hazard_id, hazard_seq"
    return _raw(session, "events", sql, () if max_seq is None else (max_seq,))


def _raw_hazards(session: Session) -> Any:
    """A cursor over (id, version, head_hash as bytes) of every hazard, by id."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    head = "CAST(head_hash AS BLOB)" if sqlite else "convert_to(head_hash, 'UTF8')"
    return _raw(session, "hazards", f"SELECT id, version, {head} FROM hazards ORDER BY id")


def _exact(session: Session, hazard_id: Any, hazard_seq: Any, stored: bytes) -> bytes | None:
    """The canonical bytes of one event the fast path refused, from its typed row."""
    stmt = select(Event.__table__).where(
        EVENTS.hazard_id == hazard_id, EVENTS.hazard_seq == hazard_seq
    )
    try:
        rows = session.connection().execute(stmt).all()
    except (ValueError, TypeError):  # a column the types cannot read (time, JSON)
        return None
    # (hazard_id, hazard_seq) is unique; should that ever not hold, take the row walked.
    row = next((r for r in rows if r.hash.encode() == stored), rows[0] if rows else None)
    return None if row is None else canonical_of(row)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _walk(session: Session, checker: ChainChecker, max_seq: int | None = None) -> None:
    """Feed every chain to the checker; without `max_seq`, also match each hazard row's head.

    Fast path: an event is taken as sound, without the checker, when it follows its
    predecessor (next hazard_seq, prev_hash = its hash; seq 1 from GENESIS) and the bytes
    rebuilt from its stored text (chain.SPLICED) hash to its stored hash. For every event the
    service wrote those bytes are its canonical bytes; the layout stays uniquely decodable
    (escaped strings, canonical JSON, a fixed-width time, hex hashes), so a changed event
    cannot match. Anything else goes to the checker with the exact canonical bytes of its typed
    row, which decides and words the break as it always has.
    """
    with ExitStack() as stack:
        walk = None
        if max_seq is None:
            walk = _Heads(iter(stack.enter_context(closing(_raw_hazards(session)))), checker)
        events = stack.enter_context(closing(_raw_events(session, max_seq)))
        _check_all(session, checker, events, walk)


def _check_all(session: Session, checker: ChainChecker, events: Any, walk: _Heads | None) -> None:
    """The loop of `_walk` over the event rows (and, when given, the hazard rows)."""
    cache = PieceCache()
    # Bound once: this loop runs once per event and is where verify spends its time.
    known, miss, sha, spliced = cache.known.get, cache.miss, hashlib.sha256, SPLICED
    genesis = GENESIS.encode()
    current, last_seq, last_hash, fast, row, ids = None, 0, genesis, 0, None, b""
    for event in events:
        hid, seq, trig, frm, to, actor, role, at, payload, name, ver, prev, stored = event
        if hid != current:
            if current is not None:
                _end_chain(checker, walk, row, last_seq, last_hash)
            row = walk.take(hid) if walk is not None else None
            current, last_seq, last_hash = hid, 0, genesis
            checker.hazard_id, checker.chains = hid, checker.chains + 1
            ids = IDS % hid if type(hid) is int else b""
        if seq == last_seq + 1 and prev == last_hash and ids:
            key = (trig, frm, to, actor, role, name, ver)
            parts = known(key, cache)
            if parts is cache:
                parts = miss(key)
            try:
                # The time as stored, "YYYY-MM-DD HH:MM:SS.ffffff", is format_at's but for T, Z.
                if parts is not None and at[10] == 32 and len(at) == 26:
                    head, mid, tail = parts
                    at = at.replace(b" ", b"T", 1)
                    data = spliced % (prev, head, at, mid, ids, seq, payload, prev, tail)
                    if sha(data).hexdigest().encode() == stored:
                        last_seq, last_hash, fast = seq, stored, fast + 1
                        continue
            except (TypeError, IndexError):  # NULL or short time, a seq that is not an integer
                pass
        checker.seq, checker.hash = last_seq, _text(last_hash)
        checker.feed(hid, seq, _text(prev), _text(stored), _exact(session, hid, seq, stored))
        last_seq, last_hash = seq, stored
    checker.events += fast
    if current is not None:
        _end_chain(checker, walk, row, last_seq, last_hash)
    if walk is not None:
        walk.take(None)


def _end_chain(
    checker: ChainChecker, walk: _Heads | None, row: Any, last_seq: int, last_hash: bytes
) -> None:
    """Match the hazard row's version and head to the chain's end (with the rows walked)."""
    if walk is None or (row is not None and row[1] == last_seq and row[2] == last_hash):
        return
    checker.seq, checker.hash = last_seq, _text(last_hash)
    _close_chain(checker, row)


def verify(*, ctx: Context, limit: int = 1000) -> dict[str, Any]:
    """Check every chain and every checkpoint, streaming the events; constant memory."""
    checker = ChainChecker(limit)
    with ctx.db.session() as session:
        _snapshot(ctx, session)
        _walk(session, checker)
        checked, broken = verify_checkpoints(ctx=ctx, session=session)
    for b in broken:
        checker.fail(b["hazard_id"], b["hazard_seq"], b["reason"], checkpoint=b["checkpoint"])
    return checker.result(checkpoints_checked=checked)


def check_line(*, ctx: Context, line: str, limit: int = 1000) -> dict[str, Any]:
    """Check a published checkpoint line against the database: its checkpoint row, the heads it
    sealed (deleted or truncated chains named from the recorded heads) and the chains up to
    them."""
    fields = cp.parse_line(line)
    line = line.strip()
    problems: list[str] = []
    checker = ChainChecker(limit)
    with ctx.db.session() as session:
        _snapshot(ctx, session)
        row = session.get(Checkpoint, fields["id"])
        if row is None:
            problems.append(f"the database has no checkpoint #{fields['id']}: it was deleted")
        elif row.line != line:
            problems.append(f"the database's checkpoint #{row.id} reads differently: {row.line}")
        now = cp.coverage(session, fields["max_seq"])
        sealed = cp.Coverage(
            hazards=fields["hazards"], events=fields["events"], root=fields["root"]
        )
        if now != sealed:
            problems.append(cp.mismatch(fields["id"], sealed, now))
            for b in cp.name_chains(session=session, upto=fields["id"]):
                checker.fail(b["hazard_id"], b["hazard_seq"], b["reason"], checkpoint=fields["id"])
        _walk(session, checker, max_seq=fields["max_seq"])
    result = checker.result(checkpoint=fields["id"], hash=cp.line_hash(line), problems=problems)
    return {**result, "ok": result["ok"] and not problems}


def _public_canonical(doc: dict[str, Any]) -> bytes | None:
    try:
        return canonical_event(
            hazard_id=doc["hazard_id"],
            hazard_seq=doc["hazard_seq"],
            trigger=doc["trigger"],
            from_state=doc["from"],
            to_state=doc["to"],
            actor=doc["actor"],
            role=doc["role"],
            at=datetime.fromisoformat(doc["at"]),
            payload=canonical_json(doc["payload"]),
            workflow_name=doc["workflow"]["name"],
            workflow_version=doc["workflow"]["version"],
            prev_hash=doc["prev_hash"],
        )
    except (KeyError, TypeError, ValueError):
        return None


class _Reader:
    """The lines of an export file, decoded, with the SHA-256 of the bytes read so far; `mark`
    keeps the digest as it stands before the next line read (where a record starts)."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self.lines, self.digest, self.number = lines, hashlib.sha256(), 0
        self.marking, self.before = False, self.digest.copy()

    def mark(self) -> None:
        self.marking = True

    def __iter__(self) -> Iterator[str]:
        for raw in self.lines:
            if self.marking:
                self.before, self.marking = self.digest.copy(), False
            self.digest.update(raw)
            self.number += 1
            yield raw.decode("utf-8", "replace")


def _records(reader: _Reader, csv_file: bool) -> Iterator[tuple[int, Any]]:
    """(line number, record) of an export: a JSON document, or a CSV row as a public event (a
    trailer row as {"trailer": ...}); None when the line cannot be read."""
    if not csv_file:
        for line in reader:
            if line.strip():
                yield reader.number, _json_line(line)
            reader.mark()
        return
    rows = csv.reader(reader)
    next(rows, None)  # the header
    reader.mark()
    for row in rows:
        yield reader.number, _csv_record(row)
        reader.mark()


def _json_line(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _csv_record(row: list[str]) -> Any:
    if row and row[0] == export.TRAILER_LABEL:
        fields = dict(cell.partition("=")[::2] for cell in row[1:])
        return {"trailer": {"events": _int(fields.get("events")), "sha256": fields.get("sha256")}}
    keys = [key for _, key in export.CSV_COLUMNS]
    if len(row) != len(keys):
        return None
    doc: dict[str, Any] = dict(zip(keys, row, strict=True))
    try:
        for key in ("seq", "hazard_id", "hazard_seq"):
            doc[key] = int(doc[key])
        for key in ("from", "to", "payload", "workflow"):
            doc[key] = json.loads(doc[key]) if doc[key] else None
    except ValueError:
        return None
    return doc


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() else None


def _trailer(doc: Any) -> dict[str, Any] | None:
    if isinstance(doc, dict) and set(doc) == {"trailer"} and isinstance(doc["trailer"], dict):
        return doc["trailer"]
    return None


def verify_file(*, path: Path, limit: int = 1000) -> dict[str, Any]:
    """Check an export file (JSON Lines or CSV, told apart by the CSV header), without a
    database: its trailer (required: the event count and the SHA-256 of every byte before it,
    so a cut-short file is broken) and its chains. A chain whose first event in the file is not
    hazard_seq 1 is checked from that event's prev_hash."""
    checker = ChainChecker(limit)
    found: dict[str, Any] | None = None
    with path.open("rb") as lines:
        csv_file = lines.read(len(_CSV_START)) == _CSV_START
        lines.seek(0)
        reader = _Reader(iter(lines))
        for number, doc in _records(reader, csv_file):
            if found is not None:
                checker.fail(None, None, f"line {number} follows the trailer")
                continue
            if (trailer := _trailer(doc)) is not None:
                found = {**trailer, "line": number}
                _check_trailer(checker, trailer, reader.before.hexdigest())
                continue
            try:
                key = (int(doc["hazard_id"]), int(doc["hazard_seq"]))
                hashes = (str(doc["prev_hash"]), str(doc["hash"]))
            except (ValueError, KeyError, TypeError):
                checker.fail(None, None, f"line {number} is not an exported event")
                continue
            checker.feed(*key, *hashes, _public_canonical(doc), trust_start=True)
    if found is None:
        checker.fail(
            None,
            None,
            f"no trailer after {checker.events} events: the file is cut short or is not a "
            "whole export (export again)",
        )
    return checker.result(file=str(path), format="csv" if csv_file else "jsonl", trailer=found)


_CSV_START = export.csv_header().encode("utf-8")[:12]  # the BOM and "序号 seq"


def _check_trailer(checker: ChainChecker, trailer: dict[str, Any], digest: str) -> None:
    if trailer.get("events") != checker.events:
        checker.fail(
            None,
            None,
            f"the trailer counts {trailer.get('events')} events, the file holds "
            f"{checker.events}: lines were removed or added",
        )
    if trailer.get("sha256") != digest:
        checker.fail(
            None, None, "the trailer's sha256 does not match the file: it was changed or cut"
        )
