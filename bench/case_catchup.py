"""catchup: timers fired per second when a backlog falls due at once (after an outage).

rectify: N assigned hazards (seeded with bench/seed.py: rows exactly as report + assign leave
them) whose plan-due timers are all past due on the injected clock; `rectify.timers.engine.
catch_up(ctx=ctx, limit=settings.timer_batch)` fires them all: each one through the hazard
service as `system:scheduler` (state check, `plan_overdue` event hashed into the chain, outbox)
and marked fired in its batch's commit. SQLite WAL, synchronous=FULL.

ceiling: the same rows written with the least work that still leaves a valid database, on a
copy of the same seeded file with the same pragmas: per batch of the same size, one BEGIN
IMMEDIATE, the same claim query, then executemany `UPDATE timers SET fired_at, outcome`,
executemany `INSERT INTO events` (canonical JSON + SHA-256 link, as rectify.audit.chain) and
executemany `UPDATE hazards SET version, head_hash, updated_at`, one COMMIT. No ORM, no
workflow, no guards: what batching alone can reach on this disk, so the ratio says how much of
it the engine's per-timer service path costs.

Goal: rectify's rate at least 0.5x the ceiling's (issue 11).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import (
    REGION,
    Options,
    Side,
    add_enterprise,
    durable_sqlite,
    fresh_dir,
    goal,
    in_turn,
    new_context,
    profiled,
    result,
    scratch,
    timed,
)
from seed import seed_assigned_raw

from rectify.audit.chain import canonical_event, canonical_json, format_at
from rectify.audit.verify import verify
from rectify.timers.engine import catch_up

NAME = "catchup"
FULL = 100_000
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1, minutes=1)  # every plan-due timer (P1D) is due; nothing else is


def _sqlite_dt(value: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it on SQLite (naive, microseconds)."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def seed(template: Path, count: int) -> int:
    ctx = new_context(template, clock=lambda: T0)
    firm = add_enterprise(ctx)
    seed_assigned_raw(ctx, enterprise_id=firm, region_code=REGION, count=count, at=T0)
    batch = ctx.settings.timer_batch
    ctx.db.dispose()
    conn = sqlite3.connect(template / "rectify.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return batch


def copy_of(template: Path, where: Path) -> Path:
    shutil.copy(template / "rectify.db", where / "rectify.db")
    return where


def fired(path: Path) -> int:
    conn = sqlite3.connect(path / "rectify.db")
    try:
        return conn.execute("SELECT count(*) FROM timers WHERE fired_at IS NOT NULL").fetchone()[0]
    finally:
        conn.close()


def rectify_side(opts: Options, where: Path, limit: int) -> tuple[float, int]:
    ctx = new_context(where, clock=lambda: NOW)
    try:
        with profiled(opts, NAME):
            seconds, _ = timed(lambda: catch_up(ctx=ctx, limit=limit))
    finally:
        ctx.db.dispose()
    return seconds, fired(where)


CLAIM = """
SELECT t.id, t.hazard_id, t.kind, t.due_at, h.version, h.head_hash, h.state, h.supervision,
       h.production, h.judicial, h.workflow_name, h.workflow_version
FROM timers t JOIN hazards h ON h.id = t.hazard_id
WHERE t.due_at <= ? AND t.fired_at IS NULL AND t.cancelled_at IS NULL
ORDER BY t.due_at, t.id LIMIT ?
"""
INSERT_EVENT = """
INSERT INTO events (hazard_id, hazard_seq, trigger, from_state, to_state, actor, role, at,
                    payload, workflow_name, workflow_version, prev_hash, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def ceiling_side(where: Path, limit: int) -> tuple[float, int]:
    conn = durable_sqlite(where / "rectify.db")
    now_db, now_at = _sqlite_dt(NOW), format_at(NOW)

    def sweep() -> None:
        while True:
            conn.execute("BEGIN IMMEDIATE")
            rows = conn.execute(CLAIM, (now_db, limit)).fetchall()
            if not rows:
                conn.execute("COMMIT")
                return
            timers, events, heads = [], [], []
            for tid, hid, kind, due_at, version, head, *state, wf_name, wf_version in rows:
                regions = dict(
                    zip(("state", "supervision", "production", "judicial"), state, strict=True)
                )
                payload = canonical_json(
                    {
                        "timer_id": tid,
                        "timer": kind,
                        "due_at": format_at(_parse(due_at)),
                        "fired_at": now_at,
                    }
                )
                fields = dict(
                    hazard_id=hid,
                    hazard_seq=version + 1,
                    trigger="plan_overdue",
                    from_state=regions,
                    to_state=regions,
                    actor="system:scheduler",
                    role="system",
                    at=NOW,
                    payload=payload,
                    workflow_name=wf_name,
                    workflow_version=wf_version,
                    prev_hash=head,
                )
                digest = hashlib.sha256(head.encode() + canonical_event(**fields)).hexdigest()
                state_json = json.dumps(regions)
                events.append(
                    (hid, version + 1, "plan_overdue", state_json, state_json, "system:scheduler")
                    + ("system", now_db, payload, wf_name, wf_version, head, digest)
                )
                timers.append((now_db, "fired", tid))
                heads.append((version + 1, digest, now_db, hid))
            conn.executemany("UPDATE timers SET fired_at = ?, outcome = ? WHERE id = ?", timers)
            conn.executemany(INSERT_EVENT, events)
            conn.executemany(
                "UPDATE hazards SET version = ?, head_hash = ?, updated_at = ? WHERE id = ?", heads
            )
            conn.execute("COMMIT")

    try:
        seconds, _ = timed(sweep)
    finally:
        conn.close()
    return seconds, fired(where)


def run(opts: Options) -> dict:
    count = opts.size(FULL)
    ours = Side("rectify catch_up (service path per timer)", "timers/s")
    ceiling = Side("raw batched sqlite3 writes of the same rows", "timers/s")
    notes: list[str] = []
    with scratch(NAME) as tmp:
        template = fresh_dir(tmp, "template")
        seed_s, limit = timed(lambda: seed(template, count))
        print(f"  seeded {count:,} hazards with due timers in {seed_s:.1f} s", flush=True)
        for r in range(opts.rounds):
            order = in_turn(r, "rectify", "ceiling")
            for which in order:
                where = copy_of(template, fresh_dir(tmp, f"{which}-{r}"))
                if which == "rectify":
                    seconds, n = rectify_side(opts, where, limit)
                    side = ours
                else:
                    seconds, n = ceiling_side(where, limit)
                    side = ceiling
                assert n == count, f"{which} fired {n} of {count} timers"
                side.samples.append(n / seconds)
                print(f"  round {r + 1}: {which} {n / seconds:,.0f} timers/s", flush=True)
                if opts.quick and r == 0:  # both sides leave a chain that verifies
                    vctx = new_context(where)
                    report = verify(ctx=vctx)
                    vctx.db.dispose()
                    assert report["ok"], (which, report["broken"][:3])
                shutil.rmtree(where, ignore_errors=True)
    notes.append(
        f"batch size {limit} (settings.timer_batch) on both sides; every timer is a plan-due "
        "timer (plan_overdue event)"
    )
    return result(
        name=NAME,
        compares="due timers fired per second in a catch-up: rectify engine vs raw batched SQL",
        opts=opts,
        rectify=ours,
        peer=ceiling,
        goals=[
            goal("rectify / raw batched writes rate", ours.median / ceiling.median, ">=", 0.5, "x"),
        ],
        size={"timers": count, "batch": limit, "seed_s": round(seed_s, 1)},
        notes=notes,
        extra={"ms_per_timer": round(1000 / ours.median, 3)},
    )
