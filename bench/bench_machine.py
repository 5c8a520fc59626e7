"""What one request pays for its state machine: rectify's cached machine per thread
(set_state + trigger) against building a transitions machine per request, in one run.
`fire` memoises outcomes (a repeated case is a lookup), so each trigger is measured twice:
through `fire` and through the machine itself (`_run`, what a first-seen case pays).

    .venv/bin/python bench/bench_machine.py [--rounds 5] [--n 5000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

from rectify.config import ROOT
from rectify.workflow import Facts, fire, load_registry
from rectify.workflow.engine import _Compiled, _compiled, _run

DEF = load_registry(ROOT / "workflows").latest("hazard")
NOW = datetime.now(UTC)
FACTS = Facts(now=NOW, deadline=NOW + timedelta(days=3))
RECTIFYING = {
    "state": "rectifying",
    "supervision": "none",
    "production": "normal",
    "judicial": "none",
}
AWAITING = {
    "state": "awaiting_verification",
    "supervision": "listed",
    "production": "suspended",
    "judicial": "none",
}


def per_call_us(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    cases = {
        "report_progress (no state change)": lambda: fire(
            DEF, "report_progress", RECTIFYING, FACTS, {}
        ),
        "verify_pass (three regions move)": lambda: fire(DEF, "verify_pass", AWAITING, FACTS, {}),
        "report_progress, machine (memo miss)": lambda: _run(
            _compiled(DEF), "report_progress", RECTIFYING, FACTS, {}, None
        ),
        "verify_pass, machine (memo miss)": lambda: _run(
            _compiled(DEF), "verify_pass", AWAITING, FACTS, {}, None
        ),
        "peer: build a machine per request": lambda: _Compiled(DEF),
    }
    results = {}
    for name, fn in cases.items():
        n = args.n if "peer" not in name else max(50, args.n // 20)
        fn()  # warm the per-thread cache
        results[name] = statistics.median(per_call_us(fn, n) for _ in range(args.rounds))
    peer = results["peer: build a machine per request"]
    out = {
        name: {"median_us": round(us, 1), "vs_peer": round(us / peer, 3)}
        for name, us in results.items()
    }
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
