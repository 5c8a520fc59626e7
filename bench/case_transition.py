"""transition: one trigger applied in-process against a raw sqlite3 transaction writing the same
rows.

rectify: `hazards.service.transition(report_progress)` called in a loop (one caller, no HTTP)
on a pool of rectifying hazards: through the group-commit writer, in its own transaction,
authorised, checked by the workflow, its payload validated, the event hashed into the chain,
the hazard's version and head moved, the hazard's view read back and returned. SQLite WAL,
synchronous=FULL.

ceiling: on a copy of the same seeded file with the same pragmas, per transition one stdlib
sqlite3 transaction writing the same rows: BEGIN IMMEDIATE, SELECT the hazard's version, head
and state, INSERT the event (canonical JSON + SHA-256 link, as rectify.audit.chain: the chain
verifies), UPDATE the hazard's version, head_hash and updated_at, COMMIT. No checks, no view:
what one durable commit of these rows costs on this disk, so the ratio says how much of a
transition is the disk and how much is Python.

Goal: rectify's rate at least 0.4x the ceiling's.
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

from rectify.audit.chain import canonical_event, canonical_json
from rectify.audit.verify import verify
from rectify.auth.scope import Caller
from rectify.hazards import service

NAME = "transition"
FULL = 10_000  # transitions per side and round
POOL = 200
T0 = datetime.now(UTC).replace(microsecond=0)
PLAN = {
    "measures": "整改",
    "responsible_person": "李",
    "deadline": (T0 + timedelta(days=60)).isoformat(),
}
PAYLOAD = {"note": "bench", "percent": 50}
ACTOR, ROLE = "enterprise:bench", "enterprise"


def seed(template: Path) -> tuple[range, int]:
    """A pool of rectifying hazards (seeded assigned, accepted through the service)."""
    ctx = new_context(template)
    firm = add_enterprise(ctx)
    ids = seed_assigned_raw(ctx, enterprise_id=firm, region_code=REGION, count=POOL, at=T0)
    caller = Caller(role="enterprise", name="bench", enterprise_id=firm)
    for hid in ids:
        service.transition(
            ctx=ctx, caller=caller, hazard_id=hid, trigger="accept", payload={"plan": PLAN}
        )
    ctx.db.dispose()
    conn = sqlite3.connect(template / "rectify.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return ids, firm


def copy_of(template: Path, where: Path) -> Path:
    shutil.copy(template / "rectify.db", where / "rectify.db")
    return where


def rectify_side(opts: Options, where: Path, ids: range, firm: int, count: int) -> float:
    ctx = new_context(where)
    caller = Caller(role="enterprise", name="bench", enterprise_id=firm)
    try:

        def loop() -> None:
            for i in range(count):
                service.transition(
                    ctx=ctx,
                    caller=caller,
                    hazard_id=ids[i % len(ids)],
                    trigger="report_progress",
                    payload=PAYLOAD,
                )

        with profiled(opts, NAME):
            seconds, _ = timed(loop)
    finally:
        ctx.db.dispose()
    return count / seconds


SELECT = (
    "SELECT version, head_hash, state, supervision, production, judicial, workflow_name, "
    "workflow_version FROM hazards WHERE id = ?"
)
INSERT_EVENT = """
INSERT INTO events (hazard_id, hazard_seq, trigger, from_state, to_state, actor, role, at,
                    payload, workflow_name, workflow_version, prev_hash, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
UPDATE = "UPDATE hazards SET version = ?, head_hash = ?, updated_at = ? WHERE id = ?"
REGIONS = ("state", "supervision", "production", "judicial")


def ceiling_side(where: Path, ids: range, count: int) -> float:
    conn = durable_sqlite(where / "rectify.db")
    payload = canonical_json(PAYLOAD)

    def loop() -> None:
        for i in range(count):
            hid = ids[i % len(ids)]
            now = datetime.now(UTC)
            stored_at = now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
            conn.execute("BEGIN IMMEDIATE")
            version, head, *state, wf_name, wf_version = conn.execute(SELECT, (hid,)).fetchone()
            regions = dict(zip(REGIONS, state, strict=True))
            canonical = canonical_event(
                hazard_id=hid,
                hazard_seq=version + 1,
                trigger="report_progress",
                from_state=regions,
                to_state=regions,
                actor=ACTOR,
                role=ROLE,
                at=now,
                payload=payload,
                workflow_name=wf_name,
                workflow_version=wf_version,
                prev_hash=head,
            )
            digest = hashlib.sha256(head.encode() + canonical).hexdigest()
            state_json = json.dumps(regions)
            conn.execute(
                INSERT_EVENT,
                (hid, version + 1, "report_progress", state_json, state_json, ACTOR, ROLE)
                + (stored_at, payload, wf_name, wf_version, head, digest),
            )
            conn.execute(UPDATE, (version + 1, digest, stored_at, hid))
            conn.execute("COMMIT")

    try:
        seconds, _ = timed(loop)
    finally:
        conn.close()
    return count / seconds


def run(opts: Options) -> dict:
    count = opts.size(FULL, minimum=500)
    ours = Side("rectify service.transition(report_progress), in-process", "transitions/s")
    ceiling = Side("raw sqlite3: one transaction writing the same rows", "transitions/s")
    with scratch(NAME) as tmp:
        template = fresh_dir(tmp, "template")
        seed_s, (ids, firm) = timed(lambda: seed(template))
        print(f"  seeded {POOL} rectifying hazards in {seed_s:.1f} s", flush=True)
        for r in range(opts.rounds):
            for which in in_turn(r, "rectify", "ceiling"):
                where = copy_of(template, fresh_dir(tmp, f"{which}-{r}"))
                if which == "rectify":
                    rate = rectify_side(opts, where, ids, firm, count)
                    side = ours
                else:
                    rate = ceiling_side(where, ids, count)
                    side = ceiling
                side.samples.append(rate)
                print(f"  round {r + 1}: {which} {rate:,.0f} transitions/s", flush=True)
                if r == 0:  # both sides leave chains that verify
                    vctx = new_context(where)
                    report = verify(ctx=vctx)
                    vctx.db.dispose()
                    assert report["ok"], (which, report["broken"][:3])
                shutil.rmtree(where, ignore_errors=True)
    ratio = ours.median / ceiling.median
    return result(
        name=NAME,
        compares="in-process transitions/s vs a raw sqlite3 transaction writing the same rows",
        opts=opts,
        rectify=ours,
        peer=ceiling,
        goals=[goal("rectify / raw sqlite3 rate", ratio, ">=", 0.4, "x")],
        size={"transitions_per_round": count, "pool": POOL},
        notes=[f"{count:,} report_progress transitions per side and round over {POOL} hazards"],
        extra={
            "rectify_ms_per_transition": round(1000 / ours.median, 3),
            "ceiling_ms_per_transition": round(1000 / ceiling.median, 3),
        },
    )
