"""Chain verification over the database: each event's hash recomputed, prev links, gapless
hazard_seq, each hazard's head and version, and every checkpoint (an export file is checked by
`audit.offline`).

Over the database the events are read with a plain DB-API cursor and hashed from their stored text
(see `_walk`): reading them costs more than hashing them, so nothing else is built per event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack, closing
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from rectify.audit import checkpoints as cp
from rectify.audit.chain import GENESIS, ChainWalker, Encoder, canonical_json
from rectify.audit.checkpoints import verify_checkpoints
from rectify.audit.models import Checkpoint, Event
from rectify.context import Context
from rectify.database.dialect import Dialect

EVENTS = Event.__table__.c  # type: ignore[attr-defined]


def _snapshot(ctx: Context, session: Session) -> None:
    # One snapshot for every query of the run: a concurrent append must not look like a break.
    if not ctx.db.is_sqlite:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _raw_events(session: Session, max_seq: int | None, hazard_id: int | None = None) -> Any:
    """A streamed cursor over every event in chain order (up to `max_seq` if given; one
    hazard's if `hazard_id` is given): hazard_id, hazard_seq and the version as numbers,
    everything else as its stored UTF-8 bytes, the time as 'YYYY-MM-DD HH:MM:SS.ffffff' on both
    databases."""
    d = dialect_of(session)
    columns = ", ".join(
        [
            "hazard_id",
            "hazard_seq",
            d.as_bytes("trigger"),
            d.json_as_bytes("from_state"),
            d.json_as_bytes("to_state"),
            d.as_bytes("actor"),
            "actor_id",
            d.as_bytes("role"),
            d.time_as_bytes("at"),
            d.as_bytes("payload"),
            d.as_bytes("workflow_name"),
            "workflow_version",
            d.as_bytes("prev_hash"),
            d.as_bytes("hash"),
        ]
    )
    conditions, params = [], []
    if max_seq is not None:
        conditions.append("seq <= ?")
        params.append(max_seq)
    if hazard_id is not None:
        conditions.append("hazard_id = ?")
        params.append(hazard_id)
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    sql = f"SELECT {columns} FROM events {where}ORDER BY hazard_id, hazard_seq"
    return d.raw_cursor(session.connection(), "verify_events", sql, tuple(params))


def _raw_hazards(session: Session, hazard_id: int | None = None) -> Any:
    """A cursor over (id, version, head_hash as bytes) of every hazard (or of one), by id."""
    d = dialect_of(session)
    where, params = ("WHERE id = ? ", (hazard_id,)) if hazard_id is not None else ("", ())
    sql = f"SELECT id, version, {d.as_bytes('head_hash')} FROM hazards {where}ORDER BY id"
    return d.raw_cursor(session.connection(), "verify_hazards", sql, params)


def dialect_of(session: Session) -> Dialect:
    """The backend differences of the session's database."""
    return Dialect(session.get_bind().dialect.name)


def _exact(session: Session, hazard_id: Any, hazard_seq: Any, stored: bytes) -> bytes | None:
    """The hash of one event the fast path refused, recomputed from its typed row with its
    payload parsed and dumped again: a valid but not canonically stored payload still counts
    (None when its content cannot be read)."""
    stmt = select(Event.__table__).where(
        EVENTS.hazard_id == hazard_id, EVENTS.hazard_seq == hazard_seq
    )
    try:
        rows = session.connection().execute(stmt).all()
    except (ValueError, TypeError):  # a column the types cannot read (time, JSON)
        return None
    # (hazard_id, hazard_seq) is unique; should that ever not hold, take the row walked.
    row = next((r for r in rows if r.hash.encode() == stored), rows[0] if rows else None)
    if row is None:
        return None
    try:
        recomputed = _ENCODER.hash(
            hazard_id=row.hazard_id,
            hazard_seq=row.hazard_seq,
            trigger=row.trigger,
            from_state=row.from_state,
            to_state=row.to_state,
            actor=row.actor,
            actor_id=row.actor_id,
            role=row.role,
            at=row.at,
            payload=canonical_json(json.loads(row.payload)),
            workflow_name=row.workflow_name,
            workflow_version=row.workflow_version,
            prev_hash=row.prev_hash,
        )
    except (ValueError, TypeError, AttributeError):
        return None
    return None if recomputed is None else recomputed.encode()


_ENCODER = Encoder()


def _walk(
    session: Session,
    walker: ChainWalker,
    max_seq: int | None = None,
    hazard_id: int | None = None,
) -> None:
    """Feed every chain (or one hazard's) to the walker; without `max_seq`, also match each
    hazard row's version and head to its chain's end, and name hazard rows whose chain has no
    events.

    Each event's hash is recomputed from its stored bytes (the Encoder's pieces, cached by the
    stored text of the fields few events differ in, with the stored payload text spliced in);
    an event whose bytes do not give its hash gets a second chance from its typed row (`_exact`)
    before the walker calls it a break."""
    with ExitStack() as stack:
        heads = None
        if max_seq is None:
            rows = stack.enter_context(closing(_raw_hazards(session, hazard_id)))
            heads = _Heads(iter(rows), walker)
        events = stack.enter_context(closing(_raw_events(session, max_seq, hazard_id)))
        _check_all(session, walker, events, heads)


class _Heads:
    """The hazard rows (id, version, head_hash as bytes), walked beside the chains (both
    ordered by hazard id)."""

    def __init__(self, rows: Iterator[Any], walker: ChainWalker) -> None:
        self.rows, self.walker, self.pending = rows, walker, next(rows, None)

    def take(self, hazard_id: int | None) -> Any:
        """The row of `hazard_id`; rows before it are hazards whose chain is gone."""
        while self.pending is not None and (hazard_id is None or self.pending[0] < hazard_id):
            row, self.pending = self.pending, next(self.rows, None)
            self.walker.missing(row[0], row[1])
        if self.pending is not None and self.pending[0] == hazard_id:
            row, self.pending = self.pending, next(self.rows, None)
            return row
        return None


def _check_all(session: Session, walker: ChainWalker, events: Any, heads: _Heads | None) -> None:
    """The loop of `_walk` over the event rows (and, when given, the hazard rows)."""
    # Bound once: this loop runs once per event and is where verify spends its time.
    pieces, spliced, sha, feed = _ENCODER.pieces, Encoder.spliced, hashlib.sha256, walker.feed
    genesis, current, row = GENESIS.encode(), None, None
    for event in events:
        hid, seq, trig, frm, to, actor, actor_id, role, at, payload, name, ver, prev, stored = event
        if hid != current:
            if current is not None and heads is not None:
                _end(walker, row)
            row = heads.take(hid) if heads is not None else None
            current = hid
            walker.start(hid, genesis)
        recomputed = None
        parts = pieces(trig, frm, to, actor, actor_id, role, name, ver)
        try:
            # The time as stored, "YYYY-MM-DD HH:MM:SS.ffffff", is format_at's but for T and Z.
            if parts is not None and at[10] == 32 and len(at) == 26:
                at = at.replace(b" ", b"T", 1)
                data = spliced(
                    parts, at=at, hazard_id=hid, hazard_seq=seq, payload=payload, prev_hash=prev
                )
                recomputed = sha(data).hexdigest().encode()
        except (TypeError, IndexError):  # NULL or short time, a seq that is not an integer
            pass
        if recomputed != stored:
            recomputed = _exact(session, hid, seq, stored)
        feed(seq, prev, stored, recomputed)
    if current is not None and heads is not None:
        _end(walker, row)
    if heads is not None:
        heads.take(None)


def _end(walker: ChainWalker, row: Any) -> None:
    """Match the hazard row's version and head to the chain's end."""
    walker.end(None if row is None else row[1], None if row is None else row[2])


def verify(*, ctx: Context, limit: int = 1000) -> dict[str, Any]:
    """Check every chain and every checkpoint, streaming the events; constant memory."""
    walker = ChainWalker(limit)
    with ctx.db.session() as session:
        _snapshot(ctx, session)
        _walk(session, walker)
        checked, broken = verify_checkpoints(ctx=ctx, session=session)
    for b in broken:
        walker.fail(b["hazard_id"], b["hazard_seq"], b["reason"], checkpoint=b["checkpoint"])
    return walker.result(checkpoints_checked=checked)


def hazard_chain(*, ctx: Context, hazard_id: int, limit: int = 100_000) -> dict[str, Any]:
    """One hazard's chain checked exactly as `verify` checks every chain (the same walk: each
    event's hash, its link and gapless hazard_seq, the hazard row's version and head), without
    the checkpoints: `verify`'s result for that chain alone. Scope is the caller's business."""
    walker = ChainWalker(limit)
    with ctx.db.session() as session:
        _snapshot(ctx, session)
        _walk(session, walker, hazard_id=hazard_id)
    return walker.result()


def check_line(*, ctx: Context, line: str, limit: int = 1000) -> dict[str, Any]:
    """Check a published checkpoint line against the database: its checkpoint row, the heads it
    sealed (deleted or truncated chains named from the recorded heads) and the chains up to
    them."""
    fields = cp.parse_line(line)
    line = line.strip()
    problems: list[str] = []
    walker = ChainWalker(limit)
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
                walker.fail(b["hazard_id"], b["hazard_seq"], b["reason"], checkpoint=fields["id"])
        _walk(session, walker, max_seq=fields["max_seq"])
    result = walker.result(checkpoint=fields["id"], hash=cp.line_hash(line), problems=problems)
    return {**result, "ok": result["ok"] and not problems}
