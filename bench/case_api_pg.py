"""api_pg: the api case on PostgreSQL, with one and with two `rectify serve` processes.

rectify: `POST /api/v1/hazards/{id}/transitions` with `report_progress` as the enterprise over a
pool of rectifying hazards (bench/transition.lua), 32 connections from wrk in all, against one
`rectify serve` on PostgreSQL, then against two serving the same database (two wrk processes of
16 connections each, one per server, run at once; their rates add up). Each process has its own
group-commit writer; PostgreSQL's row locks keep two processes' transitions of one hazard apart.

ceiling: `GET /healthz` of the same process(es), with the same wrk settings, in the same run.

No goal (the issue asks for the figures): the rates, the ratio to /healthz, the transitions'
p99, and how two processes compare with one. The database is `bench_pg` on the local server
(RECTIFY_BENCH_POSTGRES_URL to change it), emptied and migrated at the start.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from case_api import LUA, ensure_wrk, wrk
from common import REGION, Options, Side, in_turn, median, result, scratch
from sqlalchemy import create_engine, text

from rectify.auth import service as auth
from rectify.auth.scope import Caller
from rectify.config import Settings
from rectify.context import Context, build_context
from rectify.database.migrate import upgrade
from rectify.database.uow import UnitOfWork
from rectify.enterprises.models import Enterprise
from rectify.hazards import service
from rectify.hazards.models import HazardCreate
from tests.processes import Server

NAME = "api_pg"
URL = os.environ.get(
    "RECTIFY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_pg"
)
POOL = 500
CONNECTIONS = 32
PLAN = {
    "measures": "整改",
    "responsible_person": "李",
    "deadline": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
}


def empty(url: str) -> None:
    """Drop everything in the bench database (it is the bench's own)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def seed(data_dir: Path) -> tuple[range, str]:
    """A pool of rectifying hazards (reported, assigned, accepted through the service)."""
    empty(URL)
    upgrade(URL)
    settings = Settings(
        database_url=URL,
        data_dir=data_dir,
        scheduler=False,
        demo=False,
        documents_require_officers=False,
    )
    ctx: Context = build_context(settings)
    try:
        with ctx.db.write() as session:
            firm = Enterprise(
                name="基准企业",
                credit_code="91420102MA4K000013",
                industry="商贸",
                region_code=REGION,
            )
            session.add(firm)
            session.flush()
            firm_id = firm.id
            _, token = auth.create_token(
                session=session, role="enterprise", name="bench", enterprise_id=firm_id
            )
        dispatcher = Caller("dispatcher", "bench", region_code=REGION)
        enterprise = Caller("enterprise", "bench", enterprise_id=firm_id)
        data = HazardCreate(
            enterprise_id=firm_id,
            title="隐患",
            grade="general",
            industry="商贸",
            source="inspection",
        )

        def one(uow: UnitOfWork) -> int:
            hazard = service.report_in(uow=uow, ctx=ctx, caller=dispatcher, data=data)
            for caller, trigger, payload in (
                (dispatcher, "assign", {"assignee": "王工"}),
                (enterprise, "accept", {"plan": PLAN}),
            ):
                service.apply(
                    uow=uow, ctx=ctx, caller=caller, hazard=hazard, trigger=trigger, payload=payload
                )
            return hazard.id

        ids = [ctx.db.run(one) for _ in range(POOL)]
    finally:
        ctx.db.dispose()
    return range(ids[0], ids[-1] + 1), token


def commit_ms(url: str, count: int = 200) -> float:
    """What one durable commit of a one-row INSERT costs on this server now, in ms (the floor
    under any transition; the server is shared, so it is measured in the same run)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_commit (id serial, at text)"))
            conn.commit()
            start = time.perf_counter()
            for _ in range(count):
                conn.execute(text("INSERT INTO bench_commit (at) VALUES ('x')"))
                conn.commit()
            return 1000 * (time.perf_counter() - start) / count
    finally:
        engine.dispose()


def together(urls: list[str], seconds: int, script: Path | None, env: dict[str, str]) -> dict:
    """wrk against each url at once, the connections split between them; rates add up."""
    per = CONNECTIONS // len(urls)
    with ThreadPoolExecutor(len(urls)) as pool:
        runs = list(
            pool.map(lambda u: wrk(u, seconds, script, env, connections=per, threads=1), urls)
        )
    return {
        "rps": sum(r["rps"] for r in runs),
        "p50_ms": max(r["p50_ms"] for r in runs),
        "p99_ms": max(r["p99_ms"] for r in runs),
        "non_2xx": sum(r["non_2xx"] for r in runs),
    }


def measure(
    opts: Options, servers: list[Server], seconds: int, env: dict[str, str]
) -> tuple[Side, Side, list[float], int]:
    ours = Side(f"POST report_progress, {len(servers)} process(es)", "transitions/s")
    noop = Side(f"GET /healthz, {len(servers)} process(es)", "requests/s")
    p99s: list[float] = []
    errors = 0
    urls = [s.url for s in servers]
    together([f"{u}/healthz" for u in urls], 1, None, {})  # warm up
    for r in range(opts.rounds):
        for which in in_turn(r, "rectify", "noop"):
            if which == "rectify":
                m = together(urls, seconds, LUA, env)
                ours.samples.append(m["rps"])
                p99s.append(m["p99_ms"])
                errors += m["non_2xx"]
            else:
                m = together([f"{u}/healthz" for u in urls], seconds, None, {})
                noop.samples.append(m["rps"])
            print(
                f"  {len(servers)} proc round {r + 1}: {which} {m['rps']:,.0f}/s "
                f"p99 {m['p99_ms']:.1f} ms",
                flush=True,
            )
    return ours, noop, p99s, errors


def run(opts: Options) -> dict:
    ensure_wrk()
    seconds = 3 if opts.quick else 10
    figures = {}
    redone: dict[int, int] = {}
    with scratch(NAME) as tmp:
        ids, token = seed(tmp)
        env = {"FIRST": str(ids[0]), "LAST": str(ids[-1]), "TOKEN": token}
        for n in (1, 2):
            servers = [Server(tmp / f"serve-{i}", URL) for i in range(n)]
            try:
                for s in servers:
                    s.start()
                figures[n] = measure(opts, servers, seconds, env)
            finally:
                for s in servers:
                    s.stop()
                # Batches the writer had to redo one by one (a deadlock between two
                # processes' batches shows up here).
                redone[n] = sum(s.output().count("redoing one by one") for s in servers)
        floor = commit_ms(URL)
    one, one_noop, one_p99, one_err = figures[1]
    two, two_noop, two_p99, two_err = figures[2]
    notes = [
        f"PostgreSQL ({URL.rsplit('@', 1)[-1]}), {seconds} s of wrk per side and round, "
        f"{CONNECTIONS} connections in all, pool of {POOL} rectifying hazards",
        f"one process: {one.median:,.0f} transitions/s, {one.median / one_noop.median:.3f}x of "
        f"/healthz ({one_noop.median:,.0f}/s), p99 {median(one_p99):.0f} ms",
        f"two processes: {two.median:,.0f} transitions/s, {two.median / two_noop.median:.3f}x of "
        f"/healthz ({two_noop.median:,.0f}/s), p99 {median(two_p99):.0f} ms; "
        f"{two.median / one.median:.2f}x one process's rate",
        f"one durable commit of a one-row INSERT on this server took {floor:.1f} ms (same run)",
        f"write batches redone one by one (e.g. after a deadlock): {redone[1]} with one "
        f"process, {redone[2]} with two",
    ]
    if one_err or two_err:
        notes.append(f"{one_err + two_err} transitions answered non-2xx (not counted)")
    return result(
        name=NAME,
        compares="HTTP transitions/s on PostgreSQL, one and two serve processes, vs /healthz",
        opts=opts,
        rectify=one,
        peer=one_noop,
        goals=[],
        size={"pool": POOL, "seconds_per_run": seconds, "connections": CONNECTIONS},
        notes=notes,
        extra={
            "commit_ms": round(floor, 2),
            "batches_redone": redone,
            "one_process": {
                "transitions_per_s": round(one.median, 1),
                "healthz_per_s": round(one_noop.median, 1),
                "ratio": round(one.median / one_noop.median, 3),
                "p99_ms": round(median(one_p99), 1),
                "samples": one.as_dict()["samples"],
            },
            "two_processes": {
                "transitions_per_s": round(two.median, 1),
                "healthz_per_s": round(two_noop.median, 1),
                "ratio": round(two.median / two_noop.median, 3),
                "p99_ms": round(median(two_p99), 1),
                "samples": two.as_dict()["samples"],
                "vs_one_process": round(two.median / one.median, 3),
            },
        },
    )
