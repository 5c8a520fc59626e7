"""Payload rules of SPEC.md section 2: every required (bold) field, every bad value, the plan's
elements by grade, deadlines; each refusal a 422 problem naming `payload.<field>` that changes
nothing. Also an unknown trigger (422 naming `trigger`) and a role that may not fire (403).

A 422 changes nothing, so each stage prepares one hazard and throws every rule of the triggers
allowed there at it, collecting mismatches so that one failure lists all of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support import World

BASIS = "工贸企业重大事故隐患判定标准 第四条"
UNKNOWN_SHA = "0" * 64
NAIVE = "2026-04-01T09:00:00"  # no offset: ambiguous between UTC and Beijing time

# The bold fields of SPEC.md section 2, per trigger.
REQUIRED = {
    "assign": ["assignee"],
    "dismiss": ["reason"],
    "accept": ["plan"],
    "revise_plan": ["plan"],
    "report_progress": ["note"],
    "request_extension": ["reason", "new_deadline"],
    "decide_extension": ["approved"],
    "confirm_rectified": ["summary", "evidence"],
    "verify_pass": ["note"],
    "verify_fail": ["findings", "new_deadline"],
    "list_for_supervision": ["level", "document_no"],
    "order_suspension": ["order_no", "reason"],
    "order_closure": ["decision_no", "reason"],
    "transfer_to_judicial": ["receiving_organ", "case_summary", "officers", "attachments"],
    "record_judicial_decision": ["decision"],
    "regrade": ["grade", "basis"],
    "record_penalty": ["decision_no", "kind", "legal_basis"],
}
MAJOR_PLAN = ["goals", "measures", "funds_yuan", "responsible_person", "deadline"]
MAJOR_PLAN += ["contingency_plan"]
GENERAL_PLAN = ["measures", "responsible_person", "deadline"]


class Stage:
    """One hazard in one situation, with a valid payload for each trigger allowed there."""

    def __init__(self, world: World, name: str) -> None:
        self.world, self.name = world, name
        w = world
        if name == "reported":
            self.hid = w.report()["id"]
        elif name == "assigned":  # a major hazard: its plan needs all six elements
            self.hid = w.to("assigned", grade="major")
        elif name == "awaiting_verification":  # with an extension request still pending
            self.hid = w.to("rectifying")
            deadline = datetime.fromisoformat(w.get(self.hid)["deadline"])
            w.fire(
                self.hid,
                "enterprise",
                "request_extension",
                reason="设备到货延迟",
                new_deadline=(deadline + timedelta(days=3)).isoformat(),
            )
            w._step(self.hid, "awaiting_verification", "general")
        else:
            self.hid = w.to("rectifying")
        self.sha = w.upload(self.hid, seed=11)
        if name == "suspended_and_transferred":
            w.fire(self.hid, "dispatcher", "order_suspension", order_no="停〔2026〕1号", reason="r")
            w.fire(self.hid, "dispatcher", "transfer_to_judicial", **self.transfer())
        self.body = w.get(self.hid)

    def later(self, **delta: float) -> str:
        return (self.world.clock.now + timedelta(**delta)).isoformat()

    def transfer(self) -> dict[str, Any]:
        return {
            "receiving_organ": "武汉市公安局洪山区分局",
            "case_summary": "拒不整改重大事故隐患，涉嫌危险作业罪",
            "officers": ["张伟", "刘洋"],
            "attachments": [self.sha],
        }

    def valid(self, trigger: str) -> tuple[str, dict[str, Any]]:
        """Who fires `trigger` here, and a payload every rule accepts."""
        deadline = self.body["deadline"]
        later_than_deadline = (
            (datetime.fromisoformat(deadline) + timedelta(days=5)).isoformat() if deadline else ""
        )
        confirm = {"summary": "已整改", "evidence": [self.sha]}
        if self.body["production"] == "suspended":
            confirm["evaluation_report"] = self.sha
        table: dict[str, tuple[str, dict[str, Any]]] = {
            "assign": ("dispatcher", {"assignee": "王工", "deadline": self.later(days=10)}),
            "dismiss": ("dispatcher", {"reason": "重复登记"}),
            "accept": ("enterprise", {"plan": self.world.plan(self.body["grade"])}),
            "revise_plan": ("enterprise", {"plan": self.world.plan(self.body["grade"])}),
            "report_progress": ("enterprise", {"note": "已完成一半", "percent": 50}),
            "request_extension": (
                "enterprise",
                {"reason": "设备到货延迟", "new_deadline": later_than_deadline},
            ),
            "decide_extension": ("dispatcher", {"approved": True, "note": "同意"}),
            "confirm_rectified": ("enterprise", confirm),
            "verify_pass": ("inspector", {"note": "合格"}),
            "verify_fail": (
                "inspector",
                {"findings": "仍有杂物", "new_deadline": self.later(days=5)},
            ),
            "list_for_supervision": (
                "dispatcher",
                {"level": "county", "document_no": "督〔2026〕1号", "deadline": self.later(days=9)},
            ),
            "order_suspension": ("dispatcher", {"order_no": "停〔2026〕1号", "reason": "未整改"}),
            "order_closure": (
                "dispatcher",
                {"decision_no": "关〔2026〕1号", "reason": "仍不具备条件"},
            ),
            "transfer_to_judicial": ("dispatcher", self.transfer()),
            "record_judicial_decision": ("dispatcher", {"decision": "filed", "case_no": "立〔1〕"}),
            "regrade": (
                "inspector",
                {"grade": "major", "basis": BASIS, "deadline": self.later(days=20)},
            ),
            "record_penalty": (
                "inspector",
                {
                    "decision_no": "罚〔2026〕1号",
                    "kind": "fine",
                    "amount_yuan": 5000,
                    "legal_basis": "安全生产法第一百零二条",
                },
            ),
        }
        return table[trigger]

    def named(self, who: str, trigger: str, payload: dict[str, Any]) -> tuple[int, set[str]]:
        """Status and the fields the problem's `errors` name."""
        r = self.world.client.post(
            f"/api/v1/hazards/{self.hid}/transitions",
            json={"trigger": trigger, "payload": payload},
            headers=self.world.h(who),
        )
        if r.status_code != 422:
            return r.status_code, set()
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        fields = {e["field"] for e in problem["errors"]}
        for field in fields:
            assert field in problem["detail"]  # the detail a person reads names them too
        return 422, fields

    def unchanged(self) -> None:
        after = self.world.get(self.hid)
        assert after["version"] == self.body["version"]
        assert {k: after[k] for k in ("state", "deadline", "plan", "pending_extension")} == {
            k: self.body[k] for k in ("state", "deadline", "plan", "pending_extension")
        }
        assert after["penalties"] == self.body["penalties"]
        assert len(self.world.history(self.hid)) == self.body["version"]


# -- bad values, per stage: (trigger, {field: value} replacing the valid payload's, fields) ---
def _bad_values(s: Stage) -> list[tuple[str, dict[str, Any], set[str]]]:
    now = s.world.clock.now
    past = (now - timedelta(hours=1)).isoformat()
    deadline = s.body["deadline"]
    plan = s.world.plan(s.body["grade"])
    cases: dict[str, list[tuple[str, dict[str, Any], set[str]]]] = {
        "reported": [
            ("assign", {"deadline": past}, {"deadline"}),
            ("assign", {"deadline": now.isoformat()}, {"deadline"}),
            ("assign", {"deadline": NAIVE}, {"deadline"}),
            ("assign", {"assignee": ""}, {"assignee"}),
            ("dismiss", {"reason": ""}, {"reason"}),
        ],
        "assigned": [  # a major hazard
            ("accept", {"plan": {}}, {f"plan.{k}" for k in MAJOR_PLAN}),
            (
                "accept",
                {"plan": {k: plan[k] for k in GENERAL_PLAN}},
                {"plan.goals", "plan.funds_yuan", "plan.contingency_plan"},
            ),
            ("accept", {"plan": {**plan, "funds_yuan": -1}}, {"plan.funds_yuan"}),
            ("accept", {"plan": {**plan, "deadline": past}}, {"plan.deadline"}),
            ("accept", {"plan": {**plan, "deadline": NAIVE}}, {"plan.deadline"}),
        ],
        "rectifying": [  # a general hazard
            ("revise_plan", {"plan": {}}, {f"plan.{k}" for k in GENERAL_PLAN}),
            ("revise_plan", {"plan": {"goals": "消除隐患"}}, {f"plan.{k}" for k in GENERAL_PLAN}),
            ("report_progress", {"percent": 101}, {"percent"}),
            ("report_progress", {"percent": -1}, {"percent"}),
            ("report_progress", {"percent": "50"}, {"percent"}),  # strict: not coerced
            ("request_extension", {"new_deadline": deadline}, {"new_deadline"}),
            (
                "request_extension",
                {"new_deadline": (now + timedelta(days=2)).isoformat()},  # before the deadline
                {"new_deadline"},
            ),
            ("request_extension", {"new_deadline": NAIVE}, {"new_deadline"}),
            ("confirm_rectified", {"evidence": []}, {"evidence"}),
            ("confirm_rectified", {"evidence": [UNKNOWN_SHA]}, {"evidence.0"}),
            ("list_for_supervision", {"level": "nation"}, {"level"}),
            ("list_for_supervision", {"level": "city"}, {"level"}),  # above a county dispatcher
            ("list_for_supervision", {"deadline": past}, {"deadline"}),
            ("list_for_supervision", {"deadline": NAIVE}, {"deadline"}),
            ("transfer_to_judicial", {"officers": ["张伟"]}, {"officers"}),
            ("transfer_to_judicial", {"officers": ["张伟", " "]}, {"officers.1"}),
            ("transfer_to_judicial", {"officers": ["张伟", "张伟 "]}, {"officers"}),  # one person
            ("transfer_to_judicial", {"attachments": []}, {"attachments"}),
            ("transfer_to_judicial", {"attachments": [UNKNOWN_SHA]}, {"attachments.0"}),
            ("regrade", {"grade": "critical"}, {"grade"}),
            ("regrade", {"deadline": past}, {"deadline"}),
            ("record_penalty", {"kind": "jail"}, {"kind"}),
            ("record_penalty", {"amount_yuan": -1}, {"amount_yuan"}),
        ],
        "awaiting_verification": [
            ("decide_extension", {"approved": "maybe"}, {"approved"}),
            ("verify_fail", {"new_deadline": past}, {"new_deadline"}),
            ("verify_fail", {"new_deadline": NAIVE}, {"new_deadline"}),
            ("verify_pass", {"note": ""}, {"note"}),
        ],
        "suspended_and_transferred": [
            ("confirm_rectified", {"evaluation_report": UNKNOWN_SHA}, {"evaluation_report"}),
            ("record_judicial_decision", {"decision": "maybe"}, {"decision"}),
            ("record_judicial_decision", {"decision": "filed", "case_no": None}, {"case_no"}),
            ("order_closure", {"reason": ""}, {"reason"}),
        ],
    }
    return cases[s.name]


STAGES = {
    "reported": ["assign", "dismiss"],
    "assigned": ["accept"],
    "rectifying": ["revise_plan", "report_progress", "request_extension", "confirm_rectified"]
    + ["list_for_supervision", "order_suspension", "transfer_to_judicial", "regrade"]
    + ["record_penalty"],
    "awaiting_verification": ["decide_extension", "verify_pass", "verify_fail"],
    "suspended_and_transferred": ["confirm_rectified", "order_closure", "record_judicial_decision"],
}
# Named only when production is suspended (复产申请).
ALSO_REQUIRED = {("suspended_and_transferred", "confirm_rectified"): ["evaluation_report"]}


@pytest.mark.parametrize("stage", list(STAGES))
def test_payload_rules_name_every_missing_or_bad_field(world: World, stage: str) -> None:
    s = Stage(world, stage)
    mismatches: list[str] = []

    def expect(who: str, trigger: str, payload: dict[str, Any], fields: set[str]) -> None:
        want = {f"payload.{f}" for f in fields}
        status, got = s.named(who, trigger, payload)
        if (status, got) != (422, want):
            mismatches.append(f"{trigger} {payload}: got {status} {sorted(got)}, want {want}")

    for trigger in STAGES[stage]:
        who, valid = s.valid(trigger)
        required = REQUIRED[trigger] + ALSO_REQUIRED.get((stage, trigger), [])
        for field in required:  # each required field missing on its own
            expect(who, trigger, {k: v for k, v in valid.items() if k != field}, {field})
        expect(who, trigger, {}, set(required))  # all of them missing: one 422 names each
    for trigger, override, fields in _bad_values(s):
        who, valid = s.valid(trigger)
        payload = {k: v for k, v in {**valid, **override}.items() if v is not None}
        expect(who, trigger, payload, fields)
    assert not mismatches, "\n".join(mismatches)
    s.unchanged()


@pytest.mark.parametrize(
    ("stage", "trigger", "payload", "fields"),
    [
        # document_no is required on a condition (not for the system): a listing missing both
        # level and document_no names both, though the shape already fails on level.
        pytest.param(
            "rectifying",
            "list_for_supervision",
            {},
            {"level", "document_no"},
            id="list_for_supervision",
        ),
        # evaluation_report (required while suspended) is named beside summary and evidence.
        pytest.param(
            "suspended_and_transferred",
            "confirm_rectified",
            {},
            {"summary", "evidence", "evaluation_report"},
            id="confirm_rectified_while_suspended",
        ),
        # a bad plan element does not hide the missing ones (the grade's rules).
        pytest.param(
            "rectifying",
            "revise_plan",
            {"plan": {"funds_yuan": -1}},
            {"plan.funds_yuan", "plan.measures", "plan.responsible_person", "plan.deadline"},
            id="plan_bad_and_missing",
        ),
        # a filed decision without case_no, beside a bad reason type.
        pytest.param(
            "suspended_and_transferred",
            "record_judicial_decision",
            {"decision": "filed", "reason": ["x"]},
            {"case_no", "reason"},
            id="filed_without_case_no_and_bad_reason",
        ),
    ],
)
def test_one_422_names_every_missing_field_even_across_rule_kinds(
    world: World, stage: str, trigger: str, payload: dict[str, Any], fields: set[str]
) -> None:
    s = Stage(world, stage)
    who, _ = s.valid(trigger)
    assert s.named(who, trigger, payload) == (422, {f"payload.{f}" for f in fields})
    s.unchanged()


BLANKS = (" ", "\t\n", "\u3000")  # the last: an ideographic (full-width) space


@pytest.mark.parametrize(
    ("stage", "trigger", "field"),
    [
        ("reported", "assign", "assignee"),
        ("reported", "dismiss", "reason"),
        ("rectifying", "report_progress", "note"),
        ("rectifying", "request_extension", "reason"),
        ("rectifying", "confirm_rectified", "summary"),
        ("rectifying", "list_for_supervision", "document_no"),
        ("rectifying", "order_suspension", "order_no"),
        ("rectifying", "transfer_to_judicial", "receiving_organ"),
        ("rectifying", "regrade", "basis"),
        ("rectifying", "record_penalty", "legal_basis"),
        ("rectifying", "revise_plan", "plan.measures"),
        ("assigned", "accept", "plan.contingency_plan"),
        ("awaiting_verification", "verify_fail", "findings"),
        ("suspended_and_transferred", "confirm_rectified", "evaluation_report"),
        ("suspended_and_transferred", "record_judicial_decision", "case_no"),
    ],
)
def test_whitespace_only_text_counts_as_missing(
    world: World, stage: str, trigger: str, field: str
) -> None:
    s = Stage(world, stage)
    who, valid = s.valid(trigger)
    for blank in BLANKS:
        payload = {**valid}
        if field.startswith("plan."):
            payload["plan"] = {**valid["plan"], field.removeprefix("plan."): blank}
        else:
            payload[field] = blank
        assert s.named(who, trigger, payload) == (422, {f"payload.{field}"}), repr(blank)
    s.unchanged()


def test_approved_is_a_json_boolean_not_a_string_or_number(world: World) -> None:
    s = Stage(world, "awaiting_verification")
    who, valid = s.valid("decide_extension")
    for approved in ("yes", "true", "false", "1", 1, 0, None):
        payload = {**valid, "approved": approved}
        assert s.named(who, "decide_extension", payload) == (422, {"payload.approved"}), approved
    s.unchanged()
    assert s.named(who, "decide_extension", {**valid, "approved": False}) == (200, set())


def test_major_plan_accepts_zero_funds(world: World) -> None:
    hid = world.to("assigned", grade="major")
    body = world.fire(hid, "enterprise", "accept", plan={**world.plan("major"), "funds_yuan": 0})
    assert body["state"] == "rectifying" and body["plan"]["funds_yuan"] == 0


def test_unknown_trigger_is_422_and_a_forbidden_role_is_403(world: World) -> None:
    hid = world.report()["id"]
    version = 1

    def refused(who: str, trigger: str, status: int, **payload: Any) -> dict[str, Any]:
        r = world.client.post(
            f"/api/v1/hazards/{hid}/transitions",
            json={"trigger": trigger, "payload": payload},
            headers=world.h(who),
        )
        assert r.status_code == status, f"{who} {trigger}: {r.status_code} {r.text}"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert world.get(hid)["version"] == version
        return r.json()

    for name in ("sign_off", "report"):  # `report` creates hazards; it is no transition
        problem = refused("dispatcher", name, 422)
        assert [e["field"] for e in problem["errors"]] == ["trigger"]
        assert "assign" in problem["errors"][0]["message"]  # lists the known triggers

    # Each in a state that allows the trigger, so only the role refuses it.
    refused("enterprise", "assign", 403, assignee="王工")
    refused("auditor", "dismiss", 403, reason="重复")
    refused("dispatcher", "deadline_missed", 403)  # only the timer engine fires it
    world.fire(hid, "dispatcher", "assign", assignee="王工")
    version += 1
    refused("dispatcher", "accept", 403, plan=world.plan())
    refused("inspector", "accept", 403, plan=world.plan())
    world._step(hid, "rectifying", "general")
    world._step(hid, "awaiting_verification", "general")
    version += 3  # accept, the evidence upload, confirm_rectified
    refused("enterprise", "verify_pass", 403, note="自己验收")
    world._step(hid, "verified", "general")
    version += 1
    problem = refused("inspector", "close", 403, note="销号")
    assert "inspector" in problem["detail"]
    refused("enterprise", "record_penalty", 403, decision_no="罚1", kind="fine", legal_basis="x")
    assert len(world.history(hid)) == version


def test_reporting_with_a_string_for_violation_is_refused(world: World) -> None:
    body = {
        "enterprise_id": world.home_firm,
        "title": "配电箱无防护",
        "grade": "general",
        "industry": "商贸",
        "source": "inspection",
        "violation": "true",
    }
    r = world.client.post("/api/v1/hazards", json=body, headers=world.h("inspector"))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["violation"]
    total = world.client.get("/api/v1/hazards", headers=world.h("dispatcher")).json()["total"]
    assert total == 0  # nothing was registered
