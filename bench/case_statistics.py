"""statistics: GET /api/v1/statistics for a city over 1,000,000 hazards.

rectify: 1,000,000 hazard rows in one city (420100), spread over ten counties, three grades
and sources, 24 months of discovery dates, every state the figures count (open, overdue,
closed on time and late, dismissed, repeats), written straight into the hazards table with
batched raw inserts (statistics reads only hazard rows: events and timers would change
nothing here). Each round calls `rectify.statistics.service.statistics` as a city dispatcher
would (the API view adds only the JSON encoding of at most a few dozen groups) for
group_by=region (the city's counties), and records the other groupings beside it.

ceiling (absolute goal, no peer): the city view by region answers in at most 1 s.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import Options, Side, add_enterprise, goal, median, new_context, result, scratch, timed

from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.database.core import utcnow
from rectify.hazards.models import Hazard
from rectify.statistics.service import GROUPS, Query, statistics

NAME = "statistics"
FULL = 1_000_000
BATCH = 20_000
CITY = "420100"
COUNTIES = [f"4201{n:02d}" for n in range(2, 12)]
STATES = (
    ["closed"] * 50
    + ["assigned"] * 15
    + ["rectifying"] * 15
    + ["reported"] * 8
    + ["awaiting_verification"] * 4
    + ["verified"] * 3
    + ["dismissed"] * 5
)
SOURCES = ("self_check", "inspection", "public_report", "monitoring")
INDUSTRIES = ("商贸", "化工", "建筑", "冶金", "危险化学品")
TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLite stores rectify's UTC times


def seed(ctx: Context, count: int, now: datetime) -> None:
    """`count` hazard rows of the city, raw (the columns the service would leave)."""
    firms = [add_enterprise(ctx, serial=i + 1, region=c) for i, c in enumerate(COUNTIES)]
    definition = ctx.registry.latest("hazard")
    path = ctx.settings.db_url.removeprefix("sqlite:///")
    columns = [c.name for c in Hazard.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
    rng = random.Random(12)
    start = now - timedelta(days=730)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        cur = conn.cursor()
        sql = f"INSERT INTO hazards ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        rows: list[tuple[Any, ...]] = []
        for i in range(count):
            county = i % len(COUNTIES)
            found = start + timedelta(seconds=rng.randrange(730 * 86400))
            deadline = found + timedelta(days=rng.choice((7, 15, 30, 60)))
            state = rng.choice(STATES)
            closed = state in ("closed", "dismissed")
            done = found + timedelta(hours=rng.randrange(1, 24 * 90))
            seconds = int((done - found).total_seconds())
            values = {
                "enterprise_id": firms[county],
                "title": f"隐患{i}",
                "description": "",
                "grade": "major" if i % 17 == 0 else "general",
                "industry": INDUSTRIES[i % len(INDUSTRIES)],
                "source": SOURCES[i % len(SOURCES)],
                "location": "",
                "violation": 0,
                "region_code": COUNTIES[county],
                "state": state,
                "supervision": "none",
                "production": "normal",
                "judicial": "none",
                "resolution": {"closed": "rectified", "dismissed": "dismissed"}.get(state),
                "supervision_level": None,
                "workflow_name": definition.name,
                "workflow_version": definition.version,
                "version": 2,
                "head_hash": "0" * 64,
                "reported_by": "inspector:bench",
                "assignee": "王工",
                "assigned_at": found.strftime(TIME),
                "deadline": deadline.strftime(TIME),
                "deadline_provisional": 0,
                "plan": None,
                "pending_extension": None,
                "verify_failures": 0,
                "penalty_count": 0,
                "self_managed": 0,
                "created_at": found.strftime(TIME),
                "updated_at": found.strftime(TIME),
                "discovered_at": found.strftime(TIME),
                "rectified_at": done.strftime(TIME) if state == "closed" else None,
                "closed_at": done.strftime(TIME) if closed else None,
                "seconds_to_close": seconds if state == "closed" else None,
                "tenths_to_close": seconds // 8640 if state == "closed" else None,
                "recurrence_of": 1 if i % 50 == 0 and i else None,
            }
            rows.append(tuple(values[c] for c in columns))
            if len(rows) >= BATCH:
                _flush(cur, sql, rows)
        _flush(cur, sql, rows)
        cur.execute("ANALYZE")
    finally:
        conn.close()


def _flush(cur: sqlite3.Cursor, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        cur.execute("BEGIN IMMEDIATE")
        cur.executemany(sql, rows)
        cur.execute("COMMIT")
        rows.clear()


def run(opts: Options) -> dict:
    count = opts.size(FULL)
    now = datetime.now(UTC).replace(microsecond=0)
    caller = Caller(role="dispatcher", name="bench-city", region_code=CITY)
    ours = Side("city statistics by region (service call)", "s", higher_is_better=False)
    others: dict[str, list[float]] = {g: [] for g in GROUPS if g != "region"}
    with scratch(NAME) as tmp:
        ctx = new_context(Path(tmp) / "db", clock=lambda: now)
        try:
            seconds, _ = timed(lambda: seed(ctx, count, now))
            print(f"  seeded {count:,} hazards in {seconds:.0f} s", flush=True)
            answer: dict[str, Any] = {}
            for r in range(opts.rounds):
                for group_by in GROUPS:
                    query = Query(group_by=group_by)
                    with ctx.db.engine.connect() as connection:
                        took, answer_now = timed(
                            lambda q=query, c=connection: statistics(
                                connection=c,
                                dialect=ctx.db.dialect,
                                caller=caller,
                                query=q,
                                now=utcnow(),
                            )
                        )
                    if group_by == "region":
                        ours.samples.append(took)
                        answer = answer_now
                    else:
                        others[group_by].append(took)
                print(f"  round {r + 1}: by region {ours.samples[-1]:.3f} s", flush=True)
            assert answer["total"]["reported"] == count, answer["total"]
        finally:
            ctx.db.dispose()
    return result(
        name=NAME,
        compares="a city's statistics over its hazards: seconds per answer (lower is better)",
        opts=opts,
        rectify=ours,
        peer=None,
        goals=[goal("city view by region", ours.median, "<=", 1.0, " s")],
        size={"hazards": count, "counties": len(COUNTIES)},
        notes=[f"by {g}: {median(v):.3f} s" for g, v in others.items()],
        extra={"by_group_s": {g: round(median(v), 4) for g, v in others.items()}},
    )
