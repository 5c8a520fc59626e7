"""Township scopes (乡级, 9-digit codes): a street's safety station sees only its streets; the
county above it sees them all; region filters and levels work across 6 and 9 digits."""

from __future__ import annotations

from typing import Any

from rectify.auth import service as auth
from tests.support import HOME, World, credit_code

API = "/api/v1"
STREET, OTHER_STREET = f"{HOME}001", f"{HOME}002"  # two streets of the home county


def _firm(world: World, region: str, serial: int) -> int:
    body = {"name": f"街道企业{serial}", "credit_code": credit_code(HOME, 80 + serial)}
    body |= {"industry": "商贸", "region_code": region}
    r = world.client.post(f"{API}/enterprises", json=body, headers=world.h("dispatcher"))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _station(world: World, region: str) -> dict[str, str]:
    with world.ctx.db.write() as session:
        _, token = auth.create_token(
            session=session, role="dispatcher", name=f"街道安监站{region}", region_code=region
        )
    return {"Authorization": f"Bearer {token}"}


def _ids(world: World, headers: dict[str, str], **params: Any) -> set[int]:
    r = world.client.get(f"{API}/hazards", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {h["id"] for h in r.json()["items"]}


def test_a_street_station_sees_only_its_street_and_the_county_sees_all(world: World) -> None:
    street, other = _firm(world, STREET, 1), _firm(world, OTHER_STREET, 2)
    mine = world.report(who="dispatcher", enterprise_id=street)["id"]
    theirs = world.report(who="dispatcher", enterprise_id=other)["id"]
    county = world.report(who="dispatcher")["id"]  # the home firm: 6-digit county code
    station = _station(world, STREET)

    assert _ids(world, station) == {mine}
    for hid in (theirs, county):
        r = world.client.get(f"{API}/hazards/{hid}", headers=station)
        assert r.status_code == 404, r.text  # outside the scope: does not exist
    assert world.client.get(f"{API}/hazards/{mine}", headers=station).status_code == 200

    county_desk = world.h("dispatcher")
    assert _ids(world, county_desk) == {mine, theirs, county}
    assert _ids(world, county_desk, region=STREET) == {mine}
    assert _ids(world, world.h("dispatcher_city"), region=OTHER_STREET) == {theirs}
    assert world.client.get(f"{API}/enterprises/{other}", headers=station).status_code == 404


def test_a_street_station_may_not_list_at_county_level(world: World) -> None:
    street = _firm(world, STREET, 3)
    station = _station(world, STREET)
    hid = world.report(who="dispatcher", enterprise_id=street)["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工")
    r = world.client.post(
        f"{API}/hazards/{hid}/transitions",
        json={
            "trigger": "list_for_supervision",
            "payload": {"level": "county", "document_no": "1"},
        },
        headers=station,
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["payload.level"]
    assert "township" in r.json()["errors"][0]["message"]


def test_nine_digit_codes_that_name_a_county_are_refused(world: World) -> None:
    for bad in (f"{HOME}000", f"{HOME}0011", f"{HOME}01"):
        r = world.client.get(f"{API}/hazards", params={"region": bad}, headers=world.h("admin"))
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"] == "region"
