"""ledgers: the 隐患排查治理台账 of 1,000,000 hazards streamed as CSV and as XLSX, in constant
memory.

rectify: bench/seed.py seeds the hazards (reported and assigned, two chained events each) in one
SQLite file. Each format is exported in a child process of its own (`python bench/case_ledgers.py
child DIR FORMAT`) through the ledgers service, as the API does (`ledgers.service.export`: the
hazards query and the extension events merged as both stream, `yield_per` batches; CSV written
a few hundred rows at a time, XLSX by openpyxl's write-only mode into a temporary file), with
the bytes thrown away. A thread samples the child's VmRSS every 20 ms; the growth is the
highest sample less the RSS just before the export (after a warm-up export of no rows has
loaded every module). Rate: rows per second.

No peer: the figure is absolute (issue 12: 1,000,000 hazards must not raise the RSS by more
than 50 MB).

Goals: RSS growth at most 50 MiB for each format; every seeded hazard is in the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import (
    REGION,
    Options,
    Side,
    add_enterprise,
    check,
    goal,
    new_context,
    result,
    rss_kib,
    scratch,
)
from seed import seed_assigned_raw

from rectify.database.core import utcnow

NAME = "ledgers"
FULL = 1_000_000
MIB = 1024  # KiB per MiB
FORMATS = ("csv", "xlsx")


def prepare(where: Path, count: int) -> None:
    """A migrated database with `count` seeded hazards."""
    ctx = new_context(where)
    firm = add_enterprise(ctx)
    seed_assigned_raw(ctx, enterprise_id=firm, region_code=REGION, count=count, at=utcnow())
    ctx.db.dispose()


def child(where: Path, fmt: str) -> dict[str, Any]:
    """Export the hazards ledger (in this process), watching this process's RSS."""
    import os

    from rectify.auth.scope import Caller
    from rectify.ledgers import service
    from rectify.ledgers.kinds import LedgerFilters

    ctx = new_context(where)
    caller = Caller(role="dispatcher", name="bench", region_code=REGION)
    empty = LedgerFilters(industry="（无）")  # warm-up: every module loaded, no rows
    for _ in service.export(ctx=ctx, caller=caller, kind="hazards", filters=empty, fmt=fmt).chunks:
        pass
    pid = os.getpid()
    before = rss_kib(pid)["VmRSS"]
    peak, running = [before], True

    def watch() -> None:
        while running:
            peak.append(rss_kib(pid)["VmRSS"])
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    out = service.export(ctx=ctx, caller=caller, kind="hazards", filters=LedgerFilters(), fmt=fmt)
    size, rows = 0, 0
    for chunk in out.chunks:
        size += len(chunk)
        if fmt == "csv":
            rows += chunk.count(b"\r\n")
    elapsed = time.perf_counter() - start
    running = False
    watcher.join()
    if fmt == "csv":
        rows -= 1  # the header
    ctx.db.dispose()
    return {
        "seconds": elapsed,
        "bytes": size,
        "rows": rows,
        "rss_before_kib": before,
        "rss_peak_kib": max(peak),
        "growth_mib": (max(peak) - before) / MIB,
    }


def run(opts: Options) -> dict[str, Any]:
    count = opts.size(FULL, minimum=2_000)
    rate = Side("hazards ledger rows per second (CSV)", "rows/s")
    figures: dict[str, list[dict[str, Any]]] = {fmt: [] for fmt in FORMATS}
    with scratch(NAME) as where:
        prepare(where, count)
        for _ in range(opts.rounds):
            for fmt in FORMATS:
                done = subprocess.run(
                    [sys.executable, __file__, "child", str(where), fmt],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                figures[fmt].append(json.loads(done.stdout.strip().splitlines()[-1]))
            csv_round = figures["csv"][-1]
            rate.samples.append(csv_round["rows"] / csv_round["seconds"])
    goals = []
    for fmt in FORMATS:
        worst = max(f["growth_mib"] for f in figures[fmt])
        goals.append(goal(f"RSS growth exporting {fmt}", worst, "<=", 50, " MiB"))
    rows_ok = all(f["rows"] == count for f in figures["csv"])
    goals.append(check("every hazard in the CSV", rows_ok, f"{figures['csv'][-1]['rows']}"))
    xlsx = figures["xlsx"][-1]
    notes = [
        f"{count:,} hazards; CSV {figures['csv'][-1]['bytes'] / 2**20:.1f} MiB in "
        f"{figures['csv'][-1]['seconds']:.1f} s; XLSX {xlsx['bytes'] / 2**20:.1f} MiB in "
        f"{xlsx['seconds']:.1f} s ({count / xlsx['seconds']:,.0f} rows/s)"
    ]
    return result(
        name=NAME,
        compares="hazards ledger export: RSS growth (absolute goal) and rate",
        opts=opts,
        rectify=rate,
        peer=None,
        goals=goals,
        size={"hazards": count},
        notes=notes,
        extra={"figures": figures},
    )


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "child":
    print(json.dumps(child(Path(sys.argv[2]), sys.argv[3])))
