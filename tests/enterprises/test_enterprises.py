"""Enterprises (生产经营单位) through the API: registration with the 统一社会信用代码 checked
(GB 32100-2015), region codes, duplicates, scope, penalty counts and the closure rule of
安全生产法第一百一十三条 (3 penalties in 180 days or 4 in a year, with an open major hazard)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from alembic import command
from sqlalchemy import create_engine, text

from rectify.database.migrate import alembic_config
from rectify.enterprises.codes import credit_code_check_char
from tests.database.test_migrate import fresh_url  # noqa: F401  (a fixture)
from tests.support import World

API = "/api/v1"


def code(first17: str = "91420102MA4K12345") -> str:
    return first17 + credit_code_check_char(first17)


def register(world: World, who: str = "dispatcher", **over: Any) -> httpx.Response:
    body = {
        "name": "武汉市某某化工有限公司",
        "credit_code": code(),
        "industry": "危险化学品",
        "region_code": "420102",
        **over,
    }
    return world.client.post(f"{API}/enterprises", json=body, headers=world.h(who))


def error_fields(r: httpx.Response) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in r.json()["errors"]]


def count_firms(world: World) -> int:
    return len(world.client.get(f"{API}/enterprises", headers=world.h("admin")).json())


def test_a_valid_credit_code_registers_the_enterprise(world: World) -> None:
    # Codes issued by different registration authorities (9: 市场监管, 1: 机构编制, 5: 民政).
    for serial, first17 in enumerate(
        ("91420102MA4K12345", "12420102MB0A1234X", "51420102MJ0012345")
    ):
        r = register(world, credit_code=code(first17), name=f"企业{serial}")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["credit_code"] == code(first17)
        assert body["region_code"] == "420102" and body["industry"] == "危险化学品"
        assert body["closure_recommended"] is False
        assert body["penalty_counts"] == counts(0, 0, 0)
        got = world.client.get(f"{API}/enterprises/{body['id']}", headers=world.h("dispatcher"))
        assert got.status_code == 200 and got.json() == body


def test_a_bad_credit_or_region_code_is_422_naming_the_field(world: World) -> None:
    good = code()
    before = count_firms(world)
    typo = good[:10] + ("5" if good[10] != "5" else "6") + good[11:]  # caught by the check char
    bad = {f"check character {c}": good[:17] + c for c in sorted({"0", "1", "A", "Y"} - {good[17]})}
    bad |= {"typo in the body": typo}
    bad |= {f"length {len(c)}": c for c in (good[:17], good + "1", "", "9142010")}
    bad |= {f"letter {c}": good[:12] + c + good[13:] for c in "IOSVZ"}
    for what, credit in bad.items():
        r = register(world, credit_code=credit)
        assert error_fields(r) == ["credit_code"], what
        message = r.json()["errors"][0]["message"]
        if what.startswith("length"):
            assert "18" in message, (what, message)
        if what.startswith("letter"):
            assert what[-1] in message, (what, message)
    # The region code: six digits.
    for region in ("4201", "4201020", "42010a", "", "420 02"):
        assert error_fields(register(world, region_code=region)) == ["region_code"], region
    # Both fields wrong: one 422 naming both.
    r = register(world, region_code="42", credit_code=good[:17])
    assert sorted(error_fields(r)) == ["credit_code", "region_code"]
    assert count_firms(world) == before


def test_a_duplicate_is_409_and_outside_the_district_403(world: World) -> None:
    assert register(world).status_code == 201
    before = count_firms(world)
    again = register(world, who="admin", name="另一个名字")
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    assert code() in again.json()["detail"]
    # The same code typed in lower case is the same enterprise.
    assert register(world, who="admin", credit_code=code().lower()).status_code == 409
    assert count_firms(world) == before

    # A district dispatcher registers only inside the district: 403 (the code is its own input).
    for region in ("420103", "420202", "110105", "420100"):
        r = register(world, region_code=region, credit_code=code(f"91{region}MA4K12345"))
        assert r.status_code == 403, f"{region}: {r.text}"
        assert r.headers["content-type"].startswith("application/problem+json")
    assert count_firms(world) == before
    # The city dispatcher registers anywhere in the city.
    r = register(
        world, who="dispatcher_city", region_code="420103", credit_code=code("91420103MA4K12345")
    )
    assert r.status_code == 201, r.text


# -- penalties and the closure rule ---------------------------------------------------------


def counts(total: int, in_180: int, in_365: int) -> dict[str, Any]:
    """The enterprise view's penalty counts in the shipped policy's windows (art. 113)."""
    windows = [
        {"days": 180, "threshold": 3, "count": in_180},
        {"days": 365, "threshold": 4, "count": in_365},
    ]
    return {"total": total, "counted_laws": ["安全生产法"], "windows": windows}


def penalise(world: World, hid: int, n: int, who: str = "inspector") -> None:
    for i in range(n):
        world.fire(
            hid,
            who,
            "record_penalty",
            decision_no=f"鄂应急罚〔2026〕{world.clock.now:%j}{i}号",
            kind="fine",
            amount_yuan=20000,
            legal_basis="安全生产法第一百零二条",
        )


def firm(world: World, firm_id: int | None = None, who: str = "dispatcher") -> dict[str, Any]:
    r = world.client.get(f"{API}/enterprises/{firm_id or world.home_firm}", headers=world.h(who))
    assert r.status_code == 200, r.text
    return r.json()


def closure_events(world: World, hid: int, who: str = "auditor") -> list[dict[str, Any]]:
    return [e for e in world.history(hid, who) if e["trigger"] == "closure_recommended"]


def test_three_penalties_in_180_days_recommend_closure(world: World) -> None:
    hid = world.to("rectifying", grade="major")
    penalise(world, hid, 2)
    body = firm(world)
    assert body["closure_recommended"] is False
    assert body["penalty_counts"] == counts(2, 2, 2)
    assert closure_events(world, hid) == []
    world.clock.advance(days=100)
    penalise(world, hid, 1, who="dispatcher")
    body = firm(world)
    assert body["closure_recommended"] is True
    assert body["penalty_counts"] == counts(3, 3, 3)
    events = closure_events(world, hid)
    assert len(events) == 1
    assert events[0]["actor"] == "system:scheduler"
    assert events[0]["role"] == "system"
    assert world.history(hid)[-2]["trigger"] == "record_penalty"  # right after the third one
    # Flagged once: a fourth penalty adds no second event.
    penalise(world, hid, 1)
    assert len(closure_events(world, hid)) == 1
    assert firm(world)["closure_recommended"] is True


def test_penalties_older_than_180_days_do_not_count_but_four_in_a_year_do(world: World) -> None:
    hid = world.report(grade="major")["id"]  # reported: an open major hazard with no timers
    penalise(world, hid, 1)  # day 0
    world.clock.advance(days=100)
    penalise(world, hid, 1)  # day 100
    world.clock.advance(days=100)
    penalise(world, hid, 1)  # day 200: the first is 200 days old, 2 within 180 days
    body = firm(world)
    assert body["penalty_counts"] == counts(3, 2, 3)
    assert body["closure_recommended"] is False
    assert closure_events(world, hid) == []
    world.clock.advance(days=100)
    penalise(world, hid, 1)  # day 300: still 2 within 180 days, but 4 within 365
    body = firm(world)
    assert body["penalty_counts"] == counts(4, 2, 4)
    assert body["closure_recommended"] is True
    [event] = closure_events(world, hid)
    assert event["actor"] == "system:scheduler"


def test_no_closure_without_a_major_hazard_or_for_penalties_over_a_year_old(world: World) -> None:
    # The other firm: four penalties at once, but only on a general hazard.
    general = world.report("dispatcher_elsewhere", enterprise_id=world.other_firm)["id"]
    penalise(world, general, 4, who="inspector_elsewhere")
    other = firm(world, world.other_firm, who="dispatcher_elsewhere")
    assert other["penalty_counts"] == counts(4, 4, 4)
    assert other["closure_recommended"] is False
    assert closure_events(world, general, who="auditor_elsewhere") == []
    # The home firm: a major hazard, but two of its four penalties are over a year old.
    hid = world.report(grade="major")["id"]
    penalise(world, hid, 2)
    world.clock.advance(days=366)
    penalise(world, hid, 2)
    body = firm(world)
    assert body["penalty_counts"] == counts(4, 2, 2)
    assert body["closure_recommended"] is False
    assert closure_events(world, hid) == []


def test_penalties_count_by_their_decision_date_and_under_the_laws_listed(world: World) -> None:
    """安全生产法第一百一十三条 counts penalties decided within the window, under the work-safety
    law: one recorded today but decided 200 days ago, or one under the fire law, does not
    count (the policy's `laws`)."""
    hid = world.report(grade="major")["id"]
    long_ago = (world.clock.now - timedelta(days=200)).date().isoformat()
    world.fire(
        hid,
        "inspector",
        "record_penalty",
        decision_no="罚-旧",
        kind="fine",
        legal_basis="安全生产法第一百零二条",
        decided_on=long_ago,
    )
    world.fire(
        hid, "inspector", "record_penalty", decision_no="罚-消防", kind="warning",
        legal_basis="消防法第六十条",
    )  # fmt: skip
    penalise(world, hid, 2)
    body = firm(world)
    assert body["penalty_counts"] == counts(4, 2, 3)
    assert body["closure_recommended"] is False  # 2 within 180 days, 3 within a year
    recorded = [e for e in world.history(hid) if e["trigger"] == "record_penalty"]
    assert recorded[0]["payload"]["decided_on"] == long_ago
    assert recorded[1]["payload"]["decided_on"] == world.clock.now.date().isoformat()
    assert world.get(hid)["penalties"][0]["decided_on"] == long_ago


def test_a_decision_date_in_the_future_or_not_a_date_is_422(world: World) -> None:
    hid = world.report(grade="major")["id"]
    base = {"decision_no": "罚", "kind": "fine", "legal_basis": "安全生产法第一百零二条"}
    tomorrow = (world.clock.now + timedelta(days=2)).date().isoformat()
    for bad in (tomorrow, "2026/03/01", 20260301, "2026-02-30"):
        r = world.client.post(
            f"{API}/hazards/{hid}/transitions",
            json={"trigger": "record_penalty", "payload": base | {"decided_on": bad}},
            headers=world.h("inspector"),
        )
        assert r.status_code == 422, (bad, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["payload.decided_on"], bad


def test_penalties_recorded_before_decided_on_get_the_china_date_of_their_record(
    fresh_url: str,  # noqa: F811
) -> None:
    """Migration 0008: a penalty recorded at 20:00 UTC on 1 March was recorded on 2 March in
    China, and art. 113 counts it from that day."""
    config = alembic_config(fresh_url)
    command.upgrade(config, "0007")
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO enterprises (id, name, credit_code, industry, region_code, "
                "closure_recommended, created_at) VALUES (1, 'e', :c, 'x', '420102', false, "
                "CURRENT_TIMESTAMP)"
            ),
            {"c": code()},
        )
        conn.execute(
            text(
                "INSERT INTO hazards (id, enterprise_id, region_code, title, description, grade, "
                "industry, source, location, violation, state, supervision, production, "
                "judicial, workflow_name, workflow_version, version, head_hash, reported_by, "
                "verify_failures, penalty_count, created_at, updated_at, deadline_provisional) "
                "VALUES (1, 1, '420102', 't', '', 'major', 'x', 'inspection', '', false, "
                "'reported', 'none', 'normal', 'none', 'hazard', 1, 1, :h, 'a', 0, 1, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, false)"
            ),
            {"h": "0" * 64},
        )
        conn.execute(
            text(
                "INSERT INTO penalties (hazard_id, enterprise_id, decision_no, kind, legal_basis, "
                "recorded_by, at) VALUES (1, 1, 'd', 'fine', '安全生产法', 'x', :at)"
            ),
            {"at": datetime(2026, 3, 1, 20, 0, tzinfo=UTC)},
        )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        day = conn.execute(text("SELECT decided_on FROM penalties")).scalar_one()
    engine.dispose()
    assert str(day) == "2026-03-02"
