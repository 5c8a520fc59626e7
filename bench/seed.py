"""Many assigned hazards at once, written with batched raw inserts instead of the service.

Each hazard is what `report` + `assign` through the service leaves behind: the hazard row in
state `assigned` with its deadline and assignee, its two events (report, assign) hashed and
chained as rectify.audit.chain does (so verify and replay find them sound), and its three
pending timers (plan due, reminder, rectification deadline) at the policy's times. The service
accepts these rows: the timer engine fires them, the API lists and transitions them.

Speed (about 1M hazards a minute here): rows are tuples for sqlite3's executemany; every value
that is the same for all hazards (times, JSON states, template columns from the table models,
so that a new column with a default is filled in) is converted once with SQLAlchemy's own bind
processors; the canonical bytes of the two events are a template in which the hazard's id and
the previous hash are substituted, checked against rectify's canonical_event on the first one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from rectify.audit.chain import GENESIS, canonical_event, canonical_json, link
from rectify.audit.models import Event
from rectify.context import Context
from rectify.hazards.models import Hazard
from rectify.timers.models import Timer

BATCH = 20_000
REPORTER = ("inspector", "inspector:bench")
DISPATCHER = ("dispatcher", "dispatcher:bench")
INITIAL = {"state": "reported", "supervision": "none", "production": "normal", "judicial": "none"}
ASSIGNED = {**INITIAL, "state": "assigned"}
SENTINEL = "987654321987"  # stands for the hazard id inside the templates
PREV = "PREVIOUS-HASH-SENTINEL"


def seed_assigned_raw(
    ctx: Context, *, enterprise_id: int, region_code: str, count: int, at: datetime
) -> range:
    """`count` general hazards reported and assigned at `at` (deadline from the policy);
    returns their ids."""
    policy, definition = ctx.policy, ctx.registry.latest("hazard")
    deadline = policy.rectification_deadline("general", at)
    due = {
        "plan_due": policy.due("plan_due", "general", at),
        "reminder": policy.due("reminder", "general", deadline),
        "rectification": deadline,
    }
    dialect = ctx.db.engine.dialect
    hazard_tpl = Hazard(
        enterprise_id=enterprise_id,
        title="x",
        description="",
        grade="general",
        industry="商贸",
        source="inspection",
        location="一层",
        violation=False,
        region_code=region_code,
        **ASSIGNED,
        workflow_name=definition.name,
        workflow_version=definition.version,
        version=2,
        head_hash=GENESIS,
        reported_by=REPORTER[1],
        assignee="王工",
        assigned_at=at,
        deadline=deadline,
        original_deadline=deadline,
        created_at=at,
        updated_at=at,
        discovered_at=at,
    ).model_dump()
    hazard_cols, hazard_row = _stored(Hazard.__table__, hazard_tpl, dialect)
    timer_tpl = Timer(hazard_id=0, kind="x", due_at=at, created_at=at).model_dump()
    timer_tpl.pop("id", None)
    timer_cols, timer_row = _stored(Timer.__table__, timer_tpl, dialect)
    due_stored = [
        (kind, _stored(Timer.__table__, {"due_at": d}, dialect)[1][0]) for kind, d in due.items()
    ]

    report_payload = canonical_json(
        {
            "description": "",
            "enterprise_id": enterprise_id,
            "grade": "general",
            "industry": "商贸",
            "location": "一层",
            "source": "inspection",
            "title": f"隐患{SENTINEL}",
            "violation": False,
        }
    )
    assign_payload = canonical_json({"assignee": "王工", "deadline": deadline.isoformat()})
    common = dict(at=at, workflow_name=definition.name, workflow_version=definition.version)
    report = dict(
        hazard_id=int(SENTINEL),
        hazard_seq=1,
        trigger="report",
        from_state=None,
        to_state=INITIAL,
        actor=REPORTER[1],
        role=REPORTER[0],
        payload=report_payload,
        prev_hash=GENESIS,
        **common,
    )
    assign = dict(
        report,
        hazard_seq=2,
        trigger="assign",
        from_state=INITIAL,
        to_state=ASSIGNED,
        actor=DISPATCHER[1],
        role=DISPATCHER[0],
        payload=assign_payload,
        prev_hash=PREV,
    )
    report_canon = canonical_event(**report).decode()
    assign_canon = canonical_event(**assign).decode()
    event_keys = [k for k in report if k not in ("hazard_id", "payload", "prev_hash")]
    event_cols = [*event_keys, "hazard_id", "payload", "prev_hash", "hash"]
    report_const = _stored(Event.__table__, {k: report[k] for k in event_keys}, dialect)[1]
    assign_const = _stored(Event.__table__, {k: assign[k] for k in event_keys}, dialect)[1]

    conn = ctx.db.engine.raw_connection()
    try:
        cur = conn.cursor()
        first = cur.execute("SELECT coalesce(max(id), 0) FROM hazards").fetchone()[0] + 1
        sql_h = _insert("hazards", ["id", "title", "head_hash", *hazard_cols])
        sql_e = _insert("events", event_cols)
        sql_t = _insert("timers", ["hazard_id", "kind", "due_at", *timer_cols])
        h_rows: list[tuple] = []
        e_rows: list[tuple] = []
        t_rows: list[tuple] = []
        genesis = GENESIS.encode()
        for hid in range(first, first + count):
            sid = str(hid)
            payload = report_payload.replace(SENTINEL, sid)
            h1 = hashlib.sha256(genesis + report_canon.replace(SENTINEL, sid).encode()).hexdigest()
            canon2 = assign_canon.replace(SENTINEL, sid).replace(PREV, h1).encode()
            h2 = hashlib.sha256(h1.encode() + canon2).hexdigest()
            if hid == first:  # the templates give exactly rectify's canonical bytes
                real = dict(report, hazard_id=hid, payload=payload)
                assert link(GENESIS, canonical_event(**real)) == h1
                real2 = dict(assign, hazard_id=hid, prev_hash=h1)
                assert link(h1, canonical_event(**real2)) == h2
            e_rows.append((*report_const, hid, payload, GENESIS, h1))
            e_rows.append((*assign_const, hid, assign_payload, h1, h2))
            h_rows.append((hid, f"隐患{sid}", h2, *hazard_row))
            for kind, when in due_stored:
                t_rows.append((hid, kind, when, *timer_row))
            if len(h_rows) >= BATCH:
                _flush(cur, (sql_h, h_rows), (sql_e, e_rows), (sql_t, t_rows))
        _flush(cur, (sql_h, h_rows), (sql_e, e_rows), (sql_t, t_rows))
        cur.close()
    finally:
        conn.close()
    return range(first, first + count)


def _stored(table: Table, values: dict[str, Any], dialect: Any) -> tuple[list[str], tuple]:
    """Column names (those given, minus the per-row ones) and their values as SQLite stores
    them, converted by the columns' own bind processors."""
    cols, out = [], []
    for name, value in values.items():
        if name in ("id", "title", "head_hash", "hazard_id", "kind") and len(values) > 1:
            continue
        column = table.c[name]
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        cols.append(name)
        out.append(process(value) if process and value is not None else value)
    return cols, tuple(out)


def _insert(table: str, cols: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def _flush(cur: Any, *batches: tuple[str, list[tuple]]) -> None:
    if not batches[0][1]:
        return
    cur.execute("BEGIN IMMEDIATE")
    for sql, rows in batches:
        cur.executemany(sql, rows)
        rows.clear()
    cur.execute("COMMIT")
