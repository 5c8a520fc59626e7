"""Enterprises (生产经营单位) through the API: registration with the 统一社会信用代码 checked
(GB 32100-2015), region codes, duplicates, scope, penalty counts and the closure rule of
安全生产法第一百一十三条 (3 penalties in 180 days or 4 in a year, with an open major hazard)."""

from __future__ import annotations

from typing import Any

import httpx

from rectify.enterprises.codes import credit_code_check_char
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
        assert body["penalty_counts"] == {"total": 0, "last_180_days": 0, "last_365_days": 0}
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
    assert body["penalty_counts"] == {"total": 2, "last_180_days": 2, "last_365_days": 2}
    assert closure_events(world, hid) == []
    world.clock.advance(days=100)
    penalise(world, hid, 1, who="dispatcher")
    body = firm(world)
    assert body["closure_recommended"] is True
    assert body["penalty_counts"] == {"total": 3, "last_180_days": 3, "last_365_days": 3}
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
    assert body["penalty_counts"] == {"total": 3, "last_180_days": 2, "last_365_days": 3}
    assert body["closure_recommended"] is False
    assert closure_events(world, hid) == []
    world.clock.advance(days=100)
    penalise(world, hid, 1)  # day 300: still 2 within 180 days, but 4 within 365
    body = firm(world)
    assert body["penalty_counts"] == {"total": 4, "last_180_days": 2, "last_365_days": 4}
    assert body["closure_recommended"] is True
    [event] = closure_events(world, hid)
    assert event["actor"] == "system:scheduler"


def test_no_closure_without_a_major_hazard_or_for_penalties_over_a_year_old(world: World) -> None:
    # The other firm: four penalties at once, but only on a general hazard.
    general = world.report("dispatcher_elsewhere", enterprise_id=world.other_firm)["id"]
    penalise(world, general, 4, who="inspector_elsewhere")
    other = firm(world, world.other_firm, who="dispatcher_elsewhere")
    assert other["penalty_counts"] == {"total": 4, "last_180_days": 4, "last_365_days": 4}
    assert other["closure_recommended"] is False
    assert closure_events(world, general, who="auditor_elsewhere") == []
    # The home firm: a major hazard, but two of its four penalties are over a year old.
    hid = world.report(grade="major")["id"]
    penalise(world, hid, 2)
    world.clock.advance(days=366)
    penalise(world, hid, 2)
    body = firm(world)
    assert body["penalty_counts"] == {"total": 4, "last_180_days": 2, "last_365_days": 2}
    assert body["closure_recommended"] is False
    assert closure_events(world, hid) == []
