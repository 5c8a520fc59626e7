"""Property: for random sequences of allowed triggers (valid payloads, time moving on), replay
always equals the stored hazard, at every earlier instant too, and every chain verifies."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rectify.audit.replay import replay
from rectify.audit.verify import verify
from rectify.auth.scope import SYSTEM, Caller
from rectify.evidence import service as evidence
from rectify.hazards import service as hazards
from rectify.hazards.models import HazardCreate
from rectify.hazards.triggers import plan_missing
from rectify.workflow import Facts, allowed_triggers
from tests.support import HOME, T0, World, png

AUDITOR = Caller(role="auditor", name="property")
ROLES = ("dispatcher", "inspector", "enterprise", "system")
FORWARD = {
    "assign",
    "accept",
    "request_extension",
    "decide_extension",
    "confirm_rectified",
    "verify_pass",
    "verify_fail",
    "close",
    "list_for_supervision",
}
EXTENSION = {"request_extension", "decide_extension"}
COMPARED = ("state", "supervision", "production", "judicial", "grade", "supervision_level")


def _callers(world: World) -> dict[str, Caller]:
    return {
        "dispatcher": Caller(role="dispatcher", name="d", region_code=HOME),
        "inspector": Caller(role="inspector", name="i", region_code=HOME),
        "enterprise": Caller(role="enterprise", name="e", enterprise_id=world.home_firm),
        "system": SYSTEM,
    }


def _view(world: World, caller: Caller, hid: int) -> dict[str, Any]:
    with world.ctx.db.engine.connect() as connection:
        hazard = hazards.get(connection=connection, caller=caller, hazard_id=hid)
        return hazards.view(ctx=world.ctx, connection=connection, caller=caller, hazard=hazard)


def _options(world: World, hazard: dict[str, Any], now: datetime) -> dict[str, list[str]]:
    """Triggers the workflow allows now (with the facts the service would gather) → roles."""
    definition = world.ctx.registry.get("hazard", hazard["workflow"]["version"])
    plan = hazard["plan"]
    facts = Facts(
        now=now,
        deadline=hazard["deadline"] and datetime.fromisoformat(hazard["deadline"]),
        pending_extension=hazard["pending_extension"] is not None,
        penalty_count=len(hazard["penalties"]),
        violation=hazard["violation"],
        plan_missing=tuple(plan_missing(plan, hazard["grade"])) if plan else (),
        self_check=hazard["grade"] == "general" and hazard["source"] == "self_check",
        self_managed=hazard["self_managed"],
    )
    state = {k: hazard[k] for k in ("state", "supervision", "production", "judicial")}
    allowed = allowed_triggers(definition, state, facts)
    return {t: [r for r in definition.triggers[t].roles if r in ROLES] for t in allowed}


def _payload(trigger: str, hazard: dict[str, Any], now: datetime, shas: list[str], draw) -> dict:
    later = (now + timedelta(days=draw(st.integers(1, 20)))).isoformat()
    plan = {
        "goals": "消除隐患",
        "measures": "整改",
        "funds_yuan": 1000,
        "responsible_person": "李强",
        "deadline": later,
        "contingency_plan": "停止作业",
    }
    deadline = datetime.fromisoformat(hazard["deadline"]) if hazard["deadline"] else now
    match trigger:
        case "assign":
            return {"assignee": "王工", **({"deadline": later} if draw(st.booleans()) else {})}
        case "dismiss":
            return {"reason": "误报"}
        case "accept" | "revise_plan":
            return {"plan": plan}
        case "report_progress":
            return {"note": "进展", "percent": draw(st.integers(0, 100))}
        case "request_extension":
            return {"reason": "缺料", "new_deadline": (max(deadline, now) + timedelta(days=9))}
        case "decide_extension":
            return {"approved": draw(st.booleans())}
        case "withdraw_extension":
            return {"reason": "已完成"} if draw(st.booleans()) else {}
        case "confirm_rectified":
            extra = {"evaluation_report": shas[1]} if hazard["production"] == "suspended" else {}
            return {"summary": "已整改", "evidence": [shas[0]], **extra}
        case "verify_pass":
            return {"note": "合格"}
        case "verify_fail":
            return {"findings": "未整改到位", "new_deadline": later}
        case "close":
            return {"note": "销号", "penalty_waiver_reason": "情节轻微已整改"}
        case "list_for_supervision":
            when = {"deadline": later} if draw(st.booleans()) else {}
            return {"level": "county", "document_no": "督-1", **when}
        case "order_suspension":
            return {"order_no": "停-1", "reason": "重大隐患"}
        case "order_closure":
            return {"decision_no": "关-1", "reason": "拒不整改"}
        case "transfer_to_judicial":
            summary = {"case_summary": "涉嫌犯罪", "officers": ["甲", "乙"]}
            return {"receiving_organ": "公安局", **summary, "attachments": [shas[0]]}
        case "record_judicial_decision":
            filed = draw(st.booleans())
            return {"decision": "filed", "case_no": "立-1"} if filed else {"decision": "not_filed"}
        case "regrade":
            return {
                "grade": "major" if hazard["grade"] == "general" else "general",
                "basis": "重大火灾隐患判定方法 5.1.2",
            }
        case "record_penalty":
            return {"decision_no": "罚-1", "kind": "fine", "amount_yuan": 500, "legal_basis": "法"}
        # Version 2's own steps.
        case "decide_closure":
            decision = draw(st.sampled_from(["approved", "rejected"]))
            return {"decision": decision, "decided_on": now.date().isoformat()} | {
                "decision_no": "政-1",
                "deciding_body": "区政府",
            }
        case "request_reconsideration":
            return {"document_no": "复-1", "reason": "证据充分"}
        case "request_filing_supervision":
            return {"procuratorate": "区检察院", "document_no": "监-1", "reason": "应当立案"}
        case "order_on_the_spot":
            return {"measures": ["stop_work"], "scope": "一号车间", "reason": "随时可能发生事故"}
        case "record_suspension_refusal":
            return {"facts": "擅自恢复生产"}
        case "self_assign":
            return {"assignee": "安全员"}
        case "self_verify":
            return {"verifier": "安全负责人", "note": "已自查合格"}
        case "self_close":
            return {"note": "自行销号", "penalty_waiver_reason": "情节轻微已整改"}
        case "take_over":
            return {"reason": "监管部门接管"}
        case "deadline_recomputed":
            return {
                "previous_deadline": hazard["deadline"],
                "deadline": later,
                "deadline_provisional": False,
                "counted_from": now.isoformat(),
                "rule": "general.rectification P7D working",
                "notices": [],
            }
    return {}


def _same(world: World, hid: int, at: datetime | None = None) -> dict[str, Any]:
    body = replay(ctx=world.ctx, caller=AUDITOR, hazard_id=hid, at=at)
    assert body["consistent"], body["divergences"]
    return body


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_replay_equals_the_stored_state_after_every_step(world: World, data: st.DataObject) -> None:
    clock, callers = world.clock, _callers(world)
    clock.now = T0
    report = HazardCreate(
        enterprise_id=world.home_firm,
        title="随机隐患",
        grade=data.draw(st.sampled_from(["general", "major"])),
        industry="商贸",
        source=data.draw(st.sampled_from(["inspection", "self_check"])),
        violation=data.draw(st.booleans()),
    )
    hid = hazards.report(ctx=world.ctx, caller=callers["inspector"], data=report)["id"]
    shas = [
        evidence.upload(
            ctx=world.ctx,
            caller=callers["enterprise"],
            hazard_id=hid,
            stream=io.BytesIO(png(seed)),
            filename="p.png",
        )["sha256"]
        for seed in (1, 2)
    ]
    stored = _view(world, callers["dispatcher"], hid)
    seen = {clock.now: stored}
    for _ in range(data.draw(st.integers(1, 12))):
        clock.advance(hours=data.draw(st.integers(0, 96)))
        options = _options(world, stored, clock.now)
        # Mostly move forward, so that histories reach extensions, failures and closing;
        # timer events change no state and come now and then.
        mode = data.draw(st.sampled_from(["forward", "forward", "any", "timers"]))
        triggers = sorted(
            t
            for t, roles in options.items()
            if mode == "timers" or (roles != ["system"] and (mode == "any" or t in FORWARD))
        )
        triggers = triggers or sorted(options)
        # Extensions need two steps in a row; weigh them up so that they happen.
        triggers += [t for t in triggers if t in EXTENSION] * 3
        if not triggers:
            break
        trigger = data.draw(st.sampled_from(triggers))
        role = data.draw(st.sampled_from(options[trigger]))
        payload = _payload(trigger, stored, clock.now, shas, data.draw)
        stored = hazards.transition(
            ctx=world.ctx, caller=callers[role], hazard_id=hid, trigger=trigger, payload=payload
        )
        body = _same(world, hid)
        assert {k: body[k] for k in COMPARED} == {k: stored[k] for k in COMPARED}
        assert body["version"] == stored["version"]
        assert len(body["penalties"]) == len(stored["penalties"])
        deadline = stored["deadline"] and datetime.fromisoformat(stored["deadline"])
        assert (body["deadline"] and datetime.fromisoformat(body["deadline"])) == deadline
        seen[clock.now] = stored
        result = verify(ctx=world.ctx)
        assert result["ok"], result["broken"]
    for moment, then in seen.items():
        body = _same(world, hid, at=moment)
        assert (body["version"], body["state"]) == (then["version"], then["state"])
