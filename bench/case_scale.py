"""scale: a real `rectify serve` on a SQLite database of 1,000,000 hazards with pending timers.

rectify: 1M assigned hazards (bench/seed.py: rows as report + assign leave them, two chained
events and three pending timers each, 3M timers) in one SQLite file. Each round starts
`rectify serve` (tests/processes.Server: migrations, workflow version check, APScheduler with
its immediate catch-up sweep) and measures the time from spawning the process to the first
200 from GET /healthz, its resident memory (VmRSS from /proc/PID/status) once ready and again
after a few list and read requests (first page, a deep page, filtered pages, one hazard), and
those requests' latencies. Then EXPLAIN QUERY PLAN of every query the timer engine's sweep
sends on that database (captured from a real `catch_up` with nothing due) must show the
timers table reached through an index, never `SCAN timers`.

ceiling: the same `rectify serve` on an empty database, started in the same run, rounds
alternating: what start-up costs with no data (interpreter, imports, migrations check), so the
difference is what the million rows add.

Goals (absolute): ready in at most 3 s; RSS at most 250 MiB after ready and after the
requests; the due-timer query uses an index.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from common import (
    REGION,
    Options,
    Side,
    add_enterprise,
    add_token,
    check,
    fresh_dir,
    goal,
    in_turn,
    median,
    new_context,
    result,
    rss_kib,
    scratch,
    timed,
)
from seed import seed_assigned_raw
from sqlalchemy import event

from rectify.database.core import utcnow
from rectify.timers.engine import catch_up
from tests.processes import Server

NAME = "scale"
FULL = 1_000_000
MIB = 1024  # KiB per MiB


def prepare(where: Path, count: int) -> tuple[str, str]:
    """A migrated database with a dispatcher's token and `count` seeded hazards."""
    ctx = new_context(where)
    firm = add_enterprise(ctx)
    token = add_token(ctx, "dispatcher", region_code=REGION)
    if count:
        seed_assigned_raw(ctx, enterprise_id=firm, region_code=REGION, count=count, at=utcnow())
    url = str(ctx.db.url)
    ctx.db.dispose()
    conn = sqlite3.connect(where / "rectify.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return url, token


def start_timed(server: Server, timeout: float = 60, prefix: tuple[str, ...] = ()) -> float:
    """Spawn `rectify serve` as tests/processes.Server does; seconds until /healthz is 200
    (polled every 10 ms). `prefix` goes between the interpreter and `-m rectify.cli`."""
    server.log.parent.mkdir(parents=True, exist_ok=True)
    with server.log.open("ab") as out:
        start = time.perf_counter()
        server.proc = subprocess.Popen(
            [sys.executable, *prefix, "-m", "rectify.cli", "serve", "--port", str(server.port)],
            env=server.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    with httpx.Client(timeout=1) as client:
        while time.perf_counter() - start < timeout:
            if server.proc.poll() is not None:
                raise RuntimeError(f"rectify serve exited:\n{server.output()}")
            try:
                if client.get(f"{server.url}/healthz").status_code == 200:
                    return time.perf_counter() - start
            except httpx.TransportError:
                pass
            time.sleep(0.01)
    server.kill()
    raise RuntimeError(f"rectify serve not ready in {timeout}s:\n{server.output()}")


REQUESTS = (
    "/api/v1/hazards?limit=50",
    "/api/v1/hazards?limit=500&offset={deep}",
    "/api/v1/hazards?state=assigned&limit=100",
    "/api/v1/hazards?overdue=false&limit=100",
    "/api/v1/hazards/{last}",
)


def one_start(where: Path, url: str, token: str, count: int) -> dict[str, Any]:
    server = Server(where, url)
    try:
        ready = start_timed(server)
        pid = server.proc.pid  # type: ignore[union-attr]
        time.sleep(0.5)  # the scheduler's first sweep has run
        after_ready = rss_kib(pid)
        latencies: dict[str, float] = {}
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            for path in REQUESTS:
                if not count and "{" in path:
                    continue
                p = path.format(deep=max(0, count // 2), last=count)
                t, r = timed(lambda p=p: client.get(p))
                assert r.status_code == 200, (p, r.status_code, r.text[:300])
                latencies[p] = t * 1000
            if count:
                total = client.get("/api/v1/hazards?limit=1").json()["total"]
                assert total == count, (total, count)
        after_requests = rss_kib(pid)
    finally:
        server.stop()
    return {
        "ready_s": ready,
        "rss_ready_mib": after_ready["VmRSS"] / MIB,
        "rss_after_requests_mib": after_requests["VmRSS"] / MIB,
        "peak_rss_mib": after_requests["VmHWM"] / MIB,
        "latency_ms": latencies,
    }


def profile_start(opts: Options, where: Path, url: str) -> None:
    """--profile: one more start on the big database under pyinstrument (its main thread:
    start-up until ready, then idle until stopped), saved as HTML and text."""
    session = opts.results_dir / f"profile-{NAME}.pyisession"
    opts.results_dir.mkdir(parents=True, exist_ok=True)
    server = Server(where, url)
    try:
        start_timed(server, prefix=("-m", "pyinstrument", "-r", "session", "-o", str(session)))
        # SIGINT: uvicorn shuts down and re-raises it as KeyboardInterrupt, which pyinstrument
        # catches and then writes the session (after SIGTERM the process dies by the signal).
        server.proc.send_signal(signal.SIGINT)  # type: ignore[union-attr]
        server.proc.wait(60)  # type: ignore[union-attr]
    finally:
        server.kill()
    for renderer, suffix in (("html", ".html"), ("text", ".txt")):
        subprocess.run(
            [sys.executable, "-m", "pyinstrument", "--load", str(session), "-r", renderer]
            + ["-o", str(session.with_suffix(suffix))],
            check=True,
        )
    session.unlink(missing_ok=True)
    print(f"  profile of serve's start-up: {session.with_suffix('.html')} / .txt", flush=True)


def due_query_plans(where: Path) -> list[dict[str, Any]]:
    """EXPLAIN QUERY PLAN of each statement on `timers` that a catch-up sweep sends."""
    ctx = new_context(where)  # the real clock: nothing is due, the sweep only queries
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "timers" in statement:
            seen.append((statement, params))

    event.listen(ctx.db.engine, "before_cursor_execute", capture)
    try:
        sweep_s, _ = timed(lambda: catch_up(ctx=ctx, limit=ctx.settings.timer_batch))
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", capture)
        ctx.db.dispose()
    conn = sqlite3.connect(where / "rectify.db")
    plans = []
    try:
        for statement, params in seen:
            rows = conn.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
            lines = [row[-1] for row in rows]
            on_timers = [ln for ln in lines if re.match(r"(SCAN|SEARCH) timers\b", ln)]
            plans.append(
                {
                    "sql": " ".join(statement.split()),
                    "plan": lines,
                    "indexed": bool(on_timers) and all("INDEX" in ln for ln in on_timers),
                    "sweep_ms": round(sweep_s * 1000, 1),
                }
            )
    finally:
        conn.close()
    return plans


def run(opts: Options) -> dict:
    count = opts.size(FULL)
    ours = Side(f"serve on {count:,} hazards: ready", "s", higher_is_better=False)
    empty = Side("serve on an empty database: ready", "s", higher_is_better=False)
    runs: dict[str, list[dict[str, Any]]] = {"full": [], "empty": []}
    with scratch(NAME) as tmp:
        big, small = fresh_dir(tmp, "big"), fresh_dir(tmp, "empty")
        seed_s, (big_url, big_token) = timed(lambda: prepare(big, count))
        print(f"  seeded {count:,} hazards ({3 * count:,} timers) in {seed_s:.1f} s", flush=True)
        small_url, small_token = prepare(small, 0)
        size_mib = (big / "rectify.db").stat().st_size / 2**20
        for r in range(opts.rounds):
            order = in_turn(r, "full", "empty")
            for which in order:
                if which == "full":
                    m = one_start(big, big_url, big_token, count)
                    ours.samples.append(m["ready_s"])
                else:
                    m = one_start(small, small_url, small_token, 0)
                    empty.samples.append(m["ready_s"])
                runs[which].append(m)
                print(
                    f"  round {r + 1}: {which} ready {m['ready_s']:.2f} s, RSS "
                    f"{m['rss_ready_mib']:.0f} / {m['rss_after_requests_mib']:.0f} MiB",
                    flush=True,
                )
        plans = due_query_plans(big)
        if opts.profile:
            profile_start(opts, big, big_url)
    rss_ready = median([m["rss_ready_mib"] for m in runs["full"]])
    rss_after = median([m["rss_after_requests_mib"] for m in runs["full"]])
    latency = {
        p: round(median([m["latency_ms"][p] for m in runs["full"]]), 1)
        for p in runs["full"][0]["latency_ms"]
    }
    indexed = bool(plans) and all(p["indexed"] for p in plans)
    notes = []
    if not plans:
        notes.append("the sweep sent no SELECT on timers: nothing to explain")
    return result(
        name=NAME,
        compares="rectify serve on 1M hazards: ready time (vs empty DB), RSS, due-timer index",
        opts=opts,
        rectify=ours,
        peer=empty,
        goals=[
            goal("ready (GET /healthz answers)", ours.median, "<=", 3.0, " s"),
            goal("RSS once ready", rss_ready, "<=", 250, " MiB"),
            goal("RSS after list requests", rss_after, "<=", 250, " MiB"),
            check(
                "due-timer query uses an index",
                indexed,
                "; ".join(" / ".join(p["plan"]) for p in plans) or "no query seen",
            ),
        ],
        size={
            "hazards": count,
            "timers": 3 * count,
            "db_mib": round(size_mib),
            "seed_s": round(seed_s, 1),
        },
        notes=notes,
        extra={
            "empty_db_rss_ready_mib": round(median([m["rss_ready_mib"] for m in runs["empty"]]), 1),
            "peak_rss_mib": round(max(m["peak_rss_mib"] for m in runs["full"]), 1),
            "request_latency_ms": latency,
            "due_query_plans": plans,
        },
    )
