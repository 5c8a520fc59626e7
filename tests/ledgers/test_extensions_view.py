"""Extensions in view: the hazard carries its original deadline and every extension request
with its decision, the decider and the time, not only the current deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support import World


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_every_request_with_its_decision_and_the_original_deadline(world: World) -> None:
    hid = world.to("rectifying")
    original = at(world.get(hid)["deadline"])
    assert at(world.get(hid)["original_deadline"]) == original
    assert world.get(hid)["extensions"] == []

    later = original + timedelta(days=10)
    world.fire(
        hid,
        "enterprise",
        "request_extension",
        reason="设备到货延迟",
        new_deadline=later.isoformat(),
    )
    pending = world.get(hid)["extensions"]
    assert [r["decision"] for r in pending] == ["pending"]
    assert pending[0]["decided_by"] is None and pending[0]["decision_label"] == "待审批"
    world.clock.advance(hours=3)
    world.fire(hid, "dispatcher", "decide_extension", approved=True, note="同意延期")
    world.clock.advance(hours=1)
    even_later = later + timedelta(days=5)
    world.fire(
        hid,
        "enterprise",
        "request_extension",
        reason="再次延期",
        new_deadline=even_later.isoformat(),
    )
    world.fire(hid, "dispatcher", "decide_extension", approved=False, note="理由不充分")
    world.fire(
        hid, "enterprise", "request_extension", reason="第三次", new_deadline=even_later.isoformat()
    )
    world.fire(hid, "enterprise", "withdraw_extension", reason="不再需要")

    seen = world.get(hid, who="enterprise")
    assert at(seen["deadline"]) == later
    assert at(seen["original_deadline"]) == original  # the first deadline stays in view
    first, second, third = seen["extensions"]
    assert (first["decision"], first["decision_label"]) == ("approved", "批准")
    assert first["reason"] == "设备到货延迟" and at(first["new_deadline"]) == later
    assert first["requested_by"] == "enterprise:enterprise"
    assert first["decided_by"] == "dispatcher:dispatcher" and first["note"] == "同意延期"
    assert at(first["decided_at"]) - at(first["requested_at"]) == timedelta(hours=3)
    assert at(first["previous_deadline"]) == original
    assert (second["decision"], second["note"]) == ("rejected", "理由不充分")
    assert second["previous_deadline"] is None
    assert (third["decision"], third["decided_by"]) == ("withdrawn", "enterprise:enterprise")
    assert first["decided_seq"] < second["hazard_seq"] < second["decided_seq"] < third["hazard_seq"]


def test_a_request_left_undecided_lapses_when_rectification_ends(world: World) -> None:
    hid = world.to("rectifying")
    later = at(world.get(hid)["deadline"]) + timedelta(days=3)
    world.fire(
        hid, "enterprise", "request_extension", reason="等待", new_deadline=later.isoformat()
    )
    world._step(hid, "awaiting_verification", "general")
    assert world.get(hid)["extensions"][0]["decision"] == "pending"
    world._step(hid, "verified", "general")  # verified: the request is moot
    [request] = world.get(hid)["extensions"]
    assert request["decision"] == "lapsed" and request["decided_by"] == "inspector:inspector"
