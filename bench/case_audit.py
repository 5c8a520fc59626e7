"""audit: verifying the hash chains and replaying a long history.

rectify: `rectify.audit.verify.verify` over N real chained events in a SQLite file (reads every
event, rebuilds its canonical bytes, recomputes the SHA-256 link, checks each chain head
against its hazard), and `rectify.audit.replay.replay` of one hazard with a 10,000-event
history through its pinned workflow definition.

ceiling: a raw stdlib sqlite3 read of the same rows (the columns verify reads, as bytes, in
chain order, from the same file) plus one `hashlib.sha256(prev || canonical)` per row over
canonical bytes built beforehand: reading is part of the job, building the canonical bytes and
checking the links is what verify adds. (Plain hashing with nothing read, the earlier peer, is
kept in `extra.plain_sha256_per_s`.)

The events are built by bench/bench_audit.py (batched inserts of real, chained workflow
events); this case imports its `build` and `_plain` and only adds rounds, medians and goals.
If that script's interface changes, the case falls back to running its `main()` and reading
the JSON it prints.

Goals: verify's rate at least 0.7x the ceiling's; replay of 10,000 events in 0.5 s.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import bench_audit
from common import (
    Options,
    Side,
    goal,
    in_turn,
    median,
    new_context,
    profiled,
    result,
    scratch,
    timed,
)
from sqlalchemy import func, select

from rectify.audit.models import Event
from rectify.audit.replay import replay
from rectify.audit.verify import verify
from rectify.auth.scope import Caller

NAME = "audit"
READ = """
SELECT hazard_id, hazard_seq, CAST(trigger AS BLOB), CAST(from_state AS BLOB),
       CAST(to_state AS BLOB), CAST(actor AS BLOB), actor_id, CAST(role AS BLOB),
       CAST(at AS BLOB), CAST(payload AS BLOB), CAST(workflow_name AS BLOB), workflow_version,
       CAST(prev_hash AS BLOB), CAST(hash AS BLOB)
FROM events ORDER BY hazard_id, hazard_seq
"""


def read_and_hash(path: Path, sample: list[bytes]) -> int:
    """The ceiling: every event row read with sqlite3, one SHA-256 per row over its prev_hash
    and prebuilt canonical bytes."""
    conn = sqlite3.connect(path)
    try:
        sha, size, n = hashlib.sha256, len(sample), 0
        for row in conn.execute(READ):
            sha(row[12] + sample[n % size]).hexdigest()
            n += 1
        return n
    finally:
        conn.close()


FULL = 1_000_000
LONG = 10_000


def _rounds(opts: Options, tmp: Path, events: int, long: int) -> dict[str, Any]:
    ctx = new_context(tmp)
    try:
        build_s, (long_id, sample) = timed(lambda: bench_audit.build(ctx, events, long))
        with ctx.db.session() as s:
            n = s.execute(select(func.count()).select_from(Event)).scalar_one()
        print(f"  built {n:,} chained events in {build_s:.1f} s", flush=True)
        verify_rate, plain_rate, ceiling_rate, replay_s = [], [], [], []
        path = Path(ctx.db.url.database)
        for r in range(opts.rounds):
            order = in_turn(r, "rectify", "peer")
            for which in order:
                if which == "rectify":
                    with profiled(opts, NAME):
                        t, out = timed(lambda: verify(ctx=ctx))
                    assert out["ok"] and out["events_checked"] == n, out["broken"][:3]
                    verify_rate.append(n / t)
                    t, body = timed(
                        lambda: replay(ctx=ctx, caller=Caller("auditor", "b"), hazard_id=long_id)
                    )
                    assert body["consistent"] and body["events_applied"] == long, body
                    replay_s.append(t)
                    print(
                        f"  round {r + 1}: verify {verify_rate[-1]:,.0f} events/s, "
                        f"replay {t:.2f} s",
                        flush=True,
                    )
                else:
                    t, read = timed(lambda: read_and_hash(path, sample))
                    assert read == n, (read, n)
                    ceiling_rate.append(n / t)
                    t, _ = timed(lambda: bench_audit._plain(sample, n))
                    plain_rate.append(n / t)
                    print(
                        f"  round {r + 1}: read+sha256 {ceiling_rate[-1]:,.0f} events/s, "
                        f"sha256 alone {n / t:,.0f} events/s",
                        flush=True,
                    )
    finally:
        ctx.db.dispose()
    return {
        "events": n,
        "build_s": build_s,
        "verify": verify_rate,
        "plain": plain_rate,
        "ceiling": ceiling_rate,
        "replay_s": replay_s,
    }


def _interface_known() -> bool:
    """bench_audit.build(ctx, events, long) -> (long_id, sample) and _plain(sample, n)."""
    try:
        build = list(inspect.signature(bench_audit.build).parameters)
        plain = list(inspect.signature(bench_audit._plain).parameters)
    except (AttributeError, TypeError, ValueError):
        return False
    return build[:3] == ["ctx", "events", "long"] and len(plain) == 2


def _via_main(opts: Options, events: int, long: int) -> dict[str, Any]:
    """Fallback: bench_audit's own main(), one run of `rounds` rounds; medians only."""
    argv = sys.argv
    out = io.StringIO()
    sys.argv = ["bench_audit.py", f"--events={events}", f"--rounds={opts.rounds}", f"--long={long}"]
    try:
        with contextlib.redirect_stdout(out):
            bench_audit.main()
    finally:
        sys.argv = argv
    doc = json.loads(out.getvalue())
    return {
        "events": doc["events"],
        "build_s": doc.get("build_s"),
        "verify": [doc["verify"]["events_per_s"]],
        "plain": [doc["hashlib_sha256_same_bytes"]["events_per_s"]],
        "replay_s": [doc["replay_one_hazard"]["median_s"]],
    }


def run(opts: Options) -> dict:
    events = opts.size(FULL, minimum=2 * LONG)
    notes = []
    with scratch(NAME) as tmp:
        if _interface_known():
            figures = _rounds(opts, tmp, events, LONG)
        else:
            notes.append("bench_audit's build/_plain changed; used its main() (medians only)")
            figures = _via_main(opts, events, LONG)
    ours = Side("rectify verify", "events/s", figures["verify"])
    peer = Side(
        "raw sqlite3 read of the same rows + sha256", "events/s", figures.get("ceiling", [])
    )
    replay_s = median(figures["replay_s"])
    return result(
        name=NAME,
        compares="chain verification rate vs a raw read of the same rows plus SHA-256; replay time",
        opts=opts,
        rectify=ours,
        peer=peer,
        goals=[
            goal("verify / read + sha256 rate", ours.median / peer.median, ">=", 0.7, "x"),
            goal(f"replay of a {LONG:,}-event hazard", replay_s, "<=", 0.5, " s"),
        ],
        size={"events": figures["events"], "replayed_events": LONG},
        notes=notes,
        extra={
            "build_s": round(figures["build_s"], 1) if figures["build_s"] else None,
            "replay_s_samples": [round(x, 3) for x in figures["replay_s"]],
            "replay_events_per_s": round(LONG / replay_s),
            "plain_sha256_per_s": round(median(figures["plain"])),
            "verify_vs_plain_sha256": round(ours.median / median(figures["plain"]), 3),
        },
    )
