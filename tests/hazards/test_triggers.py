"""Every trigger of SPEC.md section 2 in every state it is allowed in, with its effect on the
main track, branches, deadline, plan, penalties and timers, and exactly one event appended;
and where the state refuses it: 409 naming the state and the allowed triggers, nothing changed.

The branch triggers are fired one after another on one hazard per open main state (that keeps
the suite fast); each step checks its own effect and its own event. Production `resumed` beside
an open main track cannot be reached through v1's triggers (only `verify_pass` resumes, and it
leaves the hazard `verified`), so that one test seeds the row.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from rectify.hazards.models import Hazard
from tests.support import World

CHINA = timezone(timedelta(hours=8))
FIELDS = ("state", "supervision", "production", "judicial")
POLICY_DAYS = {"general": 7, "major": 30}  # rectification deadline by grade (config/policy.toml)
LIST = {"level": "county", "document_no": "洪安委办督〔2026〕1号"}
SUSPEND = {"order_no": "洪应急停〔2026〕1号", "reason": "重大事故隐患未按期整改"}
CLOSURE = {"decision_no": "洪应急提〔2026〕1号", "reason": "停产整顿后仍不具备安全生产条件"}
DECIDED = {
    "decision": "approved",
    "decided_on": "2026-03-02",
    "decision_no": "洪政关〔2026〕1号",
    "deciding_body": "武汉市洪山区人民政府",
}
PENALTY = {
    "decision_no": "洪应急罚〔2026〕1号",
    "kind": "fine",
    "amount_yuan": 20000.0,
    "legal_basis": "安全生产法第一百零二条",
}
BASIS = "工贸企业重大事故隐患判定标准 第四条"
FILED = {"decision": "filed", "case_no": "武公刑立字〔2026〕1号"}
NOT_FILED = {"decision": "not_filed", "reason": "不符合立案条件"}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def whole(body: dict[str, Any]) -> dict[str, str]:
    return {k: body[k] for k in FIELDS}


def timers(body: dict[str, Any]) -> dict[str, datetime]:
    return {t["kind"]: at(t["due_at"]) for t in body["pending_timers"]}


class Track:
    """One hazard followed through the API: `apply` checks that a trigger appended exactly one
    event; `refuse` that the state refused it and nothing changed."""

    def __init__(self, world: World, hid: int) -> None:
        self.world, self.hid = world, hid
        self.body = world.get(hid)

    @property
    def now(self) -> datetime:
        return self.world.clock.now

    def later(self, **delta: float) -> str:
        return (self.now + timedelta(**delta)).isoformat()

    def apply(self, who: str, trigger: str, seeded: bool = False, **payload: Any) -> dict:
        """Fire a trigger that must apply and return its event (`seeded`: the row was changed
        behind the history's back, so `from` is not the last event's `to`)."""
        before = self.body
        body = self.world.fire(self.hid, who, trigger, **payload)
        history = self.world.history(self.hid)
        assert body["version"] == before["version"] + 1 == len(history)
        event = history[-1]
        assert event["trigger"] == trigger and event["hazard_seq"] == body["version"]
        assert event["from"] == whole(before) or seeded
        assert event["from"] == history[-2]["to"] or seeded
        assert event["to"] == whole(body)
        assert event["prev_hash"] == history[-2]["hash"]
        self.body = body
        return event

    def refuse(self, who: str, trigger: str, **payload: Any) -> dict:
        """The state refuses the trigger: 409 naming the state and the triggers allowed now."""
        r = self.world.client.post(
            f"/api/v1/hazards/{self.hid}/transitions",
            json={"trigger": trigger, "payload": payload},
            headers=self.world.h(who),
        )
        where = whole(self.body)
        assert r.status_code == 409, f"{trigger} in {where}: {r.status_code} {r.text}"
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["state"] == where
        assert f"state {where['state']}" in problem["detail"]
        seen = self.world.get(self.hid, who)  # as this caller's role sees it
        assert problem["allowed_triggers"] == seen["allowed_triggers"]
        assert trigger not in problem["allowed_triggers"]
        assert seen["version"] == self.body["version"] and whole(seen) == where
        return problem

    def history_unchanged(self) -> None:
        history = self.world.history(self.hid)
        assert len(history) == self.body["version"]
        assert history[-1]["to"] == whole(self.body)

    def upload(self, seed: int, who: str = "dispatcher") -> str:
        """Upload evidence: the upload is one `evidence_added` event of its own."""
        before = self.body
        sha = self.world.upload(self.hid, who=who, seed=seed)
        self.body = self.world.get(self.hid)
        event = self.world.history(self.hid)[-1]
        assert self.body["version"] == before["version"] + 1 == event["hazard_seq"]
        assert event["trigger"] == "evidence_added" and event["payload"]["sha256"] == sha
        assert event["actor"].startswith(who) and event["from"] == event["to"] == whole(before)
        return sha

    def transfer_payload(self, seed: int | None) -> dict[str, Any]:
        """A transfer's payload; with no seed (a hazard that refuses uploads) a made-up hash."""
        return {
            "receiving_organ": "武汉市公安局洪山区分局",
            "case_summary": "拒不整改重大事故隐患，涉嫌危险作业罪",
            "officers": ["张伟", "刘洋"],
            "attachments": [self.upload(seed) if seed is not None else "0" * 64],
        }


def issued(event: dict, kind: str) -> dict:
    """The step's payload as given, once it says which document it issued (执法文书)."""
    payload = dict(event["payload"])
    document = payload.pop("document")
    assert document["kind"] == kind and document["number"].endswith("号")
    return payload


# -- the branch triggers, each checking its own effect -------------------------------------
def record_penalty(t: Track, who: str) -> None:
    before = t.body
    event = t.apply(who, "record_penalty", **PENALTY)
    assert event["from"] == event["to"]  # no state change
    assert t.body["deadline"] == before["deadline"]
    assert len(t.body["penalties"]) == len(before["penalties"]) + 1
    penalty = t.body["penalties"][-1]
    assert {k: penalty[k] for k in PENALTY} == PENALTY
    assert penalty["recorded_by"] == f"{who}:{who}"
    today = t.now.astimezone(CHINA).date().isoformat()  # the decision's date, completed
    assert issued(event, "penalty_decision") == PENALTY | {"decided_on": today}
    assert penalty["decided_on"] == today


def regrade(t: Track, who: str, grade: str, given: bool = False) -> None:
    before = t.body
    extra = {"deadline": t.later(days=20)} if given else {}
    event = t.apply(who, "regrade", grade=grade, basis=BASIS, **extra)
    assert t.body["grade"] == grade and event["from"] == event["to"]
    assert event["payload"]["previous_grade"] == before["grade"]
    assert event["payload"]["basis"] == BASIS
    if before["state"] == "reported":
        assert t.body["deadline"] is None
        return
    # The deadline is recomputed from the new grade's policy unless one is given.
    expected = at(extra["deadline"]) if given else t.now + timedelta(days=POLICY_DAYS[grade])
    assert at(t.body["deadline"]) == expected
    assert timers(t.body)["rectification"] == expected
    assert at(event["payload"]["previous_deadline"]) == at(before["deadline"])


def list_for_supervision(t: Track, who: str, level: str, given: bool = False) -> None:
    before = t.body
    extra = {"deadline": t.later(days=25)} if given else {}
    event = t.apply(who, "list_for_supervision", level=level, document_no="督〔2026〕7号", **extra)
    assert event["from"]["supervision"] == "none"
    assert t.body["supervision"] == "listed" and t.body["state"] == before["state"]
    assert t.body["supervision_level"] == level
    assert event["payload"]["document_no"] == "督〔2026〕7号"
    if given:  # replaces the rectification deadline; the old one stays in history
        assert at(t.body["deadline"]) == at(extra["deadline"])
        assert timers(t.body)["rectification"] == at(extra["deadline"])
        assert at(event["payload"]["previous_deadline"]) == at(before["deadline"])
    else:
        assert t.body["deadline"] == before["deadline"]
    if before["state"] == "rectifying":  # 13710: progress every 3 days while listed
        assert timers(t.body)["progress_due"] == t.now + timedelta(days=3)


def transfer_to_judicial(t: Track, seed: int) -> None:
    before = t.body
    payload = t.transfer_payload(seed)
    event = t.apply("dispatcher", "transfer_to_judicial", **payload)
    assert event["from"]["judicial"] in ("none", "not_filed")
    assert t.body["judicial"] == "transferred" and t.body["state"] == before["state"]
    assert timers(t.body)["judicial_decision_due"] == t.now + timedelta(days=3)
    assert issued(event, "judicial_transfer") == payload


def record_judicial_decision(t: Track, decision: dict[str, str]) -> None:
    event = t.apply("dispatcher", "record_judicial_decision", **decision)
    assert event["from"]["judicial"] == "transferred"
    assert t.body["judicial"] == decision["decision"]
    assert "judicial_decision_due" not in timers(t.body)
    assert event["payload"] == decision


def order_suspension(t: Track) -> None:
    before = t.body
    event = t.apply("dispatcher", "order_suspension", **SUSPEND)
    assert event["from"]["production"] == "normal"
    assert t.body["production"] == "suspended" and t.body["state"] == before["state"]
    assert issued(event, "suspension_order") == SUSPEND


def order_closure(t: Track) -> None:
    """Version 2: the office asks the government (安全生产法 art. 113), the government decides."""
    state = t.body["state"]
    event = t.apply("dispatcher", "order_closure", **CLOSURE)
    assert event["from"]["production"] == "suspended"
    assert t.body["production"] == "closure_requested" and t.body["state"] == state
    assert "closure_decision_due" in timers(t.body) and event["payload"] == CLOSURE
    event = t.apply("dispatcher", "decide_closure", **DECIDED)
    assert t.body["production"] == "shut_down" and t.body["state"] == "closed"
    assert t.body["resolution"] == "shut_down"
    left = set(timers(t.body))
    assert not left & {"plan_due", "progress_due", "rectification", "reminder"}
    assert not left & {"verification_due", "closure_decision_due"}
    assert event["payload"] == DECIDED


# -- main track ------------------------------------------------------------------------------
def test_assign_or_dismiss_a_reported_hazard(world: World) -> None:
    t = Track(world, world.report()["id"])
    event = t.apply("dispatcher", "assign", assignee="王工")
    deadline = t.now + timedelta(days=7)  # general: P7D
    assert t.body["state"] == "assigned" and t.body["assignee"] == "王工"
    assert at(t.body["deadline"]) == deadline and at(event["payload"]["deadline"]) == deadline
    assert timers(t.body) == {
        "plan_due": t.now + timedelta(days=1),
        "rectification": deadline,
        "reminder": deadline - timedelta(days=1),
    }

    t = Track(world, world.report()["id"])
    given = t.later(days=12)
    event = t.apply("dispatcher", "assign", assignee="赵工", deadline=given)
    assert at(t.body["deadline"]) == at(given) and at(event["payload"]["deadline"]) == at(given)
    assert timers(t.body)["rectification"] == at(given)

    t = Track(world, world.report()["id"])
    event = t.apply("dispatcher", "dismiss", reason="重复登记")
    assert t.body["state"] == "dismissed" and t.body["resolution"] == "dismissed"
    assert t.body["pending_timers"] == [] and t.body["allowed_triggers"] == []
    assert event["payload"] == {"reason": "重复登记"}
    t.refuse("inspector", "record_penalty", **PENALTY)
    t.refuse("dispatcher", "transfer_to_judicial", **t.transfer_payload(None))
    t.refuse("dispatcher", "assign", assignee="王工")
    t.history_unchanged()


def test_accept_revise_plan_and_report_progress(world: World) -> None:
    t = Track(world, world.to("assigned"))
    plan = world.plan()
    event = t.apply("enterprise", "accept", plan=plan)
    assert t.body["state"] == "rectifying"
    assert {k: t.body["plan"][k] for k in ("measures", "responsible_person")} == {
        "measures": "清理通道",
        "responsible_person": "李强",
    }
    assert at(t.body["plan"]["deadline"]) == at(plan["deadline"])
    assert set(timers(t.body)) == {"rectification", "reminder"}  # the plan timer stopped
    assert event["payload"]["plan"]["measures"] == "清理通道"

    revised = {**world.plan(), "measures": "拆除违章搭建，恢复疏散通道"}
    event = t.apply("enterprise", "revise_plan", plan=revised)
    assert t.body["state"] == "rectifying"
    assert t.body["plan"]["measures"] == "拆除违章搭建，恢复疏散通道"
    assert event["payload"]["plan"]["measures"] == "拆除违章搭建，恢复疏散通道"
    accepted = next(e for e in world.history(t.hid) if e["trigger"] == "accept")
    assert accepted["payload"]["plan"]["measures"] == "清理通道"  # the old plan stays

    t.apply("dispatcher", "list_for_supervision", **LIST)
    listed_at = t.now
    world.clock.advance(days=2)
    before = t.body
    event = t.apply("enterprise", "report_progress", note="已完成六成", percent=60)
    assert event["from"] == event["to"] and t.body["deadline"] == before["deadline"]
    # 13710: progress within 3 days of the listing, once (the policy may make it recurring).
    assert timers(t.body)["progress_due"] == listed_at + timedelta(days=3)
    assert event["payload"] == {"note": "已完成六成", "percent": 60}


def test_an_undecided_extension_lapses_when_verification_passes(world: World) -> None:
    t = Track(world, world.to("rectifying"))
    t.apply("enterprise", "request_extension", reason="设备到货延迟", new_deadline=t.later(days=30))
    sha = t.upload(0, who="enterprise")
    t.apply("enterprise", "confirm_rectified", summary="已整改", evidence=[sha])
    assert t.body["pending_extension"]["reason"] == "设备到货延迟"  # still decidable here
    event = t.apply("inspector", "verify_pass", note="复查合格")
    assert t.body["pending_extension"] is None
    assert "decide_extension" not in t.body["allowed_triggers"]
    assert event["payload"]["lapsed_extension"]["reason"] == "设备到货延迟"  # history says so
    t.apply("dispatcher", "close", note="销号")
    assert "lapsed_extension" not in world.history(t.hid)[-1]["payload"]  # nothing left to lapse


def test_extension_requests_and_decisions(world: World) -> None:
    t = Track(world, world.to("rectifying"))
    original = at(t.body["deadline"])
    wanted = original + timedelta(days=10)
    event = t.apply(
        "enterprise", "request_extension", reason="设备到货延迟", new_deadline=wanted.isoformat()
    )
    assert at(t.body["deadline"]) == original  # nothing moves before the decision
    assert t.body["pending_extension"]["reason"] == "设备到货延迟"
    assert at(t.body["pending_extension"]["new_deadline"]) == wanted
    assert at(event["payload"]["new_deadline"]) == wanted

    event = t.apply("dispatcher", "decide_extension", approved=True, note="同意")
    assert t.body["state"] == "rectifying" and t.body["pending_extension"] is None
    assert at(t.body["deadline"]) == wanted and timers(t.body)["rectification"] == wanted
    assert event["payload"]["approved"] is True
    assert at(event["payload"]["previous_deadline"]) == original
    assigned = next(e for e in world.history(t.hid) if e["trigger"] == "assign")
    assert at(assigned["payload"]["deadline"]) == original  # the original stays in history

    # A request made before confirmation is decided while awaiting verification: rejected.
    t.apply("enterprise", "request_extension", reason="再延", new_deadline=t.later(days=30))
    sha = t.upload(0, who="enterprise")
    t.apply("enterprise", "confirm_rectified", summary="已整改", evidence=[sha])
    event = t.apply("dispatcher", "decide_extension", approved=False, note="不同意")
    assert t.body["state"] == "awaiting_verification" and t.body["pending_extension"] is None
    assert at(t.body["deadline"]) == wanted and "previous_deadline" not in event["payload"]

    # Nothing pending: refused (a guard, so `reasons` rather than `allowed_triggers`).
    r = world.client.post(
        f"/api/v1/hazards/{t.hid}/transitions",
        json={"trigger": "decide_extension", "payload": {"approved": True}},
        headers=world.h("dispatcher"),
    )
    assert r.status_code == 409, r.text
    assert r.json()["state"] == whole(t.body) and "pending" in r.json()["detail"]
    t.history_unchanged()

    # A request taken back is gone: nothing to decide, and a new one may be made.
    again = Track(world, world.to("rectifying"))
    again.apply("enterprise", "request_extension", reason="待定", new_deadline=again.later(days=20))
    event = again.apply("enterprise", "withdraw_extension", reason="已按期完成")
    assert (
        again.body["pending_extension"] is None and event["payload"]["request"]["reason"] == "待定"
    )
    assert "decide_extension" not in again.body["allowed_triggers"]
    r = world.client.post(
        f"/api/v1/hazards/{again.hid}/transitions",
        json={"trigger": "withdraw_extension", "payload": {}},
        headers=world.h("enterprise"),
    )
    assert r.status_code == 409 and "pending" in r.json()["detail"], r.text
    replayed = world.client.get(
        f"/api/v1/hazards/{again.hid}/replay", headers=world.h("auditor")
    ).json()
    assert replayed["consistent"] and replayed["pending_extension"] is False

    # After the deadline an extension can no longer be requested.
    late = Track(world, world.to("rectifying"))
    world.clock.advance(days=7, minutes=1)
    r = world.client.post(
        f"/api/v1/hazards/{late.hid}/transitions",
        json={
            "trigger": "request_extension",
            "payload": {"reason": "来不及", "new_deadline": late.later(days=5)},
        },
        headers=world.h("enterprise"),
    )
    assert r.status_code == 409, r.text
    assert r.json()["state"] == whole(late.body) and "deadline" in r.json()["detail"]
    assert world.get(late.hid)["pending_extension"] is None
    late.history_unchanged()


def test_confirm_verify_fail_twice_then_pass_and_close(world: World) -> None:
    t = Track(world, world.to("rectifying"))
    sha = t.upload(0, who="enterprise")
    event = t.apply("enterprise", "confirm_rectified", summary="通道已清理", evidence=[sha])
    assert t.body["state"] == "awaiting_verification"
    assert timers(t.body) == {"verification_due": t.now + timedelta(days=10)}
    assert event["payload"] == {"summary": "通道已清理", "evidence": [sha]}

    for failures in (1, 2):
        old = t.body["deadline"]
        new = t.later(days=5 * failures)
        event = t.apply("inspector", "verify_fail", findings="仍有杂物", new_deadline=new)
        assert t.body["state"] == "rectifying" and t.body["verify_failures"] == failures
        assert at(t.body["deadline"]) == at(new)
        assert timers(t.body)["rectification"] == at(new)
        assert "verification_due" not in timers(t.body)
        assert at(event["payload"]["previous_deadline"]) == at(old)
        assert event["payload"]["failures"] == failures
        t.apply("enterprise", "confirm_rectified", summary="再次整改", evidence=[sha])

    event = t.apply("inspector", "verify_pass", note="复查合格")
    assert whole(t.body) == {
        "state": "verified",
        "supervision": "none",
        "production": "normal",
        "judicial": "none",
    }
    assert "verification_due" not in timers(t.body)
    assert issued(event, "review_opinion") == {"note": "复查合格"}

    event = t.apply("dispatcher", "close", note="销号")
    assert t.body["state"] == "closed" and t.body["resolution"] == "rectified"
    assert t.body["pending_timers"] == [] and t.body["allowed_triggers"] == []
    assert event["payload"] == {"note": "销号"}
    t.refuse("inspector", "record_penalty", **PENALTY)
    t.refuse("dispatcher", "transfer_to_judicial", **t.transfer_payload(None))
    t.history_unchanged()


def test_verify_pass_delists_and_resumes_production(world: World) -> None:
    t = Track(world, world.to("rectifying"))
    t.apply("dispatcher", "list_for_supervision", **LIST)
    t.apply("dispatcher", "order_suspension", **SUSPEND)
    evidence, report = t.upload(1, who="enterprise"), t.upload(2, who="enterprise")
    t.apply(
        "enterprise",
        "confirm_rectified",
        summary="已整改",
        evidence=[evidence],
        evaluation_report=report,
    )
    event = t.apply("inspector", "verify_pass", note="复查合格，准予复产")
    assert event["from"] == {
        "state": "awaiting_verification",
        "supervision": "listed",
        "production": "suspended",
        "judicial": "none",
    }
    assert event["to"] == {
        "state": "verified",
        "supervision": "delisted",  # 摘牌
        "production": "resumed",  # 复产
        "judicial": "none",
    }


def test_regrade_to_major_while_rectifying_needs_the_six_element_plan(world: World) -> None:
    t = Track(world, world.to("rectifying"))
    world.clock.advance(days=1)
    regrade(t, "inspector", "major")  # deadline recomputed: P30D from now
    sha = t.upload(0, who="enterprise")
    assert "confirm_rectified" not in world.get(t.hid, "enterprise")["allowed_triggers"]
    r = world.client.post(
        f"/api/v1/hazards/{t.hid}/transitions",
        json={"trigger": "confirm_rectified", "payload": {"summary": "完成", "evidence": [sha]}},
        headers=world.h("enterprise"),
    )
    assert r.status_code == 409, r.text
    for element in ("goals", "funds_yuan", "contingency_plan"):
        assert element in r.json()["detail"]
    t.history_unchanged()

    t.apply("enterprise", "revise_plan", plan=world.plan("major"))
    t.apply("enterprise", "confirm_rectified", summary="完成", evidence=[sha])
    assert t.body["state"] == "awaiting_verification"


def test_order_suspension_from_resumed(world: World) -> None:
    t = Track(world, world.to("rectifying"))
    with world.ctx.db.write() as session:  # see the module docstring
        hazard = session.get(Hazard, t.hid)
        assert hazard is not None
        hazard.production = "resumed"
        session.add(hazard)
    t.body = world.get(t.hid)
    event = t.apply("dispatcher", "order_suspension", seeded=True, **SUSPEND)
    assert event["from"]["production"] == "resumed"
    assert t.body["production"] == "suspended" and t.body["state"] == "rectifying"


# -- branch triggers in every open main state ------------------------------------------------
def _reported(t: Track) -> None:
    record_penalty(t, "inspector")
    regrade(t, "dispatcher", "major")
    transfer_to_judicial(t, seed=1)
    record_judicial_decision(t, NOT_FILED)
    transfer_to_judicial(t, seed=2)  # again, from not_filed
    record_judicial_decision(t, FILED)
    # The deadline given at assignment follows the new grade's policy (major: P30D).
    body = t.world.fire(t.hid, "dispatcher", "assign", assignee="王工")
    assert at(body["deadline"]) == t.now + timedelta(days=30)


def _assigned(t: Track) -> None:
    regrade(t, "inspector", "general")  # major → general: P7D from now
    list_for_supervision(t, "dispatcher", "county")
    record_penalty(t, "dispatcher")
    transfer_to_judicial(t, seed=1)
    record_judicial_decision(t, FILED)
    order_suspension(t)
    order_closure(t)
    # Shut down and closed: nothing more happens on the main track or production.
    t.refuse("dispatcher", "order_suspension", **SUSPEND)
    t.refuse("dispatcher", "order_closure", **CLOSURE)
    t.refuse("inspector", "record_penalty", **PENALTY)
    t.refuse("inspector", "regrade", grade="major", basis=BASIS)
    t.history_unchanged()


def _rectifying(t: Track) -> None:
    regrade(t, "dispatcher", "major", given=True)
    list_for_supervision(t, "dispatcher_city", "city", given=True)
    transfer_to_judicial(t, seed=1)
    record_judicial_decision(t, NOT_FILED)
    transfer_to_judicial(t, seed=2)
    order_suspension(t)
    record_penalty(t, "inspector")
    order_closure(t)
    # The police's decision still arrives after the main track ended (judicial `transferred`).
    record_judicial_decision(t, FILED)


def _awaiting_verification(t: Track) -> None:
    list_for_supervision(t, "dispatcher_province", "province")
    record_penalty(t, "inspector")
    transfer_to_judicial(t, seed=1)
    order_suspension(t)
    order_closure(t)


def _verified(t: Track) -> None:
    record_penalty(t, "dispatcher")
    transfer_to_judicial(t, seed=1)
    record_judicial_decision(t, NOT_FILED)
    transfer_to_judicial(t, seed=2)
    t.refuse("dispatcher", "transfer_to_judicial", **t.transfer_payload(3))  # already transferred
    t.history_unchanged()


BRANCH_STEPS = {
    "reported": ("general", _reported),
    "assigned": ("major", _assigned),
    "rectifying": ("general", _rectifying),
    "awaiting_verification": ("general", _awaiting_verification),
    "verified": ("general", _verified),
}


@pytest.mark.parametrize("state", list(BRANCH_STEPS))
def test_branch_triggers_in_every_open_state(world: World, state: str) -> None:
    grade, steps = BRANCH_STEPS[state]
    t = Track(world, world.to(state, grade=grade))
    world.clock.advance(days=1)  # recomputed deadlines count from now, not from assignment
    steps(t)


# -- refusals --------------------------------------------------------------------------------
def _situation(world: World, name: str) -> Track:
    if name in ("reported", "assigned", "rectifying", "awaiting_verification", "verified"):
        return Track(world, world.to(name))
    t = Track(world, world.to("rectifying"))  # listed_and_filed
    t.apply("dispatcher", "list_for_supervision", **LIST)
    t.apply("dispatcher", "transfer_to_judicial", **t.transfer_payload(1))
    t.apply("dispatcher", "record_judicial_decision", **FILED)
    return t


def _refusals(t: Track) -> dict[str, tuple[str, dict[str, Any]]]:
    """Who fires each trigger, with a payload that would be valid, so only the state refuses."""
    future = t.later(days=40)
    return {
        "assign": ("dispatcher", {"assignee": "王工"}),
        "dismiss": ("dispatcher", {"reason": "重复"}),
        "accept": ("enterprise", {"plan": t.world.plan()}),
        "revise_plan": ("enterprise", {"plan": t.world.plan()}),
        "report_progress": ("enterprise", {"note": "进行中"}),
        "request_extension": ("enterprise", {"reason": "延期", "new_deadline": future}),
        "verify_pass": ("inspector", {"note": "合格"}),
        "verify_fail": ("inspector", {"findings": "不合格", "new_deadline": future}),
        "close": ("dispatcher", {"note": "销号", "penalty_waiver_reason": "情节轻微"}),
        "list_for_supervision": ("dispatcher", LIST),
        "order_suspension": ("dispatcher", SUSPEND),
        "order_closure": ("dispatcher", CLOSURE),
        "record_judicial_decision": ("dispatcher", FILED),
        "regrade": ("inspector", {"grade": "major", "basis": BASIS}),
        "record_penalty": ("inspector", PENALTY),
    }


REFUSED = {
    "reported": ["accept", "confirm_rectified", "list_for_supervision", "order_suspension"],
    "assigned": ["assign", "revise_plan", "request_extension", "order_closure", "close"],
    "rectifying": ["accept", "verify_pass", "verify_fail", "record_judicial_decision"],
    "awaiting_verification": ["regrade", "report_progress", "request_extension", "accept"],
    "verified": ["list_for_supervision", "order_suspension", "regrade", "verify_fail"],
    "listed_and_filed": ["list_for_supervision", "transfer_to_judicial", "order_closure"]
    + ["record_judicial_decision"],
}
# Refusals in dismissed, closed and shut_down: at the end of the tests that get there.


@pytest.mark.parametrize("situation", list(REFUSED))
def test_refused_in_state_is_409_naming_state_and_allowed_triggers(
    world: World, situation: str
) -> None:
    t = _situation(world, situation)
    for trigger in REFUSED[situation]:
        if trigger == "confirm_rectified":
            who, payload = "enterprise", {"summary": "已整改", "evidence": [t.upload(7)]}
        elif trigger == "transfer_to_judicial":
            who, payload = "dispatcher", t.transfer_payload(8)
        else:
            who, payload = _refusals(t)[trigger]
        t.refuse(who, trigger, **payload)
    t.history_unchanged()


@pytest.mark.parametrize(
    ("basis", "standard"),
    [
        ("工贸企业重大事故隐患判定标准 第四条", "industry_trade"),
        ("依据应急管理部令第4号第三条第（二）项", "coal_mine"),
        ("露天煤矿重大事故隐患判定标准第六条", "open_pit_coal"),
        ("GB 35181-2017 5.1.2", "fire"),
    ],
)
def test_a_regrade_names_a_standard_and_its_clause(world: World, basis: str, standard: str) -> None:
    t = Track(world, world.to("rectifying"))
    event = t.apply("inspector", "regrade", grade="major", basis=basis)
    assert event["payload"]["standard"] == standard and event["payload"]["basis"] == basis


def test_a_regrade_without_a_standard_or_a_clause_is_422(world: World) -> None:
    hid = world.to("rectifying")
    for basis in ("复核为重大隐患", "工贸企业重大事故隐患判定标准", "第四条"):
        r = world.client.post(
            f"/api/v1/hazards/{hid}/transitions",
            json={"trigger": "regrade", "payload": {"grade": "major", "basis": basis}},
            headers=world.h("inspector"),
        )
        assert r.status_code == 422, (basis, r.text)
        [error] = r.json()["errors"]
        assert (
            error["field"] == "payload.basis" and "工贸企业重大事故隐患判定标准" in error["message"]
        )
