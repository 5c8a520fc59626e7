"""Checkpoints: a Merkle root over every chain head, chained to the previous checkpoint and printed
as one line an office can publish; checking them (or a published line) against the events.

Merkle tree: leaf = sha256(f"{hazard_id}:{hazard_seq}:{head_hash}"), leaves sorted by hazard_id,
node = sha256(left || right) over the raw 32-byte digests, an odd node carried up unchanged (the
RFC 6962 shape); the root of no leaves is sha256(b""). A checkpoint covers the events with
seq <= max_seq: each chain's head is its newest event among them.

Beside each checkpoint a heads file (data_dir/checkpoints/NNNNNNNN.heads) lists the heads of the
chains that moved since the previous checkpoint; the root alone detects a deleted or truncated
chain, the heads files name it. Disk use grows with the events, not with the checkpoints.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select, text, tuple_
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from rectify.audit.chain import GENESIS, format_at
from rectify.audit.models import Checkpoint, Event
from rectify.context import Context
from rectify.exceptions import InvalidInput

EVENTS = Event.__table__.c  # type: ignore[attr-defined]
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


def heads(
    session: Session, max_seq: int, since: int | None = None
) -> Iterator[tuple[int, int, str]]:
    """(hazard_id, hazard_seq, hash) of each chain's newest event with seq <= max_seq, by hazard
    (only chains with an event after `since`, when given), streamed."""
    covered = EVENTS.seq <= max_seq
    newest = select(EVENTS.hazard_id, func.max(EVENTS.hazard_seq).label("top")).where(covered)
    if since is not None:
        moved = select(EVENTS.hazard_id).where(covered, EVENTS.seq > since).distinct()
        newest = newest.where(EVENTS.hazard_id.in_(moved))
    last = newest.group_by(EVENTS.hazard_id).subquery()
    stmt = (
        select(EVENTS.hazard_id, EVENTS.hazard_seq, EVENTS.hash)
        .join(last, and_(EVENTS.hazard_id == last.c.hazard_id, EVENTS.hazard_seq == last.c.top))
        .order_by(EVENTS.hazard_id)
    )
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


def heads_path(ctx: Context, checkpoint_id: int) -> Path:
    return ctx.settings.data_dir / "checkpoints" / f"{checkpoint_id:08d}.heads"


def write_checkpoint(*, ctx: Context, actor: str) -> Checkpoint:
    """Seal every chain head now: a new checkpoint row (and its heads file), chained to the last."""
    with ctx.db.write() as session:
        if not ctx.db.is_sqlite:
            # Wait for in-flight appends and hold new ones off, so max_seq covers a settled set.
            session.execute(text("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE"))
        prev = session.exec(
            sm_select(Checkpoint).order_by(col(Checkpoint.id).desc()).limit(1)
        ).first()
        max_seq = session.connection().execute(select(func.max(EVENTS.seq))).scalar_one() or 0
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
        _write_heads(heads_path(ctx, row.id or 0), row.line, heads(session, max_seq, since))
        return row


def _write_heads(path: Path, line: str, rows: Iterable[tuple[int, int, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write(line + "\n")
        for hazard_id, hazard_seq, head in rows:
            out.write(f"{hazard_id}:{hazard_seq}:{head}\n")
    tmp.replace(path)


def list_checkpoints(*, session: Session, limit: int = 100, offset: int = 0) -> list[Checkpoint]:
    """Checkpoints, newest first."""
    stmt = sm_select(Checkpoint).order_by(col(Checkpoint.id).desc()).limit(limit).offset(offset)
    return list(session.exec(stmt))


def to_public(cp: Checkpoint) -> dict[str, Any]:
    """A checkpoint as the API shows it."""
    return {**cp.model_dump(exclude={"at"}), "at": format_at(cp.at)}


def name_chains(
    *, ctx: Context, session: Session, upto: int, published: str | None = None
) -> list[dict[str, Any]]:
    """Chains whose head sealed by a checkpoint <= `upto` is gone or changed (from heads files);
    a file counts when its first line is its checkpoint's line (or the `published` one)."""
    named: dict[int, dict[str, Any]] = {}
    for path in sorted(heads_path(ctx, 0).parent.glob("*.heads")):
        number = int(path.stem)
        if number > upto:
            break
        with path.open(encoding="utf-8") as rows:
            row = session.get(Checkpoint, number)
            lines = {row.line if row else None, published if number == upto else None}
            if rows.readline().strip() not in lines - {None}:
                continue  # a file of a checkpoint that never committed, or of another database
            batch: list[tuple[int, int, str]] = []
            for raw in rows:
                hazard_id, hazard_seq, head = raw.strip().split(":")
                batch.append((int(hazard_id), int(hazard_seq), head))
                if len(batch) >= 500:
                    _check_batch(session, number, batch, named)
                    batch = []
            _check_batch(session, number, batch, named)
    return [named[k] for k in sorted(named)]


def _check_batch(
    session: Session,
    number: int,
    batch: list[tuple[int, int, str]],
    named: dict[int, dict[str, Any]],
) -> None:
    if not batch:
        return
    keys = [(h, s) for h, s, _ in batch]
    stmt = select(EVENTS.hazard_id, EVENTS.hazard_seq, EVENTS.hash).where(
        tuple_(EVENTS.hazard_id, EVENTS.hazard_seq).in_(keys)
    )
    found = {(r[0], r[1]): r[2] for r in session.connection().execute(stmt)}
    for hazard_id, hazard_seq, head in batch:
        now = found.get((hazard_id, hazard_seq))
        if now == head:
            continue
        what = "is gone: the chain was truncated or deleted" if now is None else "was rewritten"
        named[hazard_id] = {
            "hazard_id": hazard_id,
            "hazard_seq": hazard_seq,
            "checkpoint": number,
            "reason": f"checkpoint #{number} sealed hazard_seq {hazard_seq} as this chain's "
            f"head (hash {head[:16]}…); that event {what}",
        }


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
        broken += name_chains(ctx=ctx, session=session, upto=last_bad)
    return checked, broken
