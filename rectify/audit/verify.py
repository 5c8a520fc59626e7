"""Chain verification: each event's hash recomputed, prev links, gapless hazard_seq, the hazard's
head and version, and every checkpoint; over the database (streamed) or an exported .jsonl file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from rectify.audit import checkpoints as cp
from rectify.audit.chain import GENESIS, canonical_event, canonical_json, link
from rectify.audit.checkpoints import verify_checkpoints
from rectify.audit.models import Checkpoint, Event
from rectify.context import Context
from rectify.hazards.models import Hazard

EVENTS = Event.__table__.c  # type: ignore[attr-defined]
HAZARDS = Hazard.__table__.c  # type: ignore[attr-defined]
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
    """The hashed bytes of an event row (None when its content cannot be read)."""
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
            payload=row.payload,
            workflow_name=row.workflow_name,
            workflow_version=row.workflow_version,
            prev_hash=row.prev_hash,
        )
    except (ValueError, TypeError, AttributeError):
        return None


def _stream(session: Session, stmt: Any) -> Iterator[Any]:
    yield from session.connection().execute(stmt.execution_options(yield_per=BATCH))


def _snapshot(ctx: Context, session: Session) -> None:
    # One snapshot for every query of the run: a concurrent append must not look like a break.
    if not ctx.db.is_sqlite:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


class _Heads:
    """The hazard rows, walked beside the chains (both ordered by hazard id)."""

    def __init__(self, rows: Iterator[Any], checker: ChainChecker) -> None:
        self.rows, self.checker, self.pending = rows, checker, next(rows, None)

    def take(self, hazard_id: int | None) -> Any:
        """The row of `hazard_id`; rows before it are hazards whose chain is gone."""
        while self.pending is not None and (hazard_id is None or self.pending.id < hazard_id):
            row, self.pending = self.pending, next(self.rows, None)
            self.checker.chains += 1
            gone = f"no events: the hazard's chain of {row.version} events is gone"
            self.checker.fail(row.id, 1, gone)
        if self.pending is not None and self.pending.id == hazard_id:
            row, self.pending = self.pending, next(self.rows, None)
            return row
        return None


def _close_chain(checker: ChainChecker, row: Any) -> None:
    hid, last, head = checker.hazard_id, checker.seq, checker.hash
    if row is None:
        checker.fail(hid, last, "events of a hazard that has no row")
    elif row.version != last or row.head_hash != head:
        seq = last + 1 if row.version > last else last
        checker.fail(
            hid,
            seq,
            f"the hazard is at version {row.version}, head {row.head_hash[:16]}…; its chain "
            f"ends at hazard_seq {last}, hash {head[:16]}… (newest events deleted or altered)",
        )


def _walk(session: Session, checker: ChainChecker, max_seq: int | None = None) -> None:
    """Feed every chain to the checker; without `max_seq`, also match each hazard row's head."""
    events = select(Event.__table__).order_by(EVENTS.hazard_id, EVENTS.hazard_seq)
    if max_seq is not None:
        events = events.where(EVENTS.seq <= max_seq)
    else:
        hazards = select(HAZARDS.id, HAZARDS.version, HAZARDS.head_hash).order_by(HAZARDS.id)
        walk = _Heads(_stream(session, hazards), checker)
    row: Any = None
    for ev in _stream(session, events):
        if ev.hazard_id != checker.hazard_id and max_seq is None:
            if checker.hazard_id is not None:
                _close_chain(checker, row)
            row = walk.take(ev.hazard_id)
        checker.feed(ev.hazard_id, ev.hazard_seq, ev.prev_hash, ev.hash, canonical_of(ev))
    if max_seq is None:
        if checker.hazard_id is not None:
            _close_chain(checker, row)
        walk.take(None)


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
    sealed (deleted or truncated chains named where heads files allow) and the chains up to them."""
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
            for b in cp.name_chains(ctx=ctx, session=session, upto=fields["id"], published=line):
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


def verify_file(*, path: Path, limit: int = 1000) -> dict[str, Any]:
    """Check the chains in an exported JSON Lines file, without a database. A chain whose first
    event in the file is not hazard_seq 1 is checked from that event's prev_hash."""
    checker = ChainChecker(limit)
    with path.open(encoding="utf-8") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
                key = (int(doc["hazard_id"]), int(doc["hazard_seq"]))
                hashes = (str(doc["prev_hash"]), str(doc["hash"]))
            except (ValueError, KeyError, TypeError):
                checker.fail(None, None, f"line {number} is not an exported event")
                continue
            canonical = _public_canonical(doc)
            checker.feed(*key, *hashes, canonical, trust_start=True)
    return checker.result(file=str(path))
