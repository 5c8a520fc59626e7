"""Racing writers, retries and stale decisions on POST /hazards/{id}/transitions.

Two requests on one hazard at the same moment go through two apps, each with its own context
(engine and connection pool) on the same database, the way two `rectify serve` processes share
one database: the storage must serialise them (BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE
on PostgreSQL) so that exactly one applies and the other is refused, never both and never a
lost or half-written event. Idempotency-Key and If-Match are checked as SPEC §5 and
docs/DECISIONS.md describe them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rectify.api.app import create_app
from rectify.audit.chain import GENESIS
from rectify.config import Settings
from rectify.context import build_context
from tests.support import Clock, World

ROUNDS = 10
URL = "/api/v1/hazards/{}/transitions"


@pytest.fixture
def twin(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """A second app on the same database, with its own engine: a second server process."""
    ctx = build_context(settings, clock=clock)
    with TestClient(create_app(ctx), raise_server_exceptions=False) as client:
        yield client
    ctx.db.dispose()


def post(
    client: TestClient,
    world: World,
    hid: int,
    who: str,
    trigger: str,
    headers: dict[str, str] | None = None,
    **payload: Any,
) -> httpx.Response:
    return client.post(
        URL.format(hid),
        json={"trigger": trigger, "payload": payload},
        headers={**world.h(who), **(headers or {})},
    )


def race(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run the calls in parallel threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [f.result(timeout=60) for f in futures]


def assert_chain(events: list[dict[str, Any]]) -> None:
    """hazard_seq 1..n without gaps, each event linked to the one before."""
    assert [e["hazard_seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["prev_hash"] == GENESIS
    for prev, event in zip(events, events[1:], strict=False):
        assert event["prev_hash"] == prev["hash"]
        assert event["from"] == prev["to"]
    assert len({e["hash"] for e in events}) == len(events)


def outcome(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


# -- (1) the race ------------------------------------------------------------------------


def test_two_accepts_at_once_exactly_one_applies(world: World, twin: TestClient) -> None:
    for _ in range(ROUNDS):
        hid = world.to("assigned")
        before = world.history(hid)
        plan = world.plan()
        responses = race(
            partial(post, world.client, world, hid, "enterprise", "accept", plan=plan),
            partial(post, twin, world, hid, "enterprise", "accept", plan=plan),
        )
        assert outcome(responses) == [200, 409], [r.text for r in responses]
        refused = next(r for r in responses if r.status_code == 409)
        assert "rectifying" in problem(refused, 409)["detail"]
        events = world.history(hid)
        assert len(events) == len(before) + 1
        assert events[-1]["trigger"] == "accept"
        assert events[: len(before)] == before
        assert_chain(events)
        assert world.get(hid)["version"] == len(events) == 3


def test_two_triggers_with_same_if_match_exactly_one_applies(
    world: World, twin: TestClient
) -> None:
    for _ in range(ROUNDS):
        hid = world.to("rectifying")
        version = world.get(hid)["version"]
        if_match = {"If-Match": f'"{version}"'}
        responses = race(
            partial(
                post,
                world.client,
                world,
                hid,
                "enterprise",
                "report_progress",
                if_match,
                note="过半",
            ),
            partial(
                post,
                twin,
                world,
                hid,
                "dispatcher",
                "list_for_supervision",
                if_match,
                level="county",
                document_no="岸安委办督〔2026〕1号",
            ),
        )
        assert outcome(responses) == [200, 409], [r.text for r in responses]
        won = next(r for r in responses if r.status_code == 200)
        lost = next(r for r in responses if r.status_code == 409)
        assert won.headers["ETag"] == f'"{version + 1}"'
        assert str(version) in problem(lost, 409)["detail"]
        events = world.history(hid)
        assert len(events) == version + 1
        assert_chain(events)
        applied = events[-1]["trigger"]
        hazard = world.get(hid)
        assert hazard["version"] == version + 1
        listed = applied == "list_for_supervision"
        assert hazard["supervision"] == ("listed" if listed else "none")


def test_assign_and_dismiss_at_once_one_wins(world: World, twin: TestClient) -> None:
    for _ in range(ROUNDS):
        hid = world.report()["id"]
        responses = race(
            partial(post, world.client, world, hid, "dispatcher", "assign", assignee="王工"),
            partial(post, twin, world, hid, "dispatcher", "dismiss", reason="重复"),
        )
        assert outcome(responses) == [200, 409], [r.text for r in responses]
        events = world.history(hid)
        assert len(events) == 2
        assert_chain(events)
        state = world.get(hid)["state"]
        assert (events[-1]["trigger"], state) in {
            ("assign", "assigned"),
            ("dismiss", "dismissed"),
        }


def test_concurrent_progress_reports_all_apply_without_gaps(world: World, twin: TestClient) -> None:
    hid = world.to("rectifying")
    n = 12
    clients = [world.client, twin]
    responses = race(
        *(
            partial(
                post, clients[i % 2], world, hid, "enterprise", "report_progress", note=f"第{i}次"
            )
            for i in range(n)
        )
    )
    assert [r.status_code for r in responses] == [200] * n, [r.text for r in responses]
    events = world.history(hid)
    assert len(events) == 3 + n
    assert_chain(events)
    notes = sorted(e["payload"]["note"] for e in events if e["trigger"] == "report_progress")
    assert notes == sorted(f"第{i}次" for i in range(n))
    # Every response saw its own event: the versions handed out are 4..3+n, each once.
    assert sorted(r.json()["version"] for r in responses) == list(range(4, 4 + n))
    assert world.get(hid)["version"] == 3 + n


def test_same_idempotency_key_at_once_applies_once(world: World, twin: TestClient) -> None:
    for _ in range(3):
        hid = world.to("rectifying")
        key = {"Idempotency-Key": f"progress-{hid}"}
        responses = race(
            partial(
                post, world.client, world, hid, "enterprise", "report_progress", key, note="一半"
            ),
            partial(post, twin, world, hid, "enterprise", "report_progress", key, note="一半"),
        )
        assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
        assert responses[0].json() == responses[1].json()
        events = world.history(hid)
        assert [e["trigger"] for e in events].count("report_progress") == 1
        assert_chain(events)


def test_same_key_on_two_hazards_at_once_one_is_refused(world: World, twin: TestClient) -> None:
    for _ in range(5):
        a, b = world.to("rectifying"), world.to("rectifying")
        key = {"Idempotency-Key": f"k-{a}-{b}"}
        responses = race(
            partial(post, world.client, world, a, "enterprise", "report_progress", key, note="x"),
            partial(post, twin, world, b, "enterprise", "report_progress", key, note="x"),
        )
        assert outcome(responses) == [200, 422], [r.text for r in responses]
        refused = next(r for r in responses if r.status_code == 422)
        assert "Idempotency-Key" in problem(refused, 422)["detail"]
        applied = [len(world.history(h)) for h in (a, b)]
        assert sorted(applied) == [3, 4]


# -- (2) Idempotency-Key -----------------------------------------------------------------


def test_retry_with_same_key_returns_first_response_and_applies_nothing(world: World) -> None:
    hid = world.to("rectifying")
    key = {"Idempotency-Key": "b5c1e0c2-progress-1"}
    first = post(world.client, world, hid, "enterprise", "report_progress", key, note="过半")
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 4
    assert first.headers["ETag"] == '"4"'
    history = world.history(hid)

    retry = post(world.client, world, hid, "enterprise", "report_progress", key, note="过半")
    assert retry.status_code == 200, retry.text
    assert retry.json() == first.json()
    assert retry.headers["ETag"] == '"4"'
    assert world.history(hid) == history
    assert world.get(hid)["version"] == 4

    # Later changes do not alter what a retry returns: it is the first response.
    world.fire(hid, "enterprise", "report_progress", note="八成")
    again = post(world.client, world, hid, "enterprise", "report_progress", key, note="过半")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert world.get(hid)["version"] == 5
    events = world.history(hid)
    assert [e["payload"]["note"] for e in events if e["trigger"] == "report_progress"] == [
        "过半",
        "八成",
    ]
    assert_chain(events)


def test_retry_with_key_and_if_match_is_not_stale(world: World) -> None:
    hid = world.to("rectifying")
    headers = {"Idempotency-Key": "accept-retry", "If-Match": '"3"'}
    first = post(world.client, world, hid, "enterprise", "report_progress", headers, note="一")
    assert first.status_code == 200, first.text
    # The hazard is now at version 4, but a retry of the same request is the same request.
    retry = post(world.client, world, hid, "enterprise", "report_progress", headers, note="一")
    assert retry.status_code == 200, retry.text
    assert retry.json() == first.json()
    assert world.get(hid)["version"] == 4


def test_same_key_with_a_different_request_is_422_naming_the_key(world: World) -> None:
    hid = world.to("rectifying")
    other = world.to("rectifying")
    key = {"Idempotency-Key": "key-reused-7"}
    world.fire(hid, "enterprise", "report_progress", headers=key, note="过半", percent=50)
    history = world.history(hid)

    for h, payload in (
        (hid, {"note": "过半", "percent": 60}),  # different payload
        (hid, {"note": "八成"}),
        (other, {"note": "过半", "percent": 50}),  # same payload, another hazard
    ):
        r = post(world.client, world, h, "enterprise", "report_progress", key, **payload)
        body = problem(r, 422)
        assert "key-reused-7" in body["detail"]
        assert "Idempotency-Key" in body["detail"]

    r = post(world.client, world, hid, "enterprise", "verify_pass", key, note="x")
    assert r.status_code in (403, 422), r.text  # never applied, whichever check refuses it
    assert world.history(hid) == history
    assert len(world.history(other)) == 3


def test_keys_are_per_principal(world: World) -> None:
    hid = world.to("rectifying")
    key = {"Idempotency-Key": "penalty-2026-001"}
    penalty = {"kind": "warning", "legal_basis": "安全生产法第一百零二条"}
    a = world.fire(hid, "dispatcher", "record_penalty", headers=key, decision_no="A1", **penalty)
    b = world.fire(hid, "inspector", "record_penalty", headers=key, decision_no="B2", **penalty)
    assert b["version"] == a["version"] + 1
    assert [p["decision_no"] for p in b["penalties"]] == ["A1", "B2"]
    # Each principal's retry returns its own first response.
    again = world.fire(hid, "inspector", "record_penalty", headers=key, decision_no="B2", **penalty)
    assert again == b
    assert len(world.history(hid)) == 5


def test_refused_request_is_not_stored(world: World) -> None:
    hid = world.report()["id"]
    key = {"Idempotency-Key": "accept-early"}
    plan = world.plan()
    refused = post(world.client, world, hid, "enterprise", "accept", key, plan=plan)
    assert "reported" in problem(refused, 409)["detail"]
    bad = post(world.client, world, hid, "enterprise", "accept", key, plan={"measures": "x"})
    assert problem(bad, 409)  # still refused on state, not remembered as the key's request
    assert len(world.history(hid)) == 1

    world.fire(hid, "dispatcher", "assign", assignee="王工")
    applied = post(world.client, world, hid, "enterprise", "accept", key, plan=plan)
    assert applied.status_code == 200, applied.text
    assert applied.json()["state"] == "rectifying"
    assert [e["trigger"] for e in world.history(hid)] == ["report", "assign", "accept"]


def test_invalid_payload_is_not_stored(world: World) -> None:
    hid = world.to("rectifying")
    key = {"Idempotency-Key": "pct"}
    bad = post(world.client, world, hid, "enterprise", "report_progress", key, percent=50)
    assert problem(bad, 422)["errors"]
    good = post(world.client, world, hid, "enterprise", "report_progress", key, note="已整改半")
    assert good.status_code == 200, good.text
    assert len(world.history(hid)) == 4


# -- (3) If-Match ------------------------------------------------------------------------


def test_if_match_current_version_applies_and_etag_carries_the_new_one(world: World) -> None:
    hid = world.report()["id"]
    got = world.client.get(f"/api/v1/hazards/{hid}", headers=world.h("dispatcher"))
    assert got.headers["ETag"] == '"1"'
    r = post(world.client, world, hid, "dispatcher", "assign", {"If-Match": '"1"'}, assignee="王")
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.headers["ETag"] == '"2"'
    r = post(
        world.client, world, hid, "enterprise", "accept", {"If-Match": '"2"'}, plan=world.plan()
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"3"' and r.json()["state"] == "rectifying"
    assert_chain(world.history(hid))


def test_stale_if_match_is_409_and_applies_nothing(world: World) -> None:
    hid = world.to("rectifying")  # version 3
    history = world.history(hid)
    for stale in ('"2"', '"1"', '"4"', '"0"'):
        r = post(
            world.client, world, hid, "enterprise", "report_progress", {"If-Match": stale}, note="x"
        )
        body = problem(r, 409)
        assert "3" in body["detail"]
    # Scope comes first: a hazard the caller cannot see stays invisible, stale or not.
    r = post(
        world.client,
        world,
        hid,
        "enterprise_other",
        "report_progress",
        {"If-Match": '"1"'},
        note="x",
    )
    assert problem(r, 404)
    assert world.history(hid) == history
    hazard = world.get(hid)
    assert hazard["version"] == 3 and hazard["state"] == "rectifying"


def test_malformed_if_match_is_422_and_applies_nothing(world: World) -> None:
    hid = world.to("assigned")
    for value in ("abc", '"v3"', '"3.0"', '"-3"', '""', "W/"):
        r = post(
            world.client, world, hid, "enterprise", "accept", {"If-Match": value}, plan=world.plan()
        )
        body = problem(r, 422)
        assert "If-Match" in body["detail"], value
        assert [e["field"] for e in body["errors"]] == ["If-Match"]
    assert world.get(hid)["state"] == "assigned"
    assert len(world.history(hid)) == 2


def test_if_match_is_checked_after_trigger_and_role(world: World) -> None:
    # docs/DECISIONS.md: scope (404) → unknown trigger (422) → role (403) → If-Match (409).
    hid = world.to("rectifying")
    stale = {"If-Match": '"1"'}
    r = post(world.client, world, hid, "inspector", "report_progress", stale, note="x")
    assert problem(r, 403)
    r = post(world.client, world, hid, "enterprise", "no_such_trigger", stale)
    assert [e["field"] for e in problem(r, 422)["errors"]] == ["trigger"]
    assert len(world.history(hid)) == 3
