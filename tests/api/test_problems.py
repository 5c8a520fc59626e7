"""Every error is application/problem+json (RFC 9457) with type, title, status and a detail a
person can act on: the framework's own 404/405/422 as much as the domain's 401/403/404/409/422.
A refused request changes nothing. /healthz and the OpenAPI document round off the surface."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import World, credit_code

API = "/api/v1"


def assert_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    """The response is a problem document with this status; returns its body."""
    assert r.status_code == status, f"want {status}, got {r.status_code}: {r.text}"
    assert r.headers["content-type"].split(";")[0] == "application/problem+json", r.headers
    body = r.json()
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


def hazard_body(world: World, **over: Any) -> dict[str, Any]:
    return {
        "enterprise_id": world.home_firm,
        "title": "配电箱未接地",
        "grade": "general",
        "industry": "商贸",
        "source": "inspection",
        **over,
    }


# -- framework errors ----------------------------------------------------------------------


def test_unknown_path_is_404_and_wrong_method_405_problems(world: World) -> None:
    for headers in ({}, world.h("dispatcher")):
        for path in (f"{API}/no-such-thing", "/no-such-thing", f"{API}/hazards/1/nothing"):
            # A stranger is turned away under /api before anything else (authentication first).
            status = 401 if not headers and path.startswith(API) else 404
            body = assert_problem(world.client.get(path, headers=headers), status)
            assert status == 401 or path in body["detail"]
    hid = world.report()["id"]
    for method, path in (
        ("DELETE", f"{API}/hazards"),
        ("PUT", f"{API}/hazards/{hid}"),
        ("GET", f"{API}/hazards/{hid}/transitions"),
        ("PATCH", f"{API}/enterprises"),
    ):
        r = world.client.request(method, path, headers=world.h("dispatcher"))
        body = assert_problem(r, 405)
        assert method in body["detail"], body
        assert r.headers.get("allow"), f"{method} {path}: no Allow header"
    assert world.get(hid)["version"] == 1


def test_405_allow_header_lists_every_method_of_the_path(world: World) -> None:
    # /hazards is served by two routes (GET and POST); the Allow header names both
    # (RFC 9110 15.5.6), and so does the detail.
    hid = world.report()["id"]
    for method, path, want in (
        ("DELETE", f"{API}/hazards", {"GET", "POST"}),
        ("PUT", f"{API}/hazards/{hid}", {"GET"}),
        ("GET", f"{API}/hazards/{hid}/transitions", {"POST"}),
        ("DELETE", f"{API}/audit/checkpoints", {"GET", "POST"}),
    ):
        r = world.client.request(method, path, headers=world.h("dispatcher"))
        body = assert_problem(r, 405)
        allowed = {m.strip() for m in r.headers["allow"].split(",")}
        assert allowed == want, f"{method} {path}: Allow {r.headers['allow']}"
        assert all(m in body["detail"] for m in want), body["detail"]


def test_malformed_json_problem_says_the_body_is_not_json(world: World) -> None:
    r = world.client.post(
        f"{API}/hazards",
        content=b'{"enterprise_id": 1, "title": ',
        headers={**world.h("dispatcher"), "content-type": "application/json"},
    )
    body = assert_problem(r, 422)
    assert fields(body) == ["body"]
    assert "JSON" in body["detail"]
    assert "30" in body["detail"]  # where it breaks: the character offset


def test_malformed_or_wrongly_typed_input_is_a_422_naming_each_field(world: World) -> None:
    r = world.client.post(
        f"{API}/hazards",
        content=b'{"enterprise_id": 1, "title": ',
        headers={**world.h("dispatcher"), "content-type": "application/json"},
    )
    body = assert_problem(r, 422)
    assert body["errors"], body
    assert "JSON" in body["errors"][0]["message"]

    bad = hazard_body(world, enterprise_id="abc", grade="huge", source=5, violation="maybe")
    body = assert_problem(
        world.client.post(f"{API}/hazards", json=bad, headers=world.h("inspector")), 422
    )
    assert sorted(fields(body)) == ["enterprise_id", "grade", "source", "violation"]
    for name in ("enterprise_id", "grade", "source", "violation"):
        assert name in body["detail"]

    hid = world.report()["id"]
    r = world.client.post(
        f"{API}/hazards/{hid}/transitions",
        json={"trigger": 5, "payload": ["assignee"]},
        headers=world.h("dispatcher"),
    )
    assert sorted(fields(assert_problem(r, 422))) == ["payload", "trigger"]

    r = world.client.get(f"{API}/hazards/abc", headers=world.h("dispatcher"))
    assert any("hazard_id" in f for f in fields(assert_problem(r, 422)))
    r = world.client.get(f"{API}/hazards", params={"limit": 0}, headers=world.h("dispatcher"))
    assert any("limit" in f for f in fields(assert_problem(r, 422)))


def test_missing_fields_are_a_422_naming_each_field(world: World) -> None:
    h = world.h("inspector")
    body = assert_problem(world.client.post(f"{API}/hazards", json={}, headers=h), 422)
    assert sorted(fields(body)) == ["enterprise_id", "grade", "industry", "source", "title"]

    body = assert_problem(world.client.post(f"{API}/hazards", headers=h), 422)  # no body
    assert body["errors"]

    body = assert_problem(
        world.client.post(f"{API}/enterprises", json={"name": "x"}, headers=world.h("admin")), 422
    )
    assert sorted(fields(body)) == ["credit_code", "industry", "region_code"]

    hid = world.report()["id"]
    r = world.client.post(f"{API}/hazards/{hid}/transitions", json={"payload": {}}, headers=h)
    assert fields(assert_problem(r, 422)) == ["trigger"]
    r = world.client.post(f"{API}/hazards/{hid}/evidence", headers=world.h("enterprise"))
    assert fields(assert_problem(r, 422)) == ["file"]


# -- domain errors -------------------------------------------------------------------------


def test_domain_errors_are_problems(world: World) -> None:
    hid = world.report()["id"]
    c = world.client

    # 409: the state does not allow the trigger; the detail names the state and the triggers
    # the caller may fire now.
    r = c.post(
        f"{API}/hazards/{hid}/transitions",
        json={"trigger": "close", "payload": {"note": "销号"}},
        headers=world.h("dispatcher"),
    )
    body = assert_problem(r, 409)
    assert "reported" in body["detail"]
    assert "assign" in body["detail"] and "dismiss" in body["detail"]

    # 422: the payload, naming every missing field.
    r = c.post(
        f"{API}/hazards/{hid}/transitions",
        json={"trigger": "assign", "payload": {"deadline": "yesterday"}},
        headers=world.h("dispatcher"),
    )
    assert sorted(fields(assert_problem(r, 422))) == ["payload.assignee", "payload.deadline"]

    # 422: an unknown trigger names the field `trigger`.
    r = c.post(
        f"{API}/hazards/{hid}/transitions",
        json={"trigger": "demolish", "payload": {}},
        headers=world.h("dispatcher"),
    )
    assert fields(assert_problem(r, 422)) == ["trigger"]

    # 403: a role that may not fire the trigger on a hazard it can see.
    r = c.post(
        f"{API}/hazards/{hid}/transitions",
        json={"trigger": "assign", "payload": {"assignee": "王工"}},
        headers=world.h("enterprise"),
    )
    body = assert_problem(r, 403)
    assert "dispatcher" in body["detail"]

    # 401: no token, an unknown one, another scheme.
    for authorization in (None, "Bearer rt_wrong", "Token abc"):
        headers = {"Authorization": authorization} if authorization else {}
        r = c.get(f"{API}/hazards/{hid}", headers=headers)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].split()[0] == "Bearer", authorization

    # 404: no such hazard / enterprise / evidence.
    assert_problem(c.get(f"{API}/hazards/987654", headers=world.h("dispatcher")), 404)
    assert_problem(c.get(f"{API}/enterprises/987654", headers=world.h("dispatcher")), 404)
    r = c.get(f"{API}/hazards/{hid}/evidence/{'0' * 64}", headers=world.h("dispatcher"))
    assert_problem(r, 404)

    # 409: a duplicate enterprise.
    dup = {"name": "重复", "credit_code": credit_code("420102", 1), "industry": "x"}
    r = c.post(f"{API}/enterprises", json=dup | {"region_code": "420102"}, headers=world.h("admin"))
    assert_problem(r, 409)

    # 409: a stale If-Match.
    r = c.post(
        f"{API}/hazards/{hid}/transitions",
        json={"trigger": "assign", "payload": {"assignee": "王工"}},
        headers={**world.h("dispatcher"), "If-Match": '"7"'},
    )
    assert_problem(r, 409)
    assert world.get(hid)["version"] == 1


def test_a_refused_request_changes_nothing(world: World) -> None:
    hid = world.to("rectifying")
    c = world.client
    before = world.get(hid)
    history = world.history(hid)
    etag = c.get(f"{API}/hazards/{hid}", headers=world.h("dispatcher")).headers["etag"]
    hazards = c.get(f"{API}/hazards", headers=world.h("admin")).json()["total"]
    firms = len(c.get(f"{API}/enterprises", headers=world.h("admin")).json())

    refused = [
        ("enterprise", "report_progress", {"note": "过半", "percent": 150}, 422),
        ("enterprise", "request_extension", {"reason": "缺材料"}, 422),
        ("enterprise", "revise_plan", {"plan": {"measures": "清理"}}, 422),
        ("enterprise", "confirm_rectified", {"summary": "好了", "evidence": ["f" * 64]}, 422),
        ("inspector", "record_penalty", {"decision_no": "罚1", "kind": "caning"}, 422),
        ("dispatcher", "list_for_supervision", {"level": "province", "document_no": "督1"}, 422),
        ("dispatcher", "assign", {"assignee": "王工"}, 409),
        ("inspector", "close", {}, 403),
    ]
    for who, trigger, payload, status in refused:
        r = c.post(
            f"{API}/hazards/{hid}/transitions",
            json={"trigger": trigger, "payload": payload},
            headers=world.h(who),
        )
        assert_problem(r, status)
    r = c.post(
        f"{API}/hazards", json=hazard_body(world, grade="huge"), headers=world.h("inspector")
    )
    assert_problem(r, 422)
    good = credit_code("420102", 5)
    wrong = good[:17] + ("1" if good[17] != "1" else "2")  # a wrong check character
    bad_firm = {"name": "x", "credit_code": wrong, "industry": "x"}
    r = c.post(
        f"{API}/enterprises", json=bad_firm | {"region_code": "420102"}, headers=world.h("admin")
    )
    assert_problem(r, 422)

    assert world.get(hid) == before
    assert world.history(hid) == history
    assert c.get(f"{API}/hazards/{hid}", headers=world.h("dispatcher")).headers["etag"] == etag
    assert c.get(f"{API}/hazards", headers=world.h("admin")).json()["total"] == hazards
    assert len(c.get(f"{API}/enterprises", headers=world.h("admin")).json()) == firms


# -- the rest of the surface ---------------------------------------------------------------


# SPEC.md section 5, method and path (with FastAPI's parameter names).
SPEC_ENDPOINTS = [
    ("post", f"{API}/enterprises"),
    ("get", f"{API}/enterprises/{{enterprise_id}}"),
    ("post", f"{API}/hazards"),
    ("get", f"{API}/hazards"),
    ("get", f"{API}/hazards/{{hazard_id}}"),
    ("post", f"{API}/hazards/{{hazard_id}}/transitions"),
    ("post", f"{API}/hazards/{{hazard_id}}/evidence"),
    ("get", f"{API}/hazards/{{hazard_id}}/history"),
    ("get", f"{API}/hazards/{{hazard_id}}/replay"),
    ("get", f"{API}/audit/verify"),
    ("post", f"{API}/audit/checkpoints"),
    ("get", f"{API}/audit/checkpoints"),
    ("get", f"{API}/workflows"),
    ("get", f"{API}/workflows/{{name}}/{{version}}/diagram"),
    ("get", "/healthz"),
]


def test_healthz_needs_no_token_and_openapi_lists_every_endpoint(world: World) -> None:
    r = world.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}

    r = world.client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    missing = [f"{m.upper()} {p}" for m, p in SPEC_ENDPOINTS if m not in paths.get(p, {})]
    assert not missing, f"not in /openapi.json: {missing}"
