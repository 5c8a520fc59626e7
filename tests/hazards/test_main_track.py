"""The main track end to end through the API: report → assign → accept → confirm → verify →
close, with the history, hash chain and timers a dispatcher and an auditor rely on."""

from __future__ import annotations

from datetime import timedelta

from tests.support import World
from tests.support import png as world_png


def test_main_track_closes_with_one_event_per_trigger(world: World) -> None:
    hid = world.report()["id"]
    assert world.get(hid)["state"] == "reported"
    world.fire(hid, "dispatcher", "assign", assignee="王工")
    world.fire(hid, "enterprise", "accept", plan=world.plan())
    world.fire(hid, "enterprise", "report_progress", note="过半", percent=50)
    sha = world.upload(hid)
    world.fire(hid, "enterprise", "confirm_rectified", summary="已整改", evidence=[sha])
    world.fire(hid, "inspector", "verify_pass", note="合格")
    body = world.fire(hid, "dispatcher", "close", note="销号")

    assert body["state"] == "closed" and body["state_label"] == "已销号"
    assert body["resolution"] == "rectified"
    assert body["pending_timers"] == []
    events = world.history(hid)
    assert [e["trigger"] for e in events] == [
        "report",
        "assign",
        "accept",
        "report_progress",
        "evidence_added",
        "confirm_rectified",
        "verify_pass",
        "close",
    ]
    assert [e["hazard_seq"] for e in events] == list(range(1, 9))
    assert body["version"] == 8
    for prev, event in zip(events, events[1:], strict=False):
        assert event["prev_hash"] == prev["hash"]
        assert event["from"] == prev["to"]
    assert events[1]["actor"] == "dispatcher:dispatcher" and events[1]["role"] == "dispatcher"
    upload = events[4]
    assert upload["actor"] == "enterprise:enterprise" and upload["role"] == "enterprise"
    assert upload["payload"] == {
        "sha256": sha,
        "size": len(world_png(0)),
        "content_type": "image/png",
        "filename": "photo.png",
    }


def test_assign_uses_policy_deadline_and_starts_timers(world: World) -> None:
    hid = world.report(grade="major")["id"]
    body = world.fire(hid, "dispatcher", "assign", assignee="王工")
    deadline = world.clock.now + timedelta(days=30)  # major: P30D (13710)
    assert body["deadline"].startswith(deadline.strftime("%Y-%m-%dT%H:%M"))
    kinds = {t["kind"] for t in body["pending_timers"]}
    assert kinds == {"plan_due", "rectification", "reminder"}
    assert world.history(hid)[-1]["payload"]["deadline"].startswith(deadline.strftime("%Y-%m-%d"))


def test_overdue_shows_how_late(world: World) -> None:
    hid = world.to("rectifying")
    assert world.get(hid)["overdue"] is False
    world.clock.advance(days=8, hours=2)
    body = world.get(hid)
    assert body["overdue"] is True
    assert body["overdue_seconds"] == (24 + 2) * 3600
    listed = world.client.get("/api/v1/hazards?overdue=true", headers=world.h("dispatcher"))
    assert [h["id"] for h in listed.json()["items"]] == [hid]
