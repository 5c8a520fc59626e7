"""Helpers for the audit tests: histories built through the API, and tampering behind its back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text, update

from rectify.audit.models import Event
from rectify.context import Context
from tests.support import World


def tamper(ctx: Context, sql: str, **params: Any) -> None:
    """Raw SQL straight to the database, as an attacker with database access would."""
    with ctx.db.engine.begin() as conn:
        conn.execute(text(sql), params)


def update_event(ctx: Context, hazard_id: int, hazard_seq: int, **values: Any) -> None:
    """UPDATE one event row directly (typed per backend: JSON columns, UTC times)."""
    table = Event.__table__
    stmt = (
        update(table)
        .where(table.c.hazard_id == hazard_id, table.c.hazard_seq == hazard_seq)
        .values(**values)
    )
    with ctx.db.engine.begin() as conn:
        assert conn.execute(stmt).rowcount == 1


def scalar(ctx: Context, sql: str, **params: Any) -> Any:
    with ctx.db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def eventful(world: World) -> int:
    """A major hazard with an extension, a regrade, a listing, a failed verification, a penalty,
    a suspension and its lifting, and a close: every effect replay has to rebuild."""
    w, clock = world, world.clock
    hid = w.report(grade="general", violation=True)["id"]
    w.fire(hid, "dispatcher", "assign", assignee="王工")
    clock.advance(hours=2)
    w.fire(hid, "inspector", "regrade", grade="major", basis="工贸企业重大事故隐患判定标准 第四条")
    w.fire(hid, "enterprise", "accept", plan=w.plan("major"))
    clock.advance(days=1)
    w.fire(hid, "dispatcher", "list_for_supervision", level="county", document_no="督〔2026〕1号")
    w.fire(hid, "enterprise", "report_progress", note="完成一半", percent=50)
    new_deadline = (clock.now + timedelta(days=60)).isoformat()
    w.fire(hid, "enterprise", "request_extension", reason="设备到货延迟", new_deadline=new_deadline)
    w.fire(hid, "dispatcher", "decide_extension", approved=True, note="同意")
    w.fire(hid, "dispatcher", "order_suspension", order_no="停〔2026〕1号", reason="重大隐患")
    clock.advance(days=3)
    w._step(hid, "awaiting_verification", "major")
    w.fire(
        hid,
        "inspector",
        "verify_fail",
        findings="仍有堆放",
        new_deadline=(clock.now + timedelta(days=20)).isoformat(),
    )
    clock.advance(days=1)
    w.fire(
        hid,
        "dispatcher",
        "record_penalty",
        decision_no="罚〔2026〕7号",
        kind="fine",
        amount_yuan=20000,
        legal_basis="安全生产法第一百零二条",
    )
    w._step(hid, "awaiting_verification", "major")
    w.fire(hid, "inspector", "verify_pass", note="复查合格")
    clock.advance(hours=5)
    w.fire(hid, "dispatcher", "close", note="销号")
    return hid


def several(world: World) -> list[int]:
    """A few hazards in different states, one in each firm at least."""
    ids = [world.to("closed"), world.to("rectifying"), world.to("reported")]
    other = world.report(who="dispatcher_elsewhere", enterprise_id=world.other_firm)["id"]
    world.fire(other, "dispatcher_elsewhere", "assign", assignee="赵工")
    return [*ids, other]
