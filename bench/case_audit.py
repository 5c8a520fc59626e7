"""audit: verifying the hash chains and replaying a long history.

rectify: `rectify.audit.verify.verify` over N real chained events in a SQLite file (reads every
event, rebuilds its canonical bytes, recomputes the SHA-256 link, checks each chain head
against its hazard), and `rectify.audit.replay.replay` of one hazard with a 10,000-event
history through its pinned workflow definition.

peer: plain `hashlib.sha256(prev || canonical)` over the same canonical bytes, N times, in one
loop with nothing read from disk: the floor of any chain check, so the ratio is the share of
verify's time that is hashing.

The events are built by bench/bench_audit.py (batched inserts of real, chained workflow
events); this case imports its `build` and `_plain` and only adds rounds, medians and goals.
If that script's interface changes, the case falls back to running its `main()` and reading
the JSON it prints.

Goals: verify's rate at least 0.3x the plain hashing rate; replay of 10,000 events in 0.5 s.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
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
FULL = 1_000_000
LONG = 10_000


def _rounds(opts: Options, tmp: Path, events: int, long: int) -> dict[str, Any]:
    ctx = new_context(tmp)
    try:
        build_s, (long_id, sample) = timed(lambda: bench_audit.build(ctx, events, long))
        with ctx.db.session() as s:
            n = s.execute(select(func.count()).select_from(Event)).scalar_one()
        print(f"  built {n:,} chained events in {build_s:.1f} s", flush=True)
        verify_rate, plain_rate, replay_s = [], [], []
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
                    t, _ = timed(lambda: bench_audit._plain(sample, n))
                    plain_rate.append(n / t)
                    print(f"  round {r + 1}: sha256 {n / t:,.0f} events/s", flush=True)
    finally:
        ctx.db.dispose()
    return {
        "events": n,
        "build_s": build_s,
        "verify": verify_rate,
        "plain": plain_rate,
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
    peer = Side("hashlib.sha256 over the same canonical bytes", "events/s", figures["plain"])
    replay_s = median(figures["replay_s"])
    return result(
        name=NAME,
        compares="chain verification rate vs plain SHA-256 of the same bytes; replay time",
        opts=opts,
        rectify=ours,
        peer=peer,
        goals=[
            goal("verify / plain sha256 rate", ours.median / peer.median, ">=", 0.3, "x"),
            goal(f"replay of a {LONG:,}-event hazard", replay_s, "<=", 0.5, " s"),
        ],
        size={"events": figures["events"], "replayed_events": LONG},
        notes=notes,
        extra={
            "build_s": round(figures["build_s"], 1) if figures["build_s"] else None,
            "replay_s_samples": [round(x, 3) for x in figures["replay_s"]],
            "replay_events_per_s": round(LONG / replay_s),
        },
    )
