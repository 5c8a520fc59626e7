"""api: transitions per second over HTTP against a no-op endpoint of the same process.

rectify: `POST /api/v1/hazards/{id}/transitions` with `report_progress` as the enterprise,
spread over a pool of rectifying hazards (bench/transition.lua), 32 connections from wrk, to
a real `rectify serve` process (tests/processes.Server: uvicorn, SQLite WAL + synchronous=FULL,
the scheduler running). Each request authenticates, runs the state machine, appends a hashed
event and commits.

ceiling: `GET /healthz` (returns {"status": "ok"} without touching the database) served by the
same process in the same run with the same wrk settings: what the HTTP stack alone gives on
this machine, so the ratio is the share left after the work of a transition.

Goals: ratio at least 0.5, and the transitions' p99 latency at most 100 ms.
(Replaces bench/bench_api.py: `bench/run.py --only api`.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import (
    REGION,
    Options,
    Side,
    add_enterprise,
    add_token,
    goal,
    in_turn,
    median,
    new_context,
    profiled,
    result,
    scratch,
)
from seed import seed_assigned_raw

from rectify.auth.scope import Caller
from rectify.database.core import utcnow
from rectify.hazards import service
from tests.processes import Server

NAME = "api"
LUA = Path(__file__).with_name("transition.lua")
POOL = 500
# Within the deadline horizon (settings.deadline_horizon_days) and after the run.
PLAN_DEADLINE = (datetime.now(UTC) + timedelta(days=365)).isoformat()
PLAN = {"measures": "整改", "responsible_person": "李", "deadline": PLAN_DEADLINE}


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise RuntimeError("wrk not found: apt-get install -y wrk (make bench does)")
    return path


def seed(data_dir: Path, pool: int) -> tuple[str, range, str, int]:
    """A pool of rectifying hazards and the enterprise's token."""
    ctx = new_context(data_dir)
    firm = add_enterprise(ctx)
    token = add_token(ctx, "enterprise", enterprise_id=firm)
    ids = seed_assigned_raw(ctx, enterprise_id=firm, region_code=REGION, count=pool, at=utcnow())
    caller = Caller(role="enterprise", name="bench", enterprise_id=firm)
    for hid in ids:  # accept through the service: the pool is rectifying
        service.transition(
            ctx=ctx, caller=caller, hazard_id=hid, trigger="accept", payload={"plan": PLAN}
        )
    url = str(ctx.db.url)
    ctx.db.dispose()
    return url, ids, token, firm


def wrk(
    url: str,
    seconds: int,
    script: Path | None,
    env: dict[str, str],
    *,
    connections: int = 32,
    threads: int = 2,
) -> dict[str, float]:
    cmd = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, env={**os.environ, **env}, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    good = rps * (1 - errors / total) if total else 0.0  # only answered transitions count
    return {
        "rps": good,
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)],
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)],
        "non_2xx": errors,
        "requests": total,
    }


def profile_in_process(opts: Options, data_dir: Path, ids: range, firm_caller: Caller) -> None:
    """pyinstrument cannot follow uvicorn's worker threads: profile the same transition
    through the service in-process instead (what each request's thread does, minus HTTP)."""
    ctx = new_context(data_dir)
    try:
        with profiled(opts, NAME):
            for i in range(2000):
                service.transition(
                    ctx=ctx,
                    caller=firm_caller,
                    hazard_id=ids[i % len(ids)],
                    trigger="report_progress",
                    payload={"note": "bench", "percent": 50},
                )
    finally:
        ctx.db.dispose()


def spy_on_server(opts: Options, pid: int, url: str, env: dict[str, str]) -> None:
    """With py-spy installed: sample every thread of the server during one more wrk run of
    transitions and write bench/results/profile-api-server.txt (per thread, the functions
    with the most samples, waiting excluded)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("  (py-spy not installed: no server profile)", flush=True)
        return
    raw = opts.results_dir / "profile-api-server.raw"
    opts.results_dir.mkdir(parents=True, exist_ok=True)
    cmd = [spy, "record", "-p", str(pid), "-d", "8", "-r", "200", "-f", "raw", "-o", str(raw)]
    with subprocess.Popen(
        [*cmd, "--threads", "--gil"],  # only the thread holding the GIL: where CPU goes
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as recorder:
        wrk(url, 8, LUA, env)
        recorder.wait()
    out = opts.results_dir / "profile-api-server.txt"
    out.write_text(summarise_spy(raw.read_text()))
    print(f"  profile of the server's threads: {out}", flush=True)


_IDLE = ("Condition.wait", "Queue.get", "select (selectors", "SimpleQueue.get", "Event.wait")


def summarise_spy(raw: str, top: int = 40) -> str:
    """py-spy's raw (collapsed) stacks as: samples per thread, then per busy thread the
    functions by inclusive samples."""
    per: dict[str, Counter[str]] = {}
    threads: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        thread = frames[0].split(":", 1)[-1].strip()
        if frames[-1].startswith(_IDLE):
            threads[f"{thread} (waiting)"] += int(n)
            continue
        threads[thread] += int(n)
        seen = set()
        for frame in frames[1:]:
            name = frame.split(" (")[0] + " " + frame.partition(" (")[2].split(":")[0]
            if name not in seen:
                seen.add(name)
                per.setdefault(thread, Counter())[name] += int(n)
    lines = ["samples per thread:"] + [f"  {n:6d} {t}" for t, n in threads.most_common()]
    for thread, functions in per.items():
        lines += ["", f"{thread}:"] + [f"  {n:6d} {f}" for f, n in functions.most_common(top)]
    return "\n".join(lines) + "\n"


def run(opts: Options) -> dict:
    ensure_wrk()
    seconds = 3 if opts.quick else 10
    ours = Side("POST report_progress (wrk, 32 connections)", "transitions/s")
    noop = Side("GET /healthz, same process", "requests/s")
    p99s: list[float] = []
    p50s: list[float] = []
    noop_p99: list[float] = []
    errors = 0
    with scratch(NAME) as tmp:
        url, ids, token, firm = seed(tmp, POOL)
        env = {"FIRST": str(ids[0]), "LAST": str(ids[-1]), "TOKEN": token}
        with Server(tmp, url) as server:
            wrk(f"{server.url}/healthz", 1, None, {})  # warm up
            if opts.profile:
                spy_on_server(opts, server.proc.pid, server.url, env)
            for r in range(opts.rounds):
                order = in_turn(r, "rectify", "noop")
                for which in order:
                    if which == "rectify":
                        m = wrk(server.url, seconds, LUA, env)
                        ours.samples.append(m["rps"])
                        p99s.append(m["p99_ms"])
                        p50s.append(m["p50_ms"])
                        errors += m["non_2xx"]
                    else:
                        m = wrk(f"{server.url}/healthz", seconds, None, {})
                        noop.samples.append(m["rps"])
                        noop_p99.append(m["p99_ms"])
                    print(
                        f"  round {r + 1}: {which} {m['rps']:,.0f}/s p99 {m['p99_ms']:.1f} ms",
                        flush=True,
                    )
        if opts.profile:
            profile_in_process(opts, tmp, ids, Caller("enterprise", "bench", enterprise_id=firm))
    ratio = ours.median / noop.median
    p99 = median(p99s)
    notes = [f"{seconds} s of wrk per side and round, pool of {POOL} rectifying hazards"]
    if errors:
        notes.append(f"{errors} transitions were answered with a non-2xx status (not counted)")
    if opts.profile:
        notes.append("profile: service.transition in-process (uvicorn's threads are not sampled)")
    return result(
        name=NAME,
        compares="HTTP transitions/s vs GET /healthz of the same rectify serve process",
        opts=opts,
        rectify=ours,
        peer=noop,
        goals=[
            goal("transitions / no-op ratio", ratio, ">=", 0.5, "x"),
            goal("transition p99", p99, "<=", 100.0, " ms"),
        ],
        size={"pool": POOL, "seconds_per_run": seconds, "connections": 32},
        notes=notes,
        extra={
            "transition_p50_ms": round(median(p50s), 2),
            "transition_p99_ms_samples": [round(x, 2) for x in p99s],
            "noop_p99_ms": round(median(noop_p99), 2),
            "non_2xx": errors,
        },
    )
