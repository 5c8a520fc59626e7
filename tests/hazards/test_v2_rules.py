"""Version 2's rules through the API, with the timer engine and the injected clock: closure
requested then decided, the reconsideration of a refused filing, on-the-spot measures, the
self-check path, and the two other grounds of 安全生产法第一百一十三条."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rectify.timers.engine import catch_up
from rectify.timers.policy import Policy
from tests.support import World

SUSPEND = {"order_no": "停〔2026〕1号", "reason": "重大事故隐患"}
CLOSURE = {"decision_no": "提关〔2026〕1号", "reason": "停产整顿后仍不具备安全生产条件"}
TRANSFER = {
    "receiving_organ": "公安分局",
    "case_summary": "涉嫌危险作业罪",
    "officers": ["张伟", "刘洋"],
}


def triggers(world: World, hid: int) -> list[str]:
    return [e["trigger"] for e in world.history(hid)]


def kinds(world: World, hid: int) -> set[str]:
    return {t["kind"] for t in world.get(hid)["pending_timers"]}


def decided(world: World, decision: str) -> dict[str, Any]:
    day = world.clock.now.date().isoformat()
    return {"decision": decision, "decided_on": day, "decision_no": "区政关1"} | {
        "deciding_body": "武汉市江岸区人民政府"
    }


def test_closure_is_requested_its_decision_is_awaited_and_recorded(world: World) -> None:
    hid = world.to("rectifying", grade="major")
    world.fire(hid, "dispatcher", "order_suspension", **SUSPEND)
    body = world.fire(hid, "dispatcher", "order_closure", **CLOSURE)
    assert body["production"] == "closure_requested" and body["state"] == "rectifying"
    assert "closure_decision_due" in kinds(world, hid)
    world.clock.advance(days=30, seconds=1)  # the government's time (ours: 30 days)
    catch_up(ctx=world.ctx)
    assert "closure_decision_overdue" in triggers(world, hid)
    rejected = world.fire(hid, "dispatcher", "decide_closure", **decided(world, "rejected"))
    assert rejected["production"] == "suspended" and rejected["state"] == "rectifying"
    world.fire(hid, "dispatcher", "order_closure", **CLOSURE)
    body = world.fire(hid, "dispatcher", "decide_closure", **decided(world, "approved"))
    assert (body["state"], body["production"], body["resolution"]) == (
        "closed",
        "shut_down",
        "shut_down",
    )
    assert body["pending_timers"] == []


def test_a_refused_filing_is_reconsidered_within_three_days_or_final(world: World) -> None:
    timely, late = world.to("rectifying"), world.to("rectifying")
    for hid in (timely, late):
        world.fire(
            hid,
            "dispatcher",
            "transfer_to_judicial",
            **TRANSFER,
            attachments=[world.upload(hid, seed=hid)],
        )
        world.fire(
            hid, "dispatcher", "record_judicial_decision", decision="not_filed", reason="不符合条件"
        )
        assert "reconsideration_window" in kinds(world, hid)
    world.clock.advance(days=1)
    body = world.fire(
        timely, "dispatcher", "request_reconsideration", document_no="复议1", reason="证据充分"
    )
    assert body["judicial"] == "reconsideration_requested"
    assert "reconsideration_answer_due" in kinds(world, timely)
    world.clock.advance(days=2, seconds=1)  # the late one's window has closed
    catch_up(ctx=world.ctx)
    assert world.get(late)["judicial"] == "not_filed_final"
    assert "reconsideration_window_closed" in triggers(world, late)
    world.fire(
        late, "dispatcher", "request_reconsideration", expect=409, document_no="复议2", reason="x"
    )
    world.clock.advance(days=1)
    catch_up(ctx=world.ctx)
    assert "reconsideration_answer_overdue" in triggers(world, timely)
    world.fire(
        timely, "dispatcher", "record_judicial_decision", decision="not_filed", reason="维持"
    )
    assert world.get(timely)["judicial"] == "not_filed_upheld"
    supervised = world.fire(
        timely, "dispatcher", "request_filing_supervision",
        procuratorate="武汉市江岸区人民检察院", document_no="监督1", reason="应当立案",
    )  # fmt: skip
    assert supervised["judicial"] == "supervision_requested"
    filed = world.fire(
        timely, "dispatcher", "record_judicial_decision", decision="filed", case_no="立1"
    )
    assert filed["judicial"] == "filed"


def test_on_the_spot_measures_suspend_until_a_passed_review(world: World) -> None:
    hid = world.report(grade="major")["id"]
    body = world.fire(
        hid, "inspector", "order_on_the_spot",
        measures=["stop_work", "withdraw_people"], scope="罐区B", reason="可燃气体超标",
    )  # fmt: skip
    assert body["state"] == "reported" and body["production"] == "suspended"
    world.fire(hid, "dispatcher", "assign", assignee="设备部")
    world._step(hid, "rectifying", "major")
    world._step(hid, "awaiting_verification", "major")  # with the evaluation report: suspended
    passed = world.fire(hid, "inspector", "verify_pass", note="复查合格")
    assert passed["production"] == "resumed"


def _self_found(world: World, grade: str = "general") -> int:
    return world.report(who="enterprise", source="self_check", grade=grade)["id"]


def test_the_self_check_path_runs_within_the_enterprise(world: World) -> None:
    hid = _self_found(world)
    body = world.fire(hid, "enterprise", "self_assign", assignee="车间主任")
    assert body["state"] == "assigned" and body["self_managed"] is True
    world._step(hid, "rectifying", "general")
    world._step(hid, "awaiting_verification", "general")
    assert "verification_due" not in kinds(world, hid)  # the enterprise verifies itself
    world.fire(hid, "enterprise", "self_verify", verifier="安全负责人王敏", note="自查合格")
    body = world.fire(hid, "enterprise", "self_close", note="自行销号")
    assert body["state"] == "closed" and body["resolution"] == "rectified"
    listed = world.client.get(
        "/api/v1/hazards", params={"source": "self_check"}, headers=world.h("dispatcher")
    )
    assert hid in {h["id"] for h in listed.json()["items"]}  # the office sees it


def test_the_office_takes_a_self_managed_hazard_over(world: World) -> None:
    hid = _self_found(world)
    world.fire(hid, "enterprise", "self_assign", assignee="车间主任")
    body = world.fire(hid, "dispatcher", "take_over", reason="隐患复杂，转由监管部门督办")
    assert body["self_managed"] is False
    world._step(hid, "rectifying", "general")
    world._step(hid, "awaiting_verification", "general")
    assert "verification_due" in kinds(world, hid)
    world.fire(hid, "enterprise", "self_verify", expect=409, verifier="王敏", note="x")
    world.fire(hid, "inspector", "verify_pass", note="复查合格")


def test_major_hazards_and_offices_that_forbid_it_never_take_the_self_path(world: World) -> None:
    major = _self_found(world, grade="major")
    r = world.client.post(
        f"/api/v1/hazards/{major}/transitions",
        json={"trigger": "self_assign", "payload": {"assignee": "x"}},
        headers=world.h("enterprise"),
    )
    assert r.status_code == 409, r.text
    problem = r.json()
    assert "self_check" in problem["detail"] and any("art. 15" in s for s in problem["sources"])
    data = world.ctx.policy.model_dump(mode="python", exclude={"overrides", "applied"})
    world.ctx.policy = Policy.model_validate(data | {"self_check": {"allowed": False}})
    general = _self_found(world)
    world.fire(general, "enterprise", "self_assign", expect=409, assignee="x")


def _closure_grounds(world: World, hid: int) -> list[str]:
    return [
        e["payload"]["ground"] for e in world.history(hid) if e["trigger"] == "closure_recommended"
    ]


def test_refusing_a_suspension_order_flags_the_enterprise(world: World) -> None:
    hid = world.to("rectifying")
    world.fire(hid, "dispatcher", "order_suspension", **SUSPEND)
    world.fire(hid, "inspector", "record_suspension_refusal", facts="封条被撕毁，擅自恢复生产")
    assert _closure_grounds(world, hid) == ["refused_suspension"]
    firm = world.client.get(f"/api/v1/enterprises/{world.home_firm}", headers=world.h("dispatcher"))
    assert firm.json()["closure_recommended"] is True


def test_failing_verification_while_suspended_flags_the_enterprise(world: World) -> None:
    hid = world.to("rectifying", grade="major")
    world.fire(hid, "dispatcher", "order_suspension", **SUSPEND)
    world._step(hid, "awaiting_verification", "major")
    later = (world.clock.now + timedelta(days=10)).isoformat()
    world.fire(hid, "inspector", "verify_fail", findings="仍不具备安全生产条件", new_deadline=later)
    assert _closure_grounds(world, hid) == ["failed_after_suspension"]
