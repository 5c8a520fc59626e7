"""追责问责 entries are records: opened by the timer engine (a verification overdue, a listed
hazard still overdue at the ladder's last step), listed in scope, resolved once by a dispatcher
with an event in the hazard's chain, and rebuilt the same by replay."""

from __future__ import annotations

from typing import Any

from rectify.accountability.service import ACCOUNTABILITY
from rectify.audit.verify import verify
from rectify.timers.engine import catch_up
from tests.ledgers.helpers import journey
from tests.support import World


def sweep(world: World) -> None:
    catch_up(ctx=world.ctx, limit=50)


def entries(world: World, who: str = "dispatcher", **params: Any) -> list[dict[str, Any]]:
    r = world.client.get("/api/v1/accountability", params=params, headers=world.h(who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return body["items"]


def resolve(world: World, entry_id: int, who: str = "dispatcher", **body: Any) -> Any:
    body = {"outcome": "criticism", "note": "约谈验收人员并通报批评", **body}
    return world.client.post(
        f"/api/v1/accountability/{entry_id}/resolve", json=body, headers=world.h(who)
    )


def overdue_verification(world: World) -> int:
    hid = world.to("awaiting_verification")
    world.clock.advance(days=10, seconds=1)  # verification_due: P10D
    sweep(world)
    return hid


def test_a_missed_verification_opens_an_entry_naming_the_verifying_side(world: World) -> None:
    hid = overdue_verification(world)
    event = world.history(hid)[-1]
    assert event["trigger"] == "verification_overdue"
    [entry] = entries(world)
    assert entry["hazard_id"] == hid and entry["hazard_seq"] == event["hazard_seq"]
    assert entry["rule"] == "verification_overdue" and entry["rule_label"] == "验收逾期"
    assert entry["body"] == "负责复查验收的监管部门（验收方）"
    assert entry["person"] == "王工"  # the person the hazard was assigned to
    assert entry["state"] == "open" and entry["state_label"] == "待处理"
    assert event["payload"]["accountability"]["body"] == entry["body"]
    sweep(world)
    assert len(entries(world)) == 1  # the timer fired once: one entry


def test_resolving_is_an_event_of_the_chain_once_and_replay_agrees(world: World) -> None:
    hid = overdue_verification(world)
    [entry] = entries(world)
    assert resolve(world, entry["id"], who="inspector").status_code == 403
    assert resolve(world, entry["id"], who="dispatcher_elsewhere").status_code == 404
    assert resolve(world, 999999).status_code == 404
    bad = resolve(world, entry["id"], outcome="fired")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "outcome"
    world.clock.advance(hours=2)
    r = resolve(world, entry["id"], person="张三")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "resolved" and done["outcome_label"] == "批评教育"
    assert done["person"] == "张三" and done["resolved_by"] == "dispatcher:dispatcher"
    last = world.history(hid)[-1]
    assert last["trigger"] == "resolve_accountability"
    assert last["payload"] == {
        "accountability_id": entry["id"],
        "note": "约谈验收人员并通报批评",
        "outcome": "criticism",
        "person": "张三",
    }
    assert done["resolved_seq"] == last["hazard_seq"]
    again = resolve(world, entry["id"])
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    # Not a /transitions trigger: only its own use case records it.
    payload = {"accountability_id": entry["id"], "outcome": "other", "note": "x"}
    world.fire(hid, "dispatcher", "resolve_accountability", expect=422, **payload)
    r = world.client.get(f"/api/v1/hazards/{hid}/replay", headers=world.h("auditor"))
    replayed = r.json()
    assert replayed["consistent"], replayed["divergences"]
    assert [(e["state"], e["outcome"], e["person"]) for e in replayed["accountability"]] == [
        ("resolved", "criticism", "张三")
    ]
    assert verify(ctx=world.ctx)["ok"]


def test_replay_notices_an_entry_changed_behind_the_chain(world: World) -> None:
    hid = overdue_verification(world)
    [entry] = entries(world)
    table = ACCOUNTABILITY
    with world.ctx.db.engine.begin() as conn:  # someone edits the table by hand
        changed = table.update().values(state="resolved", outcome="no_fault")
        conn.execute(changed.where(table.c.id == entry["id"]))
    r = world.client.get(f"/api/v1/hazards/{hid}/replay", headers=world.h("auditor"))
    kinds = [(d["kind"], d["detail"]) for d in r.json()["divergences"]]
    assert r.json()["consistent"] is False
    assert any(k == "stored" and "accountability" in d for k, d in kinds), kinds


def test_a_listed_hazard_still_overdue_at_the_last_step_opens_one(world: World) -> None:
    hid = world.to("rectifying")
    world.clock.advance(days=7, seconds=1)  # deadline missed: notify
    sweep(world)
    world.clock.advance(days=3)  # listed at county level (automatic)
    sweep(world)
    assert world.get(hid)["supervision"] == "listed"
    assert entries(world) == []
    world.clock.advance(days=7)  # P10D after the deadline: the last step names accountability
    sweep(world)
    [entry] = entries(world)
    assert entry["rule"] == "listed_overdue" and entry["body"] == "生产经营单位"
    assert entry["person"] == "李强"  # the plan's responsible person
    assert "第3步" in entry["reason"]
    last = world.history(hid)[-1]
    assert last["trigger"] == "escalation_notice" and last["payload"]["step"] == 2
    r = world.client.get(f"/api/v1/hazards/{hid}/replay", headers=world.h("auditor"))
    assert r.json()["consistent"], r.json()["divergences"]
    assert [(e["rule"], e["person"]) for e in r.json()["accountability"]] == [
        ("listed_overdue", "李强")
    ]


def test_listing_is_in_scope_and_filtered(world: World) -> None:
    mine = overdue_verification(world)
    world.clock.advance(days=1)
    other = journey(world, "other", "awaiting_verification")
    world.clock.advance(days=10, seconds=1)
    sweep(world)
    assert {e["hazard_id"] for e in entries(world, "dispatcher_city")} == {mine}
    assert {e["hazard_id"] for e in entries(world, "dispatcher_province")} == {mine, other}
    assert {e["hazard_id"] for e in entries(world, "enterprise")} == {mine}
    assert entries(world, "enterprise_other")[0]["hazard_id"] == other
    everything = entries(world, "admin")
    assert len(everything) == 2
    assert [e["hazard_id"] for e in entries(world, "admin", region="420202")] == [other]
    assert [e["hazard_id"] for e in entries(world, "admin", hazard_id=mine)] == [mine]
    [own] = [e for e in everything if e["hazard_id"] == mine]
    assert resolve(world, own["id"]).status_code == 200
    assert [e["hazard_id"] for e in entries(world, "admin", state="open")] == [other]
    assert [e["hazard_id"] for e in entries(world, "admin", state="resolved")] == [mine]
    for params, name in (({"state": "closed"}, "state"), ({"region": "42"}, "region")):
        r = world.client.get("/api/v1/accountability", params=params, headers=world.h("admin"))
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == [name]
