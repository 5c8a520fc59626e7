"""Policy by region and industry: overrides laid over the general policy, the most specific
match winning key by key, and the event that started a timer naming the rule that applied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rectify.auth import service as auth
from rectify.config import ROOT
from rectify.enterprises.codes import credit_code_check_char
from rectify.timers.policy import LadderStep, Policy, load_policy
from tests.support import World, png

SHIPPED = ROOT / "config" / "policy.toml"
D = timedelta(days=1)


def _with(policy: Policy, *overrides: dict) -> Policy:
    data = policy.model_dump(mode="python", exclude={"overrides", "applied"})
    return Policy.model_validate(data | {"overrides": list(overrides)})


def test_the_most_specific_override_wins_key_by_key() -> None:
    base = load_policy(SHIPPED)
    policy = _with(
        base,
        {
            "name": "湖北",
            "region": "42",
            "source": "ours",
            "grades": {"general": {"timers": {"plan_due": {"duration": "P2D"}}}},
        },
        {
            "name": "武汉危化",
            "region": "4201",
            "industry": "危险化学品",
            "source": "ours",
            "grades": {"general": {"timers": {"rectification": {"duration": "P5D"}}}},
        },
        {
            "name": "武汉",
            "region": "4201",
            "source": "ours",
            "grades": {"general": {"timers": {"rectification": {"duration": "P6D"}}}},
        },
    )
    chem = policy.for_("420102", "危险化学品")
    assert chem.applied == ("湖北", "武汉", "武汉危化")  # least specific first
    assert chem.rule("rectification", "general").duration == 5 * D  # region + industry wins
    assert chem.rule("plan_due", "general").duration == 2 * D  # the province's key stays
    assert policy.for_("420102", "商贸").rule("rectification", "general").duration == 6 * D
    elsewhere = policy.for_("110105", "危险化学品")
    assert elsewhere is policy and elsewhere.rule_name == "general"
    assert policy.for_("420102", "危险化学品") is chem  # cached per (region, industry)


def test_coal_mines_get_their_resumption_review_and_closure_decision() -> None:
    coal = load_policy(SHIPPED).for_("140105", "煤矿")
    assert coal.applied == ("煤矿",)
    assert coal.rule("resumption_review", "major").duration == 60 * D  # 国务院令第446号
    assert coal.rule("closure_decision_due", "general").duration == 7 * D
    assert coal.rule("verification_due", "major").duration == 10 * D  # an ordinary one


def test_ladder_steps_may_count_working_days() -> None:
    policy = load_policy(SHIPPED)
    friday = datetime(2026, 3, 6, 2, tzinfo=UTC)  # 10:00 in Beijing
    step = LadderStep(after=2 * D, days="working", action="notify", mode="notify")
    assert policy.ladder_due(step, friday).at == datetime(2026, 3, 10, 2, tzinfo=UTC)  # Tuesday
    calendar = LadderStep(after=2 * D, action="notify", mode="notify")
    assert policy.ladder_due(calendar, friday).at == friday + 2 * D


def test_a_coal_mines_resumption_review_runs_60_days_and_its_event_says_why(world: World) -> None:
    code = "91420102MA4K00091"
    firm = world.client.post(
        "/api/v1/enterprises",
        json={"name": "某煤业有限公司", "credit_code": code + credit_code_check_char(code)}
        | {"industry": "煤矿", "region_code": "420102"},
        headers=world.h("dispatcher"),
    )
    assert firm.status_code == 201, firm.text
    firm_id = firm.json()["id"]
    with world.ctx.db.write() as session:
        _, token = auth.create_token(
            session=session, role="enterprise", name="煤业安全部", enterprise_id=firm_id
        )
    mine = {"Authorization": f"Bearer {token}"}
    coal = world.report(enterprise_id=firm_id, industry="煤矿", grade="major")["id"]
    plain = world.report(grade="major")["id"]
    for hid, headers in ((coal, mine), (plain, world.h("enterprise"))):
        world.fire(hid, "dispatcher", "assign", assignee="矿长")
        world.fire(hid, "dispatcher", "order_suspension", order_no="停1", reason="重大隐患")
        _resumption_application(world, hid, headers)
    now = world.clock.now
    due = {hid: _verification_due(world, hid) - now for hid in (coal, plain)}
    assert due == {coal: 60 * D, plain: 10 * D}
    confirmed = {hid: world.history(hid)[-1] for hid in (coal, plain)}
    assert confirmed[coal]["trigger"] == confirmed[plain]["trigger"] == "confirm_rectified"
    assert confirmed[coal]["payload"]["policy_rule"] == "煤矿"
    assert "policy_rule" not in confirmed[plain]["payload"]  # the general policy applied


def _verification_due(world: World, hid: int) -> datetime:
    timers = world.get(hid)["pending_timers"]
    return datetime.fromisoformat(
        next(t["due_at"] for t in timers if t["kind"] == "verification_due")
    )


def _resumption_application(world: World, hid: int, headers: dict[str, str]) -> None:
    """Accept with a major plan, upload evidence and the evaluation, confirm: the confirmation
    of a suspended enterprise is its application to resume (复产申请)."""
    api = f"/api/v1/hazards/{hid}"
    plan = {"trigger": "accept", "payload": {"plan": world.plan("major")}}
    assert world.client.post(f"{api}/transitions", json=plan, headers=headers).status_code == 200
    shas = []
    for seed in (1, 2):
        files = {"file": ("p.png", png(seed), "image/png")}
        r = world.client.post(f"{api}/evidence", files=files, headers=headers)
        assert r.status_code == 201, r.text
        shas.append(r.json()["sha256"])
    confirm = {"summary": "已整改", "evidence": [shas[0]], "evaluation_report": shas[1]}
    body = {"trigger": "confirm_rectified", "payload": confirm}
    r = world.client.post(f"{api}/transitions", json=body, headers=headers)
    assert r.status_code == 200, r.text
