"""Run rectify's benchmark suite: each case against its peer or ceiling in the same run.

    .venv/bin/python bench/run.py                  # every case, full sizes (make bench)
    .venv/bin/python bench/run.py --quick          # about 1/50 of the sizes: a smoke run
    .venv/bin/python bench/run.py --only api --rounds 5
    .venv/bin/python bench/run.py --only deadlines --quick --profile

Writes bench/results/latest.json and latest.md (quick runs: quick.json and quick.md). A run of
some cases (--only) updates those cases in the files and keeps the others. Each case lives in
bench/case_<name>.py, whose docstring says what is compared and why that peer.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, Options, machine  # noqa: E402

CASES = (
    "transition",
    "api",
    "api_pg",
    "engine",
    "deadlines",
    "catchup",
    "audit",
    "scale",
    "console",
    "documents",
    "ledgers",
    "statistics",
    "import",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", action="append", choices=CASES, metavar="CASE", help=f"one of {CASES}"
    )
    parser.add_argument("--quick", action="store_true", help="about 1/50 of the sizes")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (default 3)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="pyinstrument over the rectify side of the case (needs exactly one --only); "
        "saves bench/results/profile-<case>.html and .txt",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    args = parser.parse_args(argv)
    cases = args.only or list(CASES)
    if args.profile and len(cases) != 1:
        parser.error("--profile needs exactly one --only CASE")
    opts = Options(
        quick=args.quick, rounds=max(1, args.rounds), profile=args.profile, results_dir=args.out
    )
    base = args.out / ("quick" if args.quick else "latest")
    report = _load(base.with_suffix(".json"))
    report["machine"] = machine()
    failed = []
    for name in cases:
        print(f"== {name} ({'quick' if opts.quick else 'full'}, {opts.rounds} rounds)", flush=True)
        start = time.monotonic()
        try:
            module = importlib.import_module(f"case_{name}")
            entry = module.run(opts)
        except Exception as exc:  # one broken case must not lose the others' figures
            traceback.print_exc()
            entry = {"case": name, "error": f"{type(exc).__name__}: {exc}", "met": False}
            failed.append(name)
        entry["wall_s"] = round(time.monotonic() - start, 1)
        report["cases"][name] = entry
        report["date"] = datetime.now(UTC).isoformat(timespec="seconds")
        _save(base, report)  # after each case: a long run keeps what it measured so far
        print(_line(entry), flush=True)
    print(f"\nwrote {base}.json and {base}.md")
    return 1 if failed else 0


def _load(path: Path) -> dict[str, Any]:
    if path.exists():
        try:
            report = json.loads(path.read_text())
            report.setdefault("cases", {})
            return report
        except (ValueError, OSError):
            pass
    return {"cases": {}}


def _save(base: Path, report: dict[str, Any]) -> None:
    base.parent.mkdir(parents=True, exist_ok=True)
    ordered = {n: report["cases"][n] for n in CASES if n in report["cases"]}
    report["cases"] = ordered
    base.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    base.with_suffix(".md").write_text(markdown(report))


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float | int):
        return f"{x:,.3g}" if abs(x) < 100 else f"{x:,.0f}"
    return str(x)


def markdown(report: dict[str, Any]) -> str:
    m = report.get("machine", {})
    lines = [
        "# rectify benchmarks",
        "",
        f"{report.get('date', '')} on {m.get('cpu', '?')} ({m.get('cpus', '?')} cores, "
        f"{m.get('memory_gib', '?')} GiB), Python {m.get('python', '?')}, "
        f"SQLite {m.get('sqlite', '?')}. Medians of the rounds; rectify and its peer run in "
        "the same run, rounds alternating.",
        "",
        "| case | mode | rectify | peer / ceiling | ratio | goal | value | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in report.get("cases", {}).items():
        if "error" in c:
            lines.append(f"| {name} | | error: {c['error']} | | | | | no |")
            continue
        ours, peer = c["rectify"], c.get("peer")
        left = f"{_fmt(ours['median'])} {ours['unit']}"
        right = f"{_fmt(peer['median'])} {peer['unit']} ({peer['label']})" if peer else "–"
        if not c["goals"]:  # figures only (e.g. api_pg)
            lines.append(
                f"| {name} | {c['mode']} | {left} | {right} | {_fmt(c['ratio'])} "
                "| (figures only) | | |"
            )
        for i, g in enumerate(c["goals"]):
            first = i == 0
            met = "yes" if g["met"] else f"**no**: {g.get('miss', '')}"
            want = f"{g['what']} {g['op']} {_fmt(g['target'])}{g['unit']}"
            if g["op"] == "is":  # a yes/no goal
                want = g["what"]
            lines.append(
                f"| {name if first else ''} | {c['mode'] if first else ''} "
                f"| {left if first else ''} | {right if first else ''} "
                f"| {_fmt(c['ratio']) if first else ''} "
                f"| {want} "
                f"| {_fmt(g['value'])}{g['unit']} | {met} |"
            )
    notes = [(n, c["notes"]) for n, c in report.get("cases", {}).items() if c.get("notes")]
    if notes:
        lines += ["", "Notes:", ""]
        for name, ns in notes:
            lines += [f"- {name}: {n}" for n in ns]
    return "\n".join(lines) + "\n"


def _line(entry: dict[str, Any]) -> str:
    if "error" in entry:
        return f"   {entry['case']}: ERROR {entry['error']}"
    goals = "; ".join(
        f"{g['what']} {_fmt(g['value'])}{g['unit']} {'ok' if g['met'] else 'MISSED'}"
        for g in entry["goals"]
    )
    return f"   {entry['case']}: {goals}  ({entry['wall_s']} s)"


if __name__ == "__main__":
    sys.exit(main())
