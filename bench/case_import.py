"""import: a hazard ledger of 100,000 rows imported, against APScheduler's persistent add_job.

rectify: the import's whole service path from the sheet's bytes (rectify.hazards.importing:
openpyxl read-only reading, every row checked with the API's rules, then one transaction in
which every row is reported and assigned through `report_in` + `apply('assign')`: the hazard
row, its two chained events, its deadline and three timers). The sheet (one enterprise, a
future deadline a row) is written once per run, outside the timing; HTTP is left out (the
multipart upload adds a copy of the bytes).

peer: APScheduler 3.11's SQLAlchemyJobStore on SQLite with rectify's pragmas, one persistent
`date` job per row (bench/case_deadlines.py's peer): what one durable deadline costs there.

Goal: rectify's rows per second at least 3x the peer's jobs per second, in the same run.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from case_deadlines import peer_side
from common import (
    Options,
    Side,
    add_enterprise,
    credit_code,
    goal,
    head_to_head,
    new_context,
    profiled,
    result,
    scratch,
    timed,
)
from openpyxl import Workbook

from rectify.auth.scope import Caller
from rectify.database.core import utcnow
from rectify.hazards import importing

NAME = "import"
FULL = 100_000
REGION = "420102"
DISPATCHER = Caller(role="dispatcher", name="bench", region_code=REGION)


def sheet(count: int) -> bytes:
    """The template's sheet with `count` rows for enterprise 1 (write-only: constant memory)."""
    book = Workbook(write_only=True)
    rows = book.create_sheet("隐患台账")
    rows.append(list(importing.HEADERS))
    code = credit_code(1, REGION)
    found = (utcnow() + timedelta(hours=8)).strftime("%Y-%m-%d")
    deadline = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    for i in range(count):
        rows.append(
            [code, f"导入隐患 {i}", "", "一般事故隐患", "商贸", "执法检查", f"部位{i}", "否"]
            + [found, "王工", deadline]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rectify_side(opts: Options, data_dir: Path, data: bytes, count: int) -> float:
    ctx = new_context(data_dir)
    add_enterprise(ctx, serial=1, region=REGION)
    try:

        def load() -> None:
            rows = importing.read_sheet(io.BytesIO(data), max_rows=count + 1)
            with ctx.db.engine.connect() as connection:
                checked = importing.check(
                    ctx=ctx, connection=connection, caller=DISPATCHER, rows=rows
                )
            assert not checked.errors, checked.errors[:3]
            ids = importing.import_rows(ctx=ctx, caller=DISPATCHER, rows=checked.rows)
            assert len(ids) == count

        with profiled(opts, NAME):
            seconds, _ = timed(load)
    finally:
        ctx.db.dispose()
    return count / seconds


def run(opts: Options) -> dict:
    count = opts.size(FULL)
    data = sheet(count)
    ours = Side("rectify import (read, check, report+assign, 1 txn)", "rows/s")
    peer = Side("APScheduler 3.11 SQLAlchemyJobStore add_job", "jobs/s")
    with scratch(NAME) as tmp:
        head_to_head(
            opts,
            tmp,
            {
                "rectify": (ours, lambda where: rectify_side(opts, where, data, count)),
                "peer": (peer, lambda where: peer_side(where, count)),
            },
        )
    ratio = ours.median / peer.median
    return result(
        name=NAME,
        compares="a ledger's rows imported per second vs APScheduler durable jobs per second",
        opts=opts,
        rectify=ours,
        peer=peer,
        goals=[goal("rectify / APScheduler rate", ratio, ">=", 3.0, "x")],
        size={"rows_per_round": count, "sheet_bytes": len(data)},
        notes=[f"{count:,} rows a side and round; the sheet is {len(data) / 2**20:.1f} MiB"],
    )
