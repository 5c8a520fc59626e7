"""What auditing costs: `verify` over N real chained events in a temp SQLite file against plain
hashlib.sha256 over the same canonical bytes, a checkpoint, and replaying one 10,000-event hazard.

    .venv/bin/python bench/bench_audit.py [--events 1000000] [--rounds 3] [--long 10000]

Events are written with batched inserts (not through the service, which would take hours), but
each is a real event of the workflow, hashed and chained with rectify.audit.chain, so verify and
replay find them sound. Building 1,000,000 takes about two minutes.

Each round times, in alternating order: verify (which also checks the checkpoints written by
earlier rounds); plain sha256(prev || canonical) over the same canonical bytes, N times, nothing
read; and reading the rows verify reads with the cursor it reads them with, doing nothing with
them. Prints the medians of the rounds as JSON.

Two comparisons: `verify_rate_vs_sha256` is verify's rate over plain hashing's (the goal states
it so: >= 0.3); plain hashing reads nothing, so it is a floor verify cannot reach. The ceiling a
verify could reach is reading its rows plus hashing them: `ceiling` is read_rows + sha256 and
`verify_rate_vs_ceiling` how close verify comes to it (1.0: no cost but reading and hashing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from rectify.audit.chain import GENESIS, canonical_event, canonical_json, link
from rectify.audit.checkpoints import write_checkpoint
from rectify.audit.models import Event
from rectify.audit.replay import replay
from rectify.audit.verify import _raw_events, verify
from rectify.auth.scope import Caller
from rectify.config import Settings
from rectify.context import Context, build_context
from rectify.database.migrate import upgrade
from rectify.enterprises.models import Enterprise
from rectify.hazards.models import Hazard

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CHAIN = 10  # events per ordinary hazard: report, assign, accept, then progress reports
BATCH = 10_000
SAMPLE = 100_000  # canonical byte strings kept for the hashlib baseline
PLAN = {
    "measures": "清理",
    "responsible_person": "李强",
    "deadline": (T0 + timedelta(days=10)).isoformat(),
}


def _history(hazard_id: int, length: int) -> Iterator[tuple[str, str, dict, dict, dict]]:
    """(trigger, actor/role, payload, from, to) of a real v1 history of `length` events."""
    state = {"state": "reported", "supervision": "none", "production": "normal", "judicial": "none"}
    report = {
        "enterprise_id": 1,
        "title": f"隐患{hazard_id}",
        "description": "",
        "grade": "general",
        "industry": "商贸",
        "source": "inspection",
        "location": "一层",
        "violation": False,
    }
    deadline = (T0 + timedelta(days=10)).isoformat()
    plan = PLAN
    steps = [
        ("report", "inspector", report, None, "reported"),
        (
            "assign",
            "dispatcher",
            {"assignee": "王工", "deadline": deadline},
            "reported",
            "assigned",
        ),
        ("accept", "enterprise", {"plan": plan}, "assigned", "rectifying"),
    ]
    for i in range(length):
        trigger, role, payload, _, to = (
            steps[i]
            if i < 3
            else (
                "report_progress",
                "enterprise",
                {"note": f"第{i}次进展", "percent": i % 100},
                "rectifying",
                "rectifying",
            )
        )
        before = dict(state) if i else None
        state["state"] = to
        yield trigger, role, payload, before, dict(state)


def build(ctx: Context, events: int, long: int) -> tuple[int, list[bytes]]:
    """Write the hazards and their chains; return the long hazard's id and a byte sample."""
    with ctx.db.write() as s:
        firm = Enterprise(
            name="基准企业", credit_code="91420102MA4K000013", industry="商贸", region_code="420102"
        )
        s.add(firm)
        s.flush()
        firm_id = firm.id
    lengths = [long] + [CHAIN] * max(0, (events - long) // CHAIN)
    if sum(lengths) < events:
        lengths.append(events - sum(lengths))
    sample: list[bytes] = []
    rows: list[dict[str, Any]] = []
    heads: list[dict[str, Any]] = []
    seq = 0
    with ctx.db.engine.begin() as conn:
        for hazard_id, length in enumerate(lengths, start=1):
            prev, at = GENESIS, T0 + timedelta(seconds=hazard_id)
            for n, (trigger, role, payload, before, after) in enumerate(
                _history(hazard_id, length), start=1
            ):
                seq += 1
                fields = dict(
                    hazard_id=hazard_id,
                    hazard_seq=n,
                    trigger=trigger,
                    from_state=before,
                    to_state=after,
                    actor=f"{role}:bench",
                    role=role,
                    at=at + timedelta(milliseconds=n),
                    payload=canonical_json(payload),
                    workflow_name="hazard",
                    workflow_version=1,
                    prev_hash=prev,
                )
                canonical = canonical_event(**fields)
                if len(sample) < SAMPLE:
                    sample.append(canonical)
                prev = link(prev, canonical)
                rows.append({**fields, "seq": seq, "hash": prev})
            heads.append(_hazard_row(hazard_id, firm_id, length, prev, after, at))
            if len(rows) >= BATCH:
                _flush(conn, heads, rows)
        _flush(conn, heads, rows)
    return 1, sample


def _hazard_row(hid: int, firm: int, n: int, head: str, state: dict, at: datetime) -> dict:
    return Hazard(
        id=hid,
        enterprise_id=firm,
        title=f"隐患{hid}",
        grade="general",
        industry="商贸",
        source="inspection",
        region_code="420102",
        **state,
        workflow_name="hazard",
        workflow_version=1,
        version=n,
        head_hash=head,
        reported_by="inspector:bench",
        deadline=T0 + timedelta(days=10),
        assignee="王工",
        plan=PLAN if n >= 3 else None,  # what `accept` (the third event) leaves on the row
        created_at=at,
        updated_at=at + timedelta(milliseconds=n),
    ).model_dump()


def _flush(conn: Any, heads: list[dict], rows: list[dict]) -> None:
    if heads:
        conn.execute(insert(Hazard.__table__), heads)
    if rows:
        conn.execute(insert(Event.__table__), rows)
    heads.clear()
    rows.clear()


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _read(ctx: Context) -> int:
    """Read every event as verify does (same query, same cursor), and nothing else."""
    n = 0
    with ctx.db.session() as session:
        for _ in _raw_events(session, None):
            n += 1
    return n


def _round(ctx: Context, sample: list[bytes], n: int, long: int, first: bool) -> dict[str, float]:
    """One round: verify, plain hashing and reading (in alternating order), replay, checkpoint."""
    out: dict[str, float] = {}

    def run_verify() -> None:
        t, result = timed(lambda: verify(ctx=ctx))
        assert result["ok"] and result["events_checked"] == n, result["broken"][:3]
        out["verify"] = t

    def run_plain() -> None:
        out["hashlib"] = timed(lambda: _plain(sample, n))[0]
        t, read = timed(lambda: _read(ctx))
        assert read == n
        out["read"] = t

    for step in (run_verify, run_plain) if first else (run_plain, run_verify):
        step()
    t, body = timed(lambda: replay(ctx=ctx, caller=Caller("auditor", "b"), hazard_id=1))
    assert body["consistent"] and body["events_applied"] == long, body["divergences"]
    out["replay"] = t
    out["cp"] = timed(lambda: write_checkpoint(ctx=ctx, actor="bench"))[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--long", type=int, default=10_000, help="events of the replayed hazard")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        ctx = build_context(Settings(database_url=url, data_dir=Path(tmp), demo=False))
        build_s, (long_id, sample) = timed(lambda: build(ctx, args.events, args.long))
        n = (
            ctx.db.engine.connect()
            .execute(select(Event.__table__.c.seq).order_by(Event.__table__.c.seq.desc()).limit(1))
            .scalar_one()
        )
        rounds: dict[str, list[float]] = {}
        for r in range(args.rounds):
            for key, value in _round(ctx, sample, n, args.long, r % 2 == 0).items():
                rounds.setdefault(key, []).append(value)
        ctx.db.dispose()
    med = {k: statistics.median(v) for k, v in rounds.items()}
    ceiling = statistics.median(
        a + b for a, b in zip(rounds["read"], rounds["hashlib"], strict=True)
    )
    print(json.dumps(_report(n, build_s, med, ceiling, args, long_id), indent=2))


def _report(
    n: int, build_s: float, med: dict[str, float], ceiling: float, args: Any, long_id: int
) -> dict[str, Any]:
    def rate(seconds: float, digits: int = 2) -> dict[str, float]:
        return {"median_s": round(seconds, digits), "events_per_s": round(n / seconds)}

    return {
        "events": n,
        "build_s": round(build_s, 1),
        "verify": rate(med["verify"]),
        "hashlib_sha256_same_bytes": rate(med["hashlib"], 3),
        "verify_rate_vs_sha256": round(med["hashlib"] / med["verify"], 3),
        "read_rows_only": rate(med["read"]),
        "ceiling_read_plus_sha256": rate(ceiling),
        "verify_rate_vs_ceiling": round(ceiling / med["verify"], 3),
        "replay_one_hazard": {
            "events": args.long,
            "median_s": round(med["replay"], 3),
            "events_per_s": round(args.long / med["replay"]),
        },
        "checkpoint_median_s": round(med["cp"], 2),
        "rounds": args.rounds,
        "replayed_hazard": long_id,
    }


def _plain(sample: list[bytes], n: int) -> None:
    """sha256(prev || canonical) for n events, cycling over the sampled canonical bytes."""
    prev = GENESIS.encode()
    for i in range(n):
        prev = hashlib.sha256(prev + sample[i % len(sample)]).hexdigest().encode()


if __name__ == "__main__":
    main()
