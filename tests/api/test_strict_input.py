"""Input the service cannot take as it is is a 422 naming it, never a 500 and never silently
coerced (issue 9, items 3-5): versions, instants and deadlines; real JSON only; strict numbers,
flags, enum filters, region codes and text; evidence file names cleaned for display."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from rectify.audit.chain import canonical_json
from rectify.cli import app as cli
from rectify.config import Settings
from rectify.inputs import clean_filename
from rectify.workflow.definition import Registry
from tests.support import World, credit_code, png

API = "/api/v1"
PROBLEM = "application/problem+json"


def refused(r: httpx.Response, *names: str, status: int = 422) -> list[dict[str, Any]]:
    """The response is a problem document whose errors name exactly these fields."""
    assert r.status_code == status, f"want {status}, got {r.status_code}: {r.text}"
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    errors = r.json().get("errors", [])
    if names:
        assert [e["field"] for e in errors] == list(names), errors
        assert all(len(e["message"]) > 10 for e in errors), errors
    return errors


def fire(world: World, hid: int, who: str, trigger: str, **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", {})
    return world.client.post(
        f"{API}/hazards/{hid}/transitions",
        json={"trigger": trigger, "payload": kw},
        headers=world.h(who, **headers),
    )


def raw(world: World, path: str, body: str, who: str = "dispatcher") -> httpx.Response:
    """POST a body exactly as written (json= would refuse NaN, or write it for us)."""
    headers = world.h(who, **{"content-type": "application/json"})
    return world.client.post(f"{API}{path}", content=body.encode("utf-8"), headers=headers)


def hazard_body(world: World, **over: Any) -> dict[str, Any]:
    body = {"enterprise_id": world.home_firm, "title": "配电箱未接地", "grade": "general"}
    return body | {"industry": "商贸", "source": "inspection"} | over


# -- item 3: no 500 from input ---------------------------------------------------------------


def test_if_match_that_is_not_a_version_is_422_not_500(world: World) -> None:
    hid = world.to("assigned")
    values: list[str | bytes] = [
        '"²"'.encode("latin-1"),  # str.isdigit("²") is True, int("²") raises
        '"²"'.encode(),
        '"٣"'.encode(),
        '"' + "7" * 5000 + '"',
        f'"{2**63}"',
    ]
    for value in values:
        r = fire(world, hid, "enterprise", "accept", plan=world.plan(), headers={"If-Match": value})
        refused(r, "If-Match")
    assert len(world.history(hid)) == 2
    r = fire(world, hid, "enterprise", "accept", plan=world.plan(), headers={"If-Match": '"2"'})
    assert r.status_code == 200, r.text


UNREPRESENTABLE = ("9999-12-31T23:00:00-14:00", "0001-01-01T00:00:00+14:00")


def _deadline_cases(world: World) -> list[tuple[int, str, str, str, dict[str, Any]]]:
    """(hazard, who, trigger, field, other payload) for every payload field that sets a deadline."""
    reported, assigned = world.to("reported"), world.to("assigned")
    rectifying, awaiting = world.to("rectifying"), world.to("awaiting_verification")
    plan = world.plan()
    return [
        (reported, "dispatcher", "assign", "deadline", {"assignee": "王工"}),
        (
            reported,
            "inspector",
            "regrade",
            "deadline",
            {"grade": "major", "basis": "工贸企业重大事故隐患判定标准 第四条"},
        ),
        (
            assigned,
            "dispatcher",
            "list_for_supervision",
            "deadline",
            {"level": "county", "document_no": "督1号"},
        ),
        (assigned, "enterprise", "accept", "plan.deadline", {"plan": plan}),
        (rectifying, "enterprise", "request_extension", "new_deadline", {"reason": "延迟"}),
        (awaiting, "inspector", "verify_fail", "new_deadline", {"findings": "仍有堆放"}),
    ]


def _with(field: str, value: str, other: dict[str, Any]) -> dict[str, Any]:
    if field == "plan.deadline":
        return {"plan": other["plan"] | {"deadline": value}}
    return other | {field: value}


def test_deadlines_that_do_not_exist_in_utc_or_lie_past_the_horizon_are_422(world: World) -> None:
    cases = _deadline_cases(world)
    versions = {hid: world.get(hid)["version"] for hid, *_ in cases}
    beyond = (world.clock.now + timedelta(days=1828)).isoformat()
    for hid, who, trigger, field, other in cases:
        for value in (*UNREPRESENTABLE, beyond):
            r = fire(world, hid, who, trigger, **_with(field, value, other))
            errors = refused(r, f"payload.{field}")
            if value == beyond:
                assert "1827 days" in errors[0]["message"], errors
    assert {hid: world.get(hid)["version"] for hid, *_ in cases} == versions
    within = (world.clock.now + timedelta(days=1826)).isoformat()
    hid, who, trigger, field, other = cases[0]
    assert fire(world, hid, who, trigger, **_with(field, within, other)).status_code == 200


def test_the_deadline_horizon_is_a_setting(world: World) -> None:
    world.ctx.settings.deadline_horizon_days = 30
    hid = world.to("reported")
    late = (world.clock.now + timedelta(days=31)).isoformat()
    errors = refused(fire(world, hid, "dispatcher", "assign", assignee="王工", deadline=late))
    assert "30 days" in errors[0]["message"]
    ok = (world.clock.now + timedelta(days=29)).isoformat()
    assert fire(world, hid, "dispatcher", "assign", assignee="王工", deadline=ok).status_code == 200


def test_replay_at_an_instant_out_of_range_is_422_naming_at(world: World) -> None:
    hid = world.to("assigned")
    url = f"{API}/hazards/{hid}/replay"
    for at in (
        "9999-12-31T23:59:59-14:00",  # not a time in UTC
        "9999-12-31T00:00:00Z",  # the future: nothing to replay yet
        *UNREPRESENTABLE,
        "1893456000",
        "2026-03-02T09:00:00",  # which zone?
    ):
        refused(world.client.get(url, params={"at": at}, headers=world.h("auditor")), "at")
    r = world.client.get(
        url, params={"at": world.clock.now.isoformat()}, headers=world.h("auditor")
    )
    assert r.status_code == 200 and r.json()["state"] == "assigned"


def test_odd_values_in_paths_queries_and_headers_are_4xx_on_every_database(world: World) -> None:
    """NUL reaches PostgreSQL as a 500 (text cannot hold it); none of these may."""
    hid = world.to("reported")
    h = world.h("dispatcher")
    c = world.client
    checks = [
        c.get(f"{API}/hazards", params={"state": "\x00"}, headers=h),
        c.get(f"{API}/hazards", params={"region": "\x00"}, headers=h),
        c.get(f"{API}/hazards", params={"grade": "\x00"}, headers=h),
        c.get(f"{API}/hazards/{hid}/evidence/%00", headers=h),
        c.get(f"{API}/hazards/{hid}/evidence/{'a' * 5000}", headers=h),
        c.post(f"{API}/hazards", json=hazard_body(world, title="a\x00b"), headers=h),
        fire(world, hid, "dispatcher", "dismiss", reason="\x00"),
        fire(
            world, hid, "dispatcher", "assign", assignee="x", headers={"Idempotency-Key": b"\xff"}
        ),
        raw(
            world,
            f"/hazards/{hid}/transitions",
            '{"trigger":"dismiss","payload":{"reason":"\\ud800"}}',
        ),
        raw(world, f"/hazards/{hid}/transitions", '{"trigger":"x","payload":{"\\udfff":1}}'),
        raw(world, f"/hazards/{hid}/transitions", "[" * 5000 + "]" * 5000),
        raw(
            world,
            f"/hazards/{hid}/transitions",
            '{"trigger":"dismiss","payload":' + "1" * 5000 + "}",
        ),
    ]
    for r in checks:
        assert 400 <= r.status_code < 500, (r.request.content[:80], r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith(PROBLEM), r.request.url
    assert world.get(hid)["version"] == 1


# -- item 4: only real JSON enters the chain ----------------------------------------------------

NOT_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999")


def test_nan_infinity_and_overflowing_numbers_are_422_everywhere(world: World) -> None:
    rectifying = world.to("rectifying")
    assigned = world.to("assigned", grade="major")
    before = {h: len(world.history(h)) for h in (rectifying, assigned)}
    plan = canonical_json({k: v for k, v in world.plan("major").items() if k != "funds_yuan"})
    penalty = '"decision_no":"罚1","kind":"fine","legal_basis":"安全生产法第一百零二条"'
    progress = f"/hazards/{rectifying}/transitions"
    firm = '"title":"x","grade":"general","industry":"x","source":"inspection"'
    for n in NOT_NUMBERS:
        cases = [
            (
                "dispatcher",
                progress,
                "record_penalty",
                f'{penalty},"amount_yuan":{n}',
                "amount_yuan",
            ),
            ("enterprise", progress, "report_progress", f'"note":"x","percent":{n}', "percent"),
            ("enterprise", progress, "report_progress", f'"note":"x","extra":[1,{n}]', "extra.1"),
            (
                "enterprise",
                f"/hazards/{assigned}/transitions",
                "accept",
                f'"plan":{{{plan[1:-1]},"funds_yuan":{n}}}',
                "plan.funds_yuan",
            ),
        ]
        for who, path, trigger, payload, field in cases:
            body = f'{{"trigger":"{trigger}","payload":{{{payload}}}}}'
            errors = refused(raw(world, path, body, who), f"payload.{field}")
            assert "number" in errors[0]["message"], errors
        refused(raw(world, "/hazards", f'{{"enterprise_id":{n},{firm}}}'), "enterprise_id")
        refused(raw(world, "/enterprises", f'{{"name":"x","nothing":{n}}}', "admin"), "nothing")
    assert {h: len(world.history(h)) for h in before} == before


def test_canonical_json_refuses_nan_and_infinity() -> None:
    for value in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValueError):
            canonical_json({"amount_yuan": value})


def test_duplicate_keys_are_refused(world: World) -> None:
    hid = world.to("reported")
    body = '{"trigger":"dismiss","payload":{"reason":"重复","reason":"误报"}}'
    refused(raw(world, f"/hazards/{hid}/transitions", body), "payload.reason")


# -- item 5: strict input, no silent coercion ------------------------------------------------


def test_numbers_instants_strings_and_booleans_are_not_taken_from_one_another(world: World) -> None:
    h = world.h("dispatcher")
    post = world.client.post
    refused(
        post(
            f"{API}/hazards", json=hazard_body(world, enterprise_id=str(world.home_firm)), headers=h
        ),
        "enterprise_id",
    )
    refused(post(f"{API}/hazards", json=hazard_body(world, title=5), headers=h), "title")
    refused(post(f"{API}/hazards", json=hazard_body(world, violation=1), headers=h), "violation")
    hid = world.to("reported")
    for deadline in (
        1893456000,
        "1893456000",
        1893456000.5,
        True,
        "2026-04-01",
        "2026-04-01T09:00:00",
    ):
        refused(
            fire(world, hid, "dispatcher", "assign", assignee="王工", deadline=deadline),
            "payload.deadline",
        )
    refused(fire(world, hid, "dispatcher", "assign", assignee=123), "payload.assignee")
    rectifying = world.to("rectifying")
    for percent in ("50", 50.0, 50.5, True):
        refused(
            fire(world, rectifying, "enterprise", "report_progress", note="x", percent=percent),
            "payload.percent",
        )
    for amount in ("20000", True, [20000]):
        errors = refused(
            fire(
                world,
                rectifying,
                "dispatcher",
                "record_penalty",
                decision_no="罚1",
                kind="fine",
                amount_yuan=amount,
                legal_basis="安全生产法",
            ),
            "payload.amount_yuan",
        )
    assert "JSON number" in errors[0]["message"]
    assert len(world.history(hid)) == 1 and len(world.history(rectifying)) == 3
    firm = {"name": "某公司", "credit_code": credit_code("420102", 77), "industry": "化工"}
    refused(
        post(f"{API}/enterprises", json=firm | {"region_code": 420102}, headers=world.h("admin")),
        "region_code",
    )


def test_overdue_takes_only_true_or_false(world: World) -> None:
    url, h = f"{API}/hazards", world.h("dispatcher")
    for value in ("yes", "1", "True", "on", ""):
        refused(world.client.get(url, params={"overdue": value}, headers=h), "overdue")
    for value in ("true", "false"):
        assert world.client.get(url, params={"overdue": value}, headers=h).status_code == 200


def test_unknown_enum_filter_values_are_422_listing_the_allowed_ones(world: World) -> None:
    world.to("assigned")
    url, h = f"{API}/hazards", world.h("dispatcher")
    known = {
        "state": "assigned",
        "supervision": "listed",
        "production": "suspended",
        "judicial": "transferred",
        "grade": "major",
        "source": "self_check",
    }
    for name, allowed in known.items():
        for value in ("' OR '1'='1", "ASSIGNED", " assigned", "none\n"):
            errors = refused(world.client.get(url, params={name: value}, headers=h), name)
            assert allowed in errors[0]["message"], errors
        assert world.client.get(url, params={name: allowed}, headers=h).status_code == 200
    r = world.client.get(url, params={"state": "assigned", "source": "inspection"}, headers=h)
    assert r.json()["total"] == 1


def test_state_filters_take_the_states_of_every_deployed_version(world: World) -> None:
    v1 = world.ctx.registry.latest("hazard")
    main = v1.regions[0].model_copy(update={"states": {**v1.regions[0].states, "on_hold": "暂缓"}})
    v2 = v1.model_copy(update={"version": v1.version + 1, "regions": [main, *v1.regions[1:]]})
    world.ctx.registry = Registry([v1, v2])
    url, h = f"{API}/hazards", world.h("auditor")
    r = world.client.get(url, params={"state": "on_hold"}, headers=h)
    assert r.status_code == 200 and r.json()["total"] == 0, r.text
    refused(world.client.get(url, params={"state": "on_holiday"}, headers=h), "state")


BAD_REGIONS = (
    "４２０１０２",
    "٤٢٠١٠٢",
    "420102\n",
    "420102 ",
    "42010２",
    "4201020",
    "002102",
    "420102000",
    "4201020011",
)


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECTIFY_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("RECTIFY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RECTIFY_DEMO", "false")


def test_region_codes_are_six_or_nine_ascii_digits(world: World, env: None) -> None:
    h, admin = world.h("dispatcher"), world.h("admin")
    for n, region in enumerate(BAD_REGIONS):
        errors = refused(
            world.client.get(f"{API}/hazards", params={"region": region}, headers=h), "region"
        )
        assert "ASCII digits" in errors[0]["message"]
        firm = {"name": "某公司", "credit_code": credit_code("420102", 50 + n), "industry": "化工"}
        r = world.client.post(
            f"{API}/enterprises", json=firm | {"region_code": region}, headers=admin
        )
        refused(r, "region_code")
        args = ["token", "create", "--role", "dispatcher", "--name", "x", "--region", region]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (region, result.output)
    assert (
        world.client.get(f"{API}/hazards", params={"region": "420102"}, headers=h).status_code
        == 200
    )


BAD_TEXT = {
    "NUL": "a\x00b",
    "ESC (ANSI colour)": "\x1b[31m红色",
    "DEL": "ab\x7f",
    "C1 (NEL)": "a\x85b",
    "carriage return": "a\rb",
    "bidi override": "invoice\u202efdp.exe",
    "bidi isolate": "\u2066张三\u2069",
    "right-to-left mark": "a\u200fb",
    "zero-width only": "\u200b\u200d\ufeff\u2060",
    "blank": " \u3000\t ",
}


def test_text_fields_refuse_controls_bidi_and_invisible_blanks(world: World) -> None:
    h, admin = world.h("dispatcher"), world.h("admin")
    hid = world.to("reported")
    for value in BAD_TEXT.values():
        for field in ("title", "description", "industry", "location"):
            r = world.client.post(
                f"{API}/hazards", json=hazard_body(world, **{field: value}), headers=h
            )
            refused(r, field)
        firm = {
            "name": value,
            "credit_code": credit_code("420102", 90),
            "industry": "化工",
            "region_code": "420102",
        }
        refused(world.client.post(f"{API}/enterprises", json=firm, headers=admin), "name")
        refused(fire(world, hid, "dispatcher", "dismiss", reason=value), "payload.reason")
        refused(fire(world, hid, "dispatcher", "assign", assignee=value), "payload.assignee")
    assert len(world.history(hid)) == 1
    # One line where one line is meant; prose may have tabs and line breaks.
    refused(
        world.client.post(f"{API}/hazards", json=hazard_body(world, title="a\nb"), headers=h),
        "title",
    )
    ok = hazard_body(world, description="第一行\n第二行\t附注\u2028完", title="消防通道 🚒 “堵塞”")
    assert world.client.post(f"{API}/hazards", json=ok, headers=h).status_code == 201
    assert fire(world, hid, "dispatcher", "dismiss", reason="重复上报\n见 #1").status_code == 200


def test_evidence_file_names_are_kept_only_after_cleaning(world: World) -> None:
    hid = world.to("rectifying")
    names = {
        "../../etc/\u202egnp.exe": "gnp.exe",
        "C:\\Users\\李\\现场\x1b[2J照片.png": "现场[2J照片.png",
        "\u200b": None,
        "长" * 300 + ".png": "长" * 196 + ".png",
    }
    for seed, (name, shown) in enumerate(names.items()):
        files = {"file": (name, io.BytesIO(png(seed + 10)), "image/png")}
        r = world.client.post(
            f"{API}/hazards/{hid}/evidence", files=files, headers=world.h("enterprise")
        )
        assert r.status_code == 201, r.text
        sha = r.json()["sha256"]
        stored = {e["sha256"]: e["filename"] for e in world.get(hid)["evidence"]}
        assert stored[sha] == shown, (name, stored[sha])
        assert clean_filename(name) == shown
