"""Transitions per second over HTTP on SQLite: `report_progress` across a pool of hazards,
32 connections (wrk), against GET /healthz served by the same process in the same run.

    .venv/bin/python bench/bench_api.py [--rounds 3] [--seconds 10] [--pool 500]
Needs wrk (Debian package `wrk`; `make bench` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rectify.auth import service as auth  # noqa: E402
from rectify.auth.scope import Caller  # noqa: E402
from rectify.config import Settings  # noqa: E402
from rectify.context import build_context  # noqa: E402
from rectify.database.migrate import upgrade  # noqa: E402
from rectify.enterprises.codes import credit_code_check_char  # noqa: E402
from rectify.enterprises.models import Enterprise  # noqa: E402
from rectify.hazards import service  # noqa: E402
from rectify.hazards.bulk import seed_assigned  # noqa: E402
from tests.processes import Server  # noqa: E402

LUA = Path(__file__).with_name("transition.lua")


def seed(data_dir: Path, pool: int) -> tuple[str, int, int, str]:
    url = f"sqlite:///{data_dir / 'rectify.db'}"
    upgrade(url)
    ctx = build_context(Settings(database_url=url, data_dir=data_dir, scheduler=False))
    first17 = "91420102MA4K00001"
    with ctx.db.write() as session:
        firm = Enterprise(
            name="基准企业",
            credit_code=first17 + credit_code_check_char(first17),
            industry="化工",
            region_code="420102",
        )
        session.add(firm)
        session.flush()
        _, token = auth.create_token(
            session=session, role="enterprise", name="bench", enterprise_id=firm.id
        )
    ids = seed_assigned(ctx=ctx, enterprise_id=firm.id, count=pool)
    firm_caller = Caller(role="enterprise", name="bench", enterprise_id=firm.id)
    plan = {"measures": "整改", "responsible_person": "李", "deadline": "2099-01-01T00:00:00Z"}
    for hid in ids:
        service.transition(
            ctx=ctx, caller=firm_caller, hazard_id=hid, trigger="accept", payload={"plan": plan}
        )
    ctx.db.dispose()
    return url, ids[0], ids[-1], token


def wrk(url: str, seconds: int, script: Path | None, env: dict[str, str]) -> dict[str, float]:
    cmd = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(
        cmd + [url], capture_output=True, text=True, env={**os.environ, **env}, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale,
        "non_2xx": int(bad.group(1)) if bad else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--pool", type=int, default=500)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk (make bench does)")
    data_dir = Path(tempfile.mkdtemp(prefix="rectify-bench-"))
    url, first, last, token = seed(data_dir, args.pool)
    env = {"FIRST": str(first), "LAST": str(last), "TOKEN": token}
    runs: dict[str, list[dict[str, float]]] = {"transitions": [], "noop": []}
    with Server(data_dir, url) as server:
        for _ in range(args.rounds):
            runs["transitions"].append(wrk(server.url, args.seconds, LUA, env))
            runs["noop"].append(wrk(f"{server.url}/healthz", args.seconds, None, {}))
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
    med["ratio"] = round(med["transitions"]["rps"] / med["noop"]["rps"], 3)
    print(json.dumps(med, indent=2))
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
