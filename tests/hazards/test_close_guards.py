"""The guards on `close` (销号), SPEC.md section 2: no sign-off while production is suspended,
a judicial decision is pending or the hazard is listed; and rectification never replaces a
penalty (不得以整改代替处罚): a violation, or a case the police did not file, needs a penalty on
record or a `penalty_waiver_reason`, which the history keeps.

v1's triggers never leave a `verified` hazard suspended or listed (`verify_pass` resumes and
delists it), so those two guards are exercised on a row seeded directly; the judicial one is
reached through the API.
"""

from __future__ import annotations

from typing import Any

import pytest

from rectify.hazards.models import Hazard
from tests.support import World

PENALTY = {
    "decision_no": "洪应急罚〔2026〕3号",
    "kind": "fine",
    "amount_yuan": 30000,
    "legal_basis": "安全生产法第一百零二条",
}
WAIVER = "首次违法且危害后果轻微并及时改正，依行政处罚法第三十三条不予处罚"


def close(world: World, hid: int, **payload: Any) -> tuple[int, dict[str, Any]]:
    """Try to close; a refusal must leave version, state and history as they were."""
    before = world.get(hid)
    r = world.client.post(
        f"/api/v1/hazards/{hid}/transitions",
        json={"trigger": "close", "payload": payload},
        headers=world.h("dispatcher"),
    )
    if r.status_code != 200:
        assert r.headers["content-type"].startswith("application/problem+json")
        after = world.get(hid)
        assert after["version"] == before["version"] and after["state"] == "verified"
        assert len(world.history(hid)) == before["version"]
    return r.status_code, r.json()


def seed(world: World, hid: int, **fields: str) -> None:
    with world.ctx.db.write() as session:  # see the module docstring
        hazard = session.get(Hazard, hid)
        assert hazard is not None
        for name, value in fields.items():
            setattr(hazard, name, value)
        session.add(hazard)


def transfer(world: World, hid: int) -> None:
    sha = world.upload(hid, who="dispatcher", seed=5)
    world.fire(
        hid,
        "dispatcher",
        "transfer_to_judicial",
        receiving_organ="武汉市公安局洪山区分局",
        case_summary="拒不整改重大事故隐患",
        officers=["张伟", "刘洋"],
        attachments=[sha],
    )


def test_close_refused_while_suspended_transferred_or_listed(world: World) -> None:
    hid = world.to("verified")
    for field, value in (("production", "suspended"), ("supervision", "listed")):
        seed(world, hid, **{field: value})
        assert "close" not in world.get(hid)["allowed_triggers"]
        status, problem = close(world, hid, note="销号")
        assert status == 409, problem
        assert f"{field} is {value}" in problem["detail"]
        assert problem["state"][field] == value
    seed(world, hid, production="resumed", supervision="delisted")

    transfer(world, hid)  # the police's filing decision is pending
    assert "close" not in world.get(hid)["allowed_triggers"]
    status, problem = close(world, hid, note="销号")
    assert status == 409, problem
    assert "judicial is transferred" in problem["detail"]

    # All at once: one refusal names every reason.
    seed(world, hid, production="suspended", supervision="listed")
    status, problem = close(world, hid, note="销号")
    assert status == 409, problem
    for reason in ("production is suspended", "judicial is transferred", "supervision is listed"):
        assert reason in problem["detail"]
    seed(world, hid, production="resumed", supervision="delisted")

    # Filed: the police took the case over; nothing blocks the sign-off any more.
    world.fire(hid, "dispatcher", "record_judicial_decision", decision="filed", case_no="立1号")
    status, body = close(world, hid, note="销号")
    assert status == 200, body
    assert body["state"] == "closed" and body["resolution"] == "rectified"


def _verified_with(world: World, cause: str) -> int:
    if cause == "violation":
        return world.to("verified", violation=True)
    hid = world.to("verified")
    transfer(world, hid)
    world.fire(hid, "dispatcher", "record_judicial_decision", decision="not_filed", reason="不立案")
    return hid


@pytest.mark.parametrize("cause", ["violation", "not_filed"])
def test_rectification_never_replaces_a_penalty(world: World, cause: str) -> None:
    hid = _verified_with(world, cause)
    status, problem = close(world, hid, note="销号")
    assert status == 409, problem
    assert "penalty_waiver_reason" in problem["detail"] and "penalty" in problem["detail"]
    status, problem = close(world, hid, note="销号", penalty_waiver_reason="")
    assert status in (409, 422), problem  # an empty reason is no reason

    # A penalty on record: it closes without a waiver.
    world.fire(hid, "inspector", "record_penalty", **PENALTY)
    status, body = close(world, hid, note="销号")
    assert status == 200, body
    assert body["state"] == "closed" and body["resolution"] == "rectified"
    assert [p["decision_no"] for p in body["penalties"]] == [PENALTY["decision_no"]]

    # Or a waiver reason instead, which the history keeps.
    other = _verified_with(world, cause)
    status, body = close(world, other, note="销号", penalty_waiver_reason=WAIVER)
    assert status == 200, body
    assert body["state"] == "closed" and body["penalties"] == []
    event = world.history(other)[-1]
    assert event["trigger"] == "close" and event["to"]["state"] == "closed"
    assert event["payload"] == {"note": "销号", "penalty_waiver_reason": WAIVER}
