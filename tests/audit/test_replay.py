"""Replay through the pinned workflow: the whole state at any instant, and every divergence."""

from __future__ import annotations

from datetime import datetime, timedelta

from rectify.audit.replay import replay
from rectify.auth.scope import Caller
from tests.audit.helpers import eventful, tamper, update_event
from tests.support import World

AUDITOR = Caller(role="auditor", name="a")


def _replay(world: World, hid: int, who: str = "auditor", at: datetime | None = None) -> dict:
    params = {"at": at.isoformat()} if at else {}
    r = world.client.get(f"/api/v1/hazards/{hid}/replay", params=params, headers=world.h(who))
    assert r.status_code == 200, r.text
    return r.json()


def test_replay_rebuilds_state_branches_deadline_grade_level_and_penalties(world: World) -> None:
    hid = eventful(world)
    stored = world.get(hid)
    body = _replay(world, hid)
    assert body["consistent"] is True, body["divergences"]
    assert body["divergences"] == []
    assert body["events_applied"] == stored["version"] == len(world.history(hid))
    for field in ("state", "supervision", "production", "judicial", "grade", "supervision_level"):
        assert body[field] == stored[field], field
    assert (body["state"], body["supervision"], body["production"]) == (
        "closed",
        "delisted",
        "resumed",
    )
    assert datetime.fromisoformat(body["deadline"]) == datetime.fromisoformat(stored["deadline"])
    assert body["grade"] == "major" and body["supervision_level"] == "county"
    assert [p["decision_no"] for p in body["penalties"]] == ["罚〔2026〕7号"]
    assert body["verify_failures"] == 1 and body["resolution"] == "rectified"
    assert body["labels"]["state"] == "已销号"
    assert _replay(world, hid, who="dispatcher")["consistent"] is True


def test_replay_at_each_instant_gives_the_state_then(world: World) -> None:
    w, clock = world, world.clock
    hid = w.report()["id"]
    seen = {clock.now: w.get(hid)}
    clock.advance(hours=1)
    w.fire(hid, "dispatcher", "assign", assignee="王工")
    seen[clock.now] = w.get(hid)
    clock.advance(hours=1)
    w.fire(hid, "enterprise", "accept", plan=w.plan())
    seen[clock.now] = w.get(hid)
    clock.advance(days=1)
    w.fire(hid, "dispatcher", "list_for_supervision", level="county", document_no="督1")
    new_deadline = (clock.now + timedelta(days=30)).isoformat()
    w.fire(hid, "enterprise", "request_extension", reason="缺料", new_deadline=new_deadline)
    w.fire(hid, "dispatcher", "decide_extension", approved=True)
    seen[clock.now] = w.get(hid)
    clock.advance(days=1)
    for moment, then in seen.items():
        body = _replay(w, hid, at=moment)
        assert body["consistent"], body["divergences"]
        assert body["version"] == then["version"]
        assert (body["state"], body["supervision"]) == (then["state"], then["supervision"])
        assert body["supervision_level"] == then["supervision_level"]
        got = body["deadline"] and datetime.fromisoformat(body["deadline"])
        assert got == (then["deadline"] and datetime.fromisoformat(then["deadline"]))
    between = _replay(w, hid, at=min(seen) + timedelta(minutes=30))
    assert between["state"] == "reported" and between["events_applied"] == 1


def test_replay_roles_scope_and_bad_instants(world: World) -> None:
    hid = world.to("assigned")
    url = f"/api/v1/hazards/{hid}/replay"
    for who in ("enterprise", "inspector", "admin"):
        r = world.client.get(url, headers=world.h(who))
        assert r.status_code == 403, who
        assert r.headers["content-type"].startswith("application/problem+json")
    assert world.client.get(url, headers=world.h("auditor_elsewhere")).status_code == 404
    assert world.client.get("/api/v1/hazards/999/replay", headers=world.h("auditor")).status_code
    early = (world.clock.now - timedelta(days=1)).isoformat()
    r = world.client.get(url, params={"at": early}, headers=world.h("auditor"))
    assert r.status_code == 422 and "before the hazard was reported" in r.text
    r = world.client.get(url, params={"at": "yesterday"}, headers=world.h("auditor"))
    assert r.status_code == 422


def _kinds(ctx, hid: int) -> dict[int, set[str]]:
    body = replay(ctx=ctx, caller=AUDITOR, hazard_id=hid)
    out: dict[int, set[str]] = {}
    for d in body["divergences"]:
        out.setdefault(d["hazard_seq"], set()).add(d["kind"])
    return out


def test_a_rewritten_from_state_is_a_from_divergence(world: World) -> None:
    hid = world.to("verified")
    fake = {"state": "reported", "supervision": "none", "production": "normal", "judicial": "none"}
    update_event(world.ctx, hid, 4, from_state=fake)
    assert _kinds(world.ctx, hid) == {4: {"from", "hash"}}


def test_a_trigger_the_definition_does_not_allow_is_reported(world: World) -> None:
    hid = world.to("rectifying")
    # accept (assigned → rectifying) rewritten as a close, which needs `verified`.
    update_event(world.ctx, hid, 3, trigger="close")
    kinds = _kinds(world.ctx, hid)
    assert kinds[3] >= {"trigger", "hash", "to"}
    body = replay(ctx=world.ctx, caller=AUDITOR, hazard_id=hid)
    assert body["consistent"] is False
    assert any("close is not allowed" in d["detail"] for d in body["divergences"])


def test_a_rewritten_to_state_and_a_tampered_row_are_reported(world: World) -> None:
    hid = world.to("awaiting_verification")
    before = world.history(hid)[4]["from"]  # confirm_rectified, after the evidence upload
    update_event(world.ctx, hid, 5, to_state=before)
    assert _kinds(world.ctx, hid)[5] >= {"to", "hash"}
    other = world.to("rectifying")
    tamper(
        world.ctx, "UPDATE hazards SET state = 'verified', grade = 'major' WHERE id = :h", h=other
    )
    body = replay(ctx=world.ctx, caller=AUDITOR, hazard_id=other)
    stored = [d for d in body["divergences"] if d["kind"] == "stored"]
    assert body["state"] == "rectifying" and body["grade"] == "general"
    assert {d["detail"].split()[4] for d in stored} == {"state", "grade"}


def test_a_rewritten_event_among_repeats_is_caught_each_time(world: World) -> None:
    """report_progress repeats the same move; a rewritten event among the repeats is still
    caught, each time."""
    hid = world.to("rectifying")
    for i in range(12):
        world.fire(hid, "enterprise", "report_progress", note=f"第{i}次", percent=i)
    body = replay(ctx=world.ctx, caller=AUDITOR, hazard_id=hid)
    assert body["consistent"] is True and body["events_applied"] == 15
    done = {"state": "verified", "supervision": "none", "production": "normal", "judicial": "none"}
    update_event(world.ctx, hid, 8, trigger="accept")
    update_event(world.ctx, hid, 11, from_state=done)
    update_event(world.ctx, hid, 13, role="dispatcher")
    kinds = _kinds(world.ctx, hid)
    assert kinds[8] >= {"trigger", "hash"} and kinds[11] == {"from", "hash"}
    assert kinds[13] == {"trigger", "hash"}
    assert set(kinds) == {8, 11, 13}
