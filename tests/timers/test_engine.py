"""The timer engine with an injected clock: each timer fires once, through the same path as
the API (history, hash chain), and the escalation ladder does what config/policy.toml says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from rectify.audit.verify import verify
from rectify.database.uow import UnitOfWork
from rectify.hazards import service as hazards
from rectify.hazards.row import HazardRow
from rectify.timers.engine import catch_up, fire_due
from rectify.timers.models import Timer
from rectify.timers.policy import Policy
from tests.support import World


def events(world: World, hid: int) -> list[str]:
    return [e["trigger"] for e in world.history(hid)]


def sweep(world: World) -> int:
    return catch_up(ctx=world.ctx, limit=50)


def test_deadline_missed_fires_once_with_due_and_fired_times(world: World) -> None:
    hid = world.to("rectifying")
    deadline = world.get(hid)["deadline"]
    world.clock.advance(days=7, seconds=1)
    sweep(world)
    sweep(world)  # a second sweep finds nothing left to fire
    missed = [e for e in world.history(hid) if e["trigger"] == "deadline_missed"]
    assert len(missed) == 1
    event = missed[0]
    assert event["actor"] == "system:scheduler" and event["role"] == "system"
    assert event["payload"]["due_at"].replace("Z", "+00:00")[:19] == deadline[:19]
    assert event["payload"]["fired_at"] > event["payload"]["due_at"]
    assert world.get(hid)["overdue"] is True


def test_reminder_one_day_before_the_deadline(world: World) -> None:
    hid = world.to("rectifying")
    world.clock.advance(days=5, hours=23)
    sweep(world)
    assert "deadline_reminder" not in events(world, hid)
    world.clock.advance(hours=1, seconds=1)
    sweep(world)
    assert events(world, hid).count("deadline_reminder") == 1
    assert "deadline_missed" not in events(world, hid)


def test_plan_overdue_only_when_not_accepted(world: World) -> None:
    late = world.to("assigned")
    on_time = world.to("rectifying")
    world.clock.advance(days=1, seconds=1)
    sweep(world)
    assert "plan_overdue" in events(world, late)
    assert "plan_overdue" not in events(world, on_time)


def test_general_ladder_notifies_then_lists_at_county_after_three_days(world: World) -> None:
    hid = world.to("rectifying")
    world.clock.advance(days=7, seconds=1)
    sweep(world)
    assert events(world, hid)[-2:] == ["deadline_missed", "escalation_notice"]
    assert world.get(hid)["supervision"] == "none"
    world.clock.advance(days=3)
    sweep(world)
    listing = world.history(hid)[-1]
    assert listing["trigger"] == "list_for_supervision"
    assert listing["actor"] == "system:scheduler"
    assert listing["payload"]["level"] == "county"
    # The system's listing is numbered by its 挂牌督办通知书 (config/documents.toml).
    assert listing["payload"]["document_no"] == listing["payload"]["document"]["number"]
    assert listing["payload"]["document_no"] == "鄂汉岸安委办督〔2026〕1号"
    assert world.get(hid)["supervision"] == "listed"


def test_major_overdue_is_listed_at_city_level_at_once(world: World) -> None:
    hid = world.to("rectifying", grade="major")
    world.clock.advance(days=30, seconds=1)
    sweep(world)
    assert events(world, hid)[-2:] == ["deadline_missed", "list_for_supervision"]
    body = world.get(hid)
    assert body["supervision"] == "listed" and body["supervision_level"] == "city"
    # Listed and still overdue after P7D: recommend suspension and a penalty (安全生产法 art.
    # 102), notify only: nothing is ordered.
    world.clock.advance(days=7)
    sweep(world)
    notices = world.history(hid)[-2:]
    assert [n["trigger"] for n in notices] == ["escalation_notice", "escalation_notice"]
    assert [n["payload"]["action"] for n in notices] == [
        "recommend_suspension",
        "recommend_penalty",
    ]
    assert world.get(hid)["production"] == "normal" and world.get(hid)["penalties"] == []


def test_progress_overdue_only_while_listed(world: World) -> None:
    listed = world.to("rectifying")
    world.fire(listed, "dispatcher", "list_for_supervision", level="county", document_no="督1")
    plain = world.to("rectifying")
    world.clock.advance(days=3, seconds=1)
    sweep(world)
    assert "progress_overdue" in events(world, listed)
    assert "progress_overdue" not in events(world, plain)


def test_progress_within_3_days_is_once_unless_the_policy_makes_it_recurring(
    world: World,
) -> None:
    """13710 says "report progress within 3 days": by default a report does not restart the
    timer; an office whose policy says `recurring = true` gets one every 3 days."""
    once = world.to("rectifying")
    world.fire(once, "dispatcher", "list_for_supervision", level="county", document_no="督1")
    world.clock.advance(days=2)
    world.fire(once, "enterprise", "report_progress", note="过半")
    world.clock.advance(days=1, seconds=1)
    sweep(world)
    assert "progress_overdue" in events(world, once)  # 3 days after the listing

    data = world.ctx.policy.model_dump(mode="python", exclude={"overrides", "applied"})
    for grade in ("general", "major"):
        data["grades"][grade]["timers"]["progress_due"]["recurring"] = True
    world.ctx.policy = Policy.model_validate(data).use_calendar(world.ctx.calendar)
    again = world.to("rectifying")
    world.fire(again, "dispatcher", "list_for_supervision", level="county", document_no="督2")
    world.clock.advance(days=2)
    world.fire(again, "enterprise", "report_progress", note="过半")
    world.clock.advance(days=2)
    sweep(world)
    assert "progress_overdue" not in events(world, again)  # restarted by the report


def test_approved_extension_moves_the_deadline_timer(world: World) -> None:
    hid = world.to("rectifying")
    new_deadline = world.clock.now + timedelta(days=14)
    world.fire(
        hid,
        "enterprise",
        "request_extension",
        reason="设备到货延迟",
        new_deadline=new_deadline.isoformat(),
    )
    world.fire(hid, "dispatcher", "decide_extension", approved=True)
    world.clock.advance(days=8)
    sweep(world)
    assert "deadline_missed" not in events(world, hid)
    world.clock.advance(days=6, seconds=1)
    sweep(world)
    assert events(world, hid).count("deadline_missed") == 1


def test_verification_overdue_records_accountability(world: World) -> None:
    hid = world.to("awaiting_verification")
    world.clock.advance(days=10, seconds=1)
    sweep(world)
    event = world.history(hid)[-1]
    assert event["trigger"] == "verification_overdue"
    assert event["payload"]["accountability"]["entry"] == "追责问责"


def test_judicial_decision_overdue(world: World) -> None:
    hid = world.to("rectifying")
    sha = world.upload(hid, seed=5)
    world.fire(
        hid,
        "dispatcher",
        "transfer_to_judicial",
        receiving_organ="公安分局",
        case_summary="涉嫌危险作业罪",
        officers=["张伟", "刘洋"],
        attachments=[sha],
    )
    world.clock.advance(days=3, seconds=1)
    sweep(world)
    assert "judicial_decision_overdue" in events(world, hid)


def test_confirmation_cancels_rectification_timers(world: World) -> None:
    hid = world.to("awaiting_verification")
    world.clock.advance(days=8)
    sweep(world)
    assert "deadline_missed" not in events(world, hid)
    assert [t["kind"] for t in world.get(hid)["pending_timers"]] == ["verification_due"]


def test_a_timer_whose_hazard_moved_on_does_nothing(world: World) -> None:
    # A stale timer that escaped cancellation (say, written by an older version) is checked
    # against the hazard's state and marked skipped without an event.
    hid = world.to("verified")
    with world.ctx.db.write() as session:
        stale = Timer(hazard_id=hid, kind="plan_due", due_at=world.clock.now)
        session.add(stale)
    before = events(world, hid)
    world.clock.advance(seconds=1)
    batch = fire_due(ctx=world.ctx)
    assert batch.claimed == 1 and batch.skipped == 1
    assert events(world, hid) == before
    with world.ctx.db.session() as session:
        timer = session.get(Timer, stale.id)
    assert timer.outcome == "skipped" and timer.fired_at is not None


def test_catch_up_fires_oldest_first_in_bounded_batches(world: World) -> None:
    ids = [world.to("assigned") for _ in range(5)]
    world.clock.advance(days=40)
    first = fire_due(ctx=world.ctx, limit=3)
    assert first.claimed == 3
    rest = catch_up(ctx=world.ctx, limit=3)
    with world.ctx.db.session() as session:
        fired = session.exec(select(Timer).where(Timer.fired_at != None)).all()  # noqa: E711
    assert rest >= 1
    assert len({t.id for t in fired}) == len(fired)
    # Oldest first: the first batch took the three earliest due timers.
    due = sorted(t.due_at for t in fired)
    assert all(t.fired_at is not None for t in fired)
    assert len(due) >= len(ids)


def test_a_database_error_on_one_timer_does_not_block_the_batch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast batch fails as a whole; redone a timer at a time, the bad one is marked `error`
    and leaves nothing behind (its queued event is discarded with its savepoint)."""
    good, bad = world.to("assigned"), world.to("assigned")
    real = hazards.apply_system

    def failing(*, uow: UnitOfWork, hazard: HazardRow, **kw: Any) -> None:
        real(uow=uow, hazard=hazard, **kw)  # queues the event, moves the row
        if hazard.id == bad:
            raise OperationalError("UPDATE hazards", {}, Exception("disk I/O error"))

    monkeypatch.setattr(hazards, "apply_system", failing)
    world.clock.advance(days=1, seconds=1)  # both plans are overdue
    batch = fire_due(ctx=world.ctx)
    assert (batch.claimed, batch.fired) == (2, 1)
    assert "plan_overdue" in events(world, good)
    assert "plan_overdue" not in events(world, bad)
    with world.ctx.db.session() as session:
        outcomes = {t.hazard_id: t.outcome for t in session.exec(select(Timer)) if t.fired_at}
    assert outcomes == {good: "fired", bad: "error"}
    assert verify(ctx=world.ctx)["ok"], "a discarded event must not reach the chain"
