"""deadlines: registering durable deadlines, one transaction per hazard.

rectify: a hazard reported and assigned with a deadline through the service layer
(`hazards.service.report_in` + `apply('assign')`, the same calls `seed_assigned` makes, but one
write transaction per hazard instead of 500): the hazard row, its two events in the hash chain
and its three timers (plan due, reminder, rectification deadline) commit together, SQLite WAL
with synchronous=FULL as rectify.database configures.

peer: APScheduler 3.11's SQLAlchemyJobStore on a SQLite file on the same disk with the same
pragmas, one persistent `date` job per hazard added to a started-but-paused scheduler (each
`add_job` commits one pickled row). That is what "one APScheduler job per deadline" costs, the
design rectify's timers table replaces (see LIBRARIES.md), so it is the natural peer.

Goal: rectify's rate at least 0.5x the peer's (issue 11: a deadline here is a hazard row, two
chained events and three timers; the peer's is one pickled row). Both sides write a fixed count
per round into a fresh database; the rate (items/s) is what is compared.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from common import (
    REGION,
    Options,
    Side,
    add_enterprise,
    durable,
    goal,
    head_to_head,
    new_context,
    profiled,
    result,
    scratch,
    sqlite_url,
    timed,
)
from sqlalchemy import create_engine, event

from rectify.auth.scope import Caller
from rectify.database.core import utcnow
from rectify.database.uow import UnitOfWork
from rectify.hazards import service
from rectify.hazards.models import HazardCreate

NAME = "deadlines"
FULL = 100_000  # per side and round, as the issue asks (about 5 minutes per round for rectify)
DISPATCHER = Caller(role="dispatcher", name="bench", region_code=REGION)


def deadline_due(hazard_id: int) -> None:
    """The job APScheduler would run at the deadline (never runs here: the scheduler is paused)."""


def rectify_side(opts: Options, data_dir: Path, count: int) -> float:
    ctx = new_context(data_dir)
    firm = add_enterprise(ctx)
    start = utcnow() + timedelta(days=7)
    try:

        def hazard(i: int) -> Callable[[UnitOfWork], None]:
            def command(uow: UnitOfWork) -> None:
                data = HazardCreate(
                    enterprise_id=firm,
                    title=f"隐患 {i}",
                    grade="general",
                    industry="商贸",
                    source="inspection",
                )
                row = service.report_in(uow=uow, ctx=ctx, caller=DISPATCHER, data=data)
                service.apply(
                    uow=uow,
                    ctx=ctx,
                    caller=DISPATCHER,
                    hazard=row,
                    trigger="assign",
                    payload={
                        "assignee": "王工",
                        "deadline": (start + timedelta(seconds=i)).isoformat(),
                    },
                )

            return command

        def load() -> None:
            for i in range(count):  # one transaction each, through the group-commit writer
                ctx.db.run(hazard(i))

        with profiled(opts, NAME):
            seconds, _ = timed(load)
    finally:
        ctx.db.dispose()
    return count / seconds


def peer_side(data_dir: Path, count: int) -> float:
    engine = create_engine(sqlite_url(data_dir / "jobs.db"))
    event.listen(engine, "connect", durable)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine)}, timezone="UTC"
    )
    scheduler.start(paused=True)
    start = utcnow() + timedelta(days=7)
    try:

        def load() -> None:
            for i in range(count):
                scheduler.add_job(
                    deadline_due,
                    "date",
                    run_date=start + timedelta(seconds=i),
                    args=[i],
                    id=f"hazard-{i}",
                    misfire_grace_time=None,
                )

        seconds, _ = timed(load)
    finally:
        scheduler.shutdown(wait=False)
        engine.dispose()
    return count / seconds


def run(opts: Options) -> dict:
    count = opts.size(FULL)
    ours = Side("rectify report+assign, 1 txn per hazard", "hazards/s")
    peer = Side("APScheduler 3.11 SQLAlchemyJobStore add_job", "jobs/s")
    with scratch(NAME) as tmp:
        head_to_head(
            opts,
            tmp,
            {
                "rectify": (ours, lambda where: rectify_side(opts, where, count)),
                "peer": (peer, lambda where: peer_side(where, count)),
            },
        )
    ratio = ours.median / peer.median
    notes = [f"{count:,} items per side and round, one transaction each"]
    return result(
        name=NAME,
        compares="durable deadlines registered per second: rectify vs APScheduler job store",
        opts=opts,
        rectify=ours,
        peer=peer,
        goals=[goal("rectify / APScheduler rate", ratio, ">=", 0.5, "x")],
        size={"items_per_round": count},
        notes=notes,
    )
