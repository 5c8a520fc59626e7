"""Checkpoints: a Merkle root over every chain head, chained to the previous checkpoint and printed
as one line an office can publish; checking them (or a published line) against the events.

Merkle tree: leaf = sha256(f"{hazard_id}:{hazard_seq}:{head_hash}"), leaves sorted by hazard_id,
node = sha256(left || right) over the raw 32-byte digests, an odd node carried up unchanged (the
RFC 6962 shape); the root of no leaves is sha256(b""). A checkpoint covers the events with
seq <= max_seq: each chain's head is its newest event among them.

With each checkpoint, in the same transaction, `checkpoint_heads` gets the heads of the chains
that moved since the previous checkpoint (written by the database from the events, one
INSERT … SELECT); the root alone detects a deleted or truncated chain, these rows name it. Their
size grows with the events, not with the checkpoints. Also in that transaction, the line goes
into the webhook outbox for subscribers of `checkpoint`, so a copy leaves the database.

Checkpoints are written on demand and by the scheduler (`write_due_checkpoint`): whenever events
were appended since the last one, at most once per `checkpoint_interval_seconds`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, and_, func, insert, literal, or_, select, text
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from rectify.audit.chain import GENESIS, format_at
from rectify.audit.models import Checkpoint, CheckpointHead, Event
from rectify.context import Context
from rectify.exceptions import InvalidInput
from rectify.notifications import service as notifications

EVENTS = Event.__table__.c  # type: ignore[attr-defined]
HEADS = CheckpointHead.__table__  # type: ignore[attr-defined]
LINE = re.compile(
    r"^rectify-checkpoint v1 #(?P<id>\d+) (?P<at>\S+) hazards=(?P<hazards>\d+) "
    r"events=(?P<events>\d+) max_seq=(?P<max_seq>\d+) root=(?P<root>[0-9a-f]{64}) "
    r"prev=(?P<prev>[0-9a-f]{64})$"
)


def leaf(hazard_id: int, hazard_seq: int, head_hash: str) -> bytes:
    """The leaf digest of one chain head."""
    return hashlib.sha256(f"{hazard_id}:{hazard_seq}:{head_hash}".encode()).digest()


class Merkle:
    """Pairwise SHA-256 over leaves added in order, in O(log n) memory."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.count = 0

    def add(self, digest: bytes) -> None:
        node, height = digest, 0
        while self._stack and self._stack[-1][0] == height:
            node = hashlib.sha256(self._stack.pop()[1] + node).digest()
            height += 1
        self._stack.append((height, node))
        self.count += 1

    def root(self) -> str:
        if not self._stack:
            return hashlib.sha256(b"").hexdigest()
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = hashlib.sha256(left + node).digest()
        return node.hex()


@dataclass(frozen=True)
class Coverage:
    """What the events with seq <= max_seq give now: chain count, event count, Merkle root."""

    hazards: int
    events: int
    root: str


def _heads(max_seq: int, since: int | None = None) -> Select[Any]:
    """(hazard_id, hazard_seq, hash) of each chain's newest event with seq <= max_seq (only
    chains with an event after `since`, when given)."""
    covered = EVENTS.seq <= max_seq
    newest = select(EVENTS.hazard_id, func.max(EVENTS.hazard_seq).label("top")).where(covered)
    if since is not None:
        moved = select(EVENTS.hazard_id).where(covered, EVENTS.seq > since).distinct()
        newest = newest.where(EVENTS.hazard_id.in_(moved))
    last = newest.group_by(EVENTS.hazard_id).subquery()
    return select(EVENTS.hazard_id, EVENTS.hazard_seq, EVENTS.hash).join(
        last, and_(EVENTS.hazard_id == last.c.hazard_id, EVENTS.hazard_seq == last.c.top)
    )


def heads(
    session: Session, max_seq: int, since: int | None = None
) -> Iterator[tuple[int, int, str]]:
    """The chain heads of `_heads`, by hazard, streamed."""
    stmt = _heads(max_seq, since).order_by(EVENTS.hazard_id)
    for row in session.connection().execute(stmt.execution_options(yield_per=5000)):
        yield row[0], row[1], row[2]


def coverage(session: Session, max_seq: int) -> Coverage:
    """Recompute a checkpoint's counts and root from the events as they are now."""
    tree = Merkle()
    for hazard_id, hazard_seq, head in heads(session, max_seq):
        tree.add(leaf(hazard_id, hazard_seq, head))
    count = select(func.count()).select_from(Event.__table__).where(EVENTS.seq <= max_seq)
    events = session.connection().execute(count).scalar_one()
    return Coverage(hazards=tree.count, events=events, root=tree.root())


def format_line(cp: Checkpoint) -> str:
    """The one printable line of a checkpoint; its hash is sha256 of this text."""
    return (
        f"rectify-checkpoint v1 #{cp.id} {format_at(cp.at)} hazards={cp.hazards} "
        f"events={cp.events} max_seq={cp.max_seq} root={cp.merkle_root} prev={cp.prev_hash}"
    )


def line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def write_checkpoint(*, ctx: Context, actor: str) -> Checkpoint:
    """Seal every chain head now: a new checkpoint row (and its heads), chained to the last."""
    with ctx.db.write() as session:
        _hold_appends(ctx, session)
        return _write(ctx, session, actor, _latest(session), _max_seq(session))


def write_due_checkpoint(*, ctx: Context, actor: str, interval: timedelta) -> Checkpoint | None:
    """The scheduler's checkpoint: written when events were appended since the last checkpoint
    and `interval` has passed since it, else None. Decided again under the write lock, so of
    several processes only one writes one for the same events."""
    with ctx.db.session() as session:  # a cheap look first, without holding appends off
        if not _due(ctx.now(), _latest(session), _max_seq(session), interval):
            return None
    with ctx.db.write() as session:
        _hold_appends(ctx, session)
        prev, max_seq = _latest(session), _max_seq(session)
        if not _due(ctx.now(), prev, max_seq, interval):
            return None  # another process wrote it meanwhile
        return _write(ctx, session, actor, prev, max_seq)


def _due(now: datetime, prev: Checkpoint | None, max_seq: int, interval: timedelta) -> bool:
    if prev is None:
        return max_seq > 0
    if max_seq <= prev.max_seq:
        return False  # nothing appended since
    elapsed = now - prev.at
    return elapsed >= interval or elapsed < -interval  # (or the clock was set far back)


def _hold_appends(ctx: Context, session: Session) -> None:
    if not ctx.db.is_sqlite:
        # Wait for in-flight appends and hold new ones off, so max_seq covers a settled set.
        # The mode conflicts with itself: checkpoint writers also take turns here.
        session.execute(text("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE"))


def _latest(session: Session) -> Checkpoint | None:
    return session.exec(sm_select(Checkpoint).order_by(col(Checkpoint.id).desc()).limit(1)).first()


def _max_seq(session: Session) -> int:
    return session.connection().execute(select(func.max(EVENTS.seq))).scalar_one() or 0


def _write(
    ctx: Context, session: Session, actor: str, prev: Checkpoint | None, max_seq: int
) -> Checkpoint:
    """The new checkpoint over the events up to `max_seq`, its heads and its outbox entries."""
    cov = coverage(session, max_seq)
    row = Checkpoint(
        at=ctx.now(),
        merkle_root=cov.root,
        hazards=cov.hazards,
        events=cov.events,
        max_seq=max_seq,
        prev_hash=prev.hash if prev else GENESIS,
        hash="",
        line="",
        created_by=actor,
    )
    session.add(row)
    session.flush()
    row.line = format_line(row)
    row.hash = line_hash(row.line)
    session.add(row)
    since = prev.max_seq if prev and prev.max_seq <= max_seq else None
    _seal_heads(session, row.id or 0, max_seq, since)
    notifications.enqueue_checkpoint(session=session, checkpoint=to_public(row), at=row.at)
    return row


def _seal_heads(session: Session, checkpoint_id: int, max_seq: int, since: int | None) -> None:
    """Record the heads of the chains that moved since `since` (all when None), in SQL."""
    moved = _heads(max_seq, since).subquery()
    rows = select(
        literal(checkpoint_id, Integer), moved.c.hazard_id, moved.c.hazard_seq, moved.c.hash
    )
    columns = ["checkpoint_id", "hazard_id", "hazard_seq", "head_hash"]
    session.connection().execute(insert(HEADS).from_select(columns, rows))


def sealed_heads(*, session: Session, checkpoint_id: int) -> list[tuple[int, int, str]]:
    """(hazard_id, hazard_seq, head_hash) recorded with one checkpoint: the chains that moved."""
    stmt = (
        select(HEADS.c.hazard_id, HEADS.c.hazard_seq, HEADS.c.head_hash)
        .where(HEADS.c.checkpoint_id == checkpoint_id)
        .order_by(HEADS.c.hazard_id)
    )
    return [(r[0], r[1], r[2]) for r in session.connection().execute(stmt)]


def list_checkpoints(*, session: Session, limit: int = 100, offset: int = 0) -> list[Checkpoint]:
    """Checkpoints, newest first."""
    stmt = sm_select(Checkpoint).order_by(col(Checkpoint.id).desc()).limit(limit).offset(offset)
    return list(session.exec(stmt))


def to_public(cp: Checkpoint) -> dict[str, Any]:
    """A checkpoint as the API shows it."""
    return {**cp.model_dump(exclude={"at"}), "at": format_at(cp.at)}


def name_chains(*, session: Session, upto: int) -> list[dict[str, Any]]:
    """Chains whose head sealed by a checkpoint <= `upto` is gone or changed, by hazard (the
    latest such checkpoint for each); the database compares heads and events."""
    h = HEADS.c
    found = and_(EVENTS.hazard_id == h.hazard_id, EVENTS.hazard_seq == h.hazard_seq)
    stmt = (
        select(h.checkpoint_id, h.hazard_id, h.hazard_seq, h.head_hash, EVENTS.hash)
        .select_from(HEADS.outerjoin(Event.__table__, found))
        .where(h.checkpoint_id <= upto, or_(EVENTS.hash.is_(None), EVENTS.hash != h.head_hash))
        .order_by(h.checkpoint_id, h.hazard_id)
    )
    named: dict[int, dict[str, Any]] = {}
    for number, hazard_id, hazard_seq, head, now in session.connection().execute(stmt):
        what = "is gone: the chain was truncated or deleted" if now is None else "was rewritten"
        named[hazard_id] = {
            "hazard_id": hazard_id,
            "hazard_seq": hazard_seq,
            "checkpoint": number,
            "reason": f"checkpoint #{number} sealed hazard_seq {hazard_seq} as this chain's "
            f"head (hash {head[:16]}…); that event {what}",
        }
    return [named[k] for k in sorted(named)]


def parse_line(line: str) -> dict[str, Any]:
    """The fields of a published checkpoint line, or InvalidInput."""
    m = LINE.match(line.strip())
    if m is None:
        raise InvalidInput.fields(
            [{"field": "line", "message": "not a rectify-checkpoint v1 line (copy it whole)"}]
        )
    out: dict[str, Any] = m.groupdict()
    for key in ("id", "hazards", "events", "max_seq"):
        out[key] = int(out[key])
    out["at"] = datetime.fromisoformat(out["at"])
    return out


def mismatch(number: int, sealed: Coverage, now: Coverage) -> str:
    """Why a checkpoint's coverage no longer holds, in words."""
    return (
        f"checkpoint #{number} sealed {sealed.hazards} chains / {sealed.events} events "
        f"(root {sealed.root[:16]}…); the events now give {now.hazards} chains / {now.events} "
        f"events (root {now.root[:16]}…): chains were deleted, truncated or rewritten"
    )


def verify_checkpoints(*, ctx: Context, session: Session) -> tuple[int, list[dict[str, Any]]]:
    """Check every checkpoint: its line and hash, the prev links, and what it sealed."""
    broken: list[dict[str, Any]] = []
    prev_hash, prev_key, checked, last_bad = GENESIS, None, 0, 0

    def fail(cp: Checkpoint, reason: str) -> None:
        entry = {"hazard_id": None, "hazard_seq": None, "checkpoint": cp.id}
        broken.append({**entry, "reason": reason})

    stmt = sm_select(Checkpoint).order_by(col(Checkpoint.id))
    for cp in session.exec(stmt.execution_options(yield_per=200)):
        checked += 1
        if cp.prev_hash != prev_hash:
            fail(cp, f"checkpoint #{cp.id}: prev {cp.prev_hash[:16]}… is not the previous hash")
        if cp.line != format_line(cp) or cp.hash != line_hash(cp.line):
            fail(cp, f"checkpoint #{cp.id}: its line or hash does not match its fields")
        sealed = Coverage(hazards=cp.hazards, events=cp.events, root=cp.merkle_root)
        key = (cp.max_seq, sealed)
        if key != prev_key:  # periodic checkpoints with nothing new need no second look
            now = coverage(session, cp.max_seq)
            if now != sealed:
                fail(cp, mismatch(cp.id or 0, sealed, now))
                last_bad = cp.id or 0
        prev_hash, prev_key = cp.hash, key
    if last_bad:
        broken += name_chains(session=session, upto=last_bad)
    return checked, broken
