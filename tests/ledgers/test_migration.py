"""Migration 0014 on a database that ran before it: the 追责问责 entries that were only a payload
(`verification_overdue`'s `{"against": ..., "entry": "追责问责"}`) become rows, and each hazard
gets its original deadline from the first deadline its history says was replaced."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import MetaData, Table, create_engine, select

from rectify.accountability.models import Accountability
from rectify.audit.models import Event
from rectify.database.migrate import alembic_config
from rectify.enterprises.models import Enterprise
from rectify.hazards.models import Hazard
from tests.database.test_migrate import fresh_url
from tests.support import credit_code

__all__ = ["fresh_url"]

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
STATE = {"state": "awaiting_verification", "supervision": "none", "production": "normal"}
STATE |= {"judicial": "none"}


def _hazard(hid: int, deadline: datetime) -> dict[str, object]:
    return {
        "id": hid,
        "enterprise_id": 1,
        "title": f"隐患{hid}",
        "description": "",
        "grade": "general",
        "industry": "商贸",
        "source": "inspection",
        "location": "",
        "violation": False,
        "region_code": "420102",
        **STATE,
        "workflow_name": "hazard",
        "workflow_version": 1,
        "version": 3,
        "head_hash": "0" * 64,
        "reported_by": "inspector:old",
        "assignee": "王工",
        "deadline": deadline,
        "deadline_provisional": False,
        "verify_failures": 0,
        "penalty_count": 0,
        "self_managed": False,
        "created_at": T0,
        "updated_at": T0,
    }


def _event(hid: int, seq: int, trigger: str, payload: dict[str, object]) -> dict[str, object]:
    return {
        "hazard_id": hid,
        "hazard_seq": seq,
        "trigger": trigger,
        "from_state": STATE,
        "to_state": STATE,
        "actor": "system:scheduler",
        "role": "system",
        "at": T0 + timedelta(days=seq),
        "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        "workflow_name": "hazard",
        "workflow_version": 1,
        "prev_hash": "0" * 64,
        "hash": f"{hid}{seq}".ljust(64, "0"),
    }


def test_entries_and_original_deadlines_are_filled_in(fresh_url: str) -> None:
    config = alembic_config(fresh_url)
    command.upgrade(config, "0012")
    first, extended = T0 + timedelta(days=7), T0 + timedelta(days=20)
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        # The hazards table as revision 0012 left it (later revisions add columns).
        hazards = Table("hazards", MetaData(), autoload_with=conn)
        firm = {"id": 1, "name": "旧企业", "credit_code": credit_code("420102", 7)}
        firm |= {"industry": "商贸", "region_code": "420102", "closure_recommended": False}
        conn.execute(Enterprise.__table__.insert().values(firm | {"created_at": T0}))  # type: ignore[attr-defined]
        for hid in (1, 2):
            values = _hazard(hid, extended if hid == 1 else first)
            conn.execute(hazards.insert().values({c.name: values.get(c.name) for c in hazards.c}))
        old = {"accountability": {"against": "verifying side (inspector)", "entry": "追责问责"}}
        approved = {"approved": True, "previous_deadline": first.isoformat()}
        for row in (
            _event(1, 1, "decide_extension", approved),
            _event(1, 2, "verification_overdue", old),
            _event(2, 1, "report_progress", {"note": "x"}),
        ):
            conn.execute(Event.__table__.insert().values(row))  # type: ignore[attr-defined]
    command.upgrade(config, "0014")
    hazards, entries = Hazard.__table__, Accountability.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        originals = dict(conn.execute(select(hazards.c.id, hazards.c.original_deadline)).all())
        rows = conn.execute(select(entries)).mappings().all()
    engine.dispose()
    assert originals == {1: first, 2: first}  # 1 was extended from `first`; 2 never moved
    [entry] = rows
    assert (entry["hazard_id"], entry["hazard_seq"], entry["enterprise_id"]) == (1, 2, 1)
    assert entry["rule"] == "verification_overdue" and entry["state"] == "open"
    assert entry["body"] == "负责复查验收的监管部门（验收方）" and entry["person"] is None
    assert entry["region_code"] == "420102" and entry["opened_at"] == T0 + timedelta(days=2)
