"""Who may see and do what, endpoint by endpoint and principal by principal (SPEC.md 1, 5).

Region scopes widen with trailing zero pairs (420000 province, 420100 city, 420102 county);
an enterprise sees only itself. Outside the scope an object does not exist (404, never 403);
inside it, a role that may not act gets 403. Each test walks a table and reports every cell
that disagrees at once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from rectify.auth import service as auth
from rectify.auth.models import Principal
from rectify.enterprises.models import Enterprise
from rectify.exceptions import InvalidInput
from rectify.hazards import service as hazards
from rectify.hazards.models import HazardCreate
from tests.support import PRINCIPALS, World, credit_code, png

API = "/api/v1"
SIBLING = "420103"  # another district of the home city (420100)
BEIJING = "110105"  # outside the home province

# Which objects each principal of the world sees: home (420102), sibling (420103),
# other (420202, the firm of enterprise_other) and beijing (110105).
SEES: dict[str, set[str]] = {
    "dispatcher": {"home"},
    "inspector": {"home"},
    "enterprise": {"home"},
    "dispatcher_city": {"home", "sibling"},
    "auditor": {"home", "sibling"},
    "dispatcher_province": {"home", "sibling", "other"},
    "dispatcher_elsewhere": {"other"},
    "inspector_elsewhere": {"other"},
    "auditor_elsewhere": {"other"},
    "enterprise_other": {"other"},
    "admin": {"home", "sibling", "other", "beijing"},
}
NAMES = list(PRINCIPALS)
ROLE_OF = {name: role for name, (role, _, _) in PRINCIPALS.items()}

# SPEC.md section 2: who may fire each trigger (the timer engine's events: nobody but system).
TRIGGER_ROLES: dict[str, set[str]] = {
    "assign": {"dispatcher"},
    "dismiss": {"dispatcher"},
    "accept": {"enterprise"},
    "revise_plan": {"enterprise"},
    "report_progress": {"enterprise"},
    "request_extension": {"enterprise"},
    "decide_extension": {"dispatcher"},
    "confirm_rectified": {"enterprise"},
    "verify_pass": {"inspector"},
    "verify_fail": {"inspector"},
    "close": {"dispatcher"},
    "list_for_supervision": {"dispatcher"},
    "order_suspension": {"dispatcher"},
    "order_closure": {"dispatcher"},
    "transfer_to_judicial": {"dispatcher"},
    "record_judicial_decision": {"dispatcher"},
    "regrade": {"dispatcher", "inspector"},
    "record_penalty": {"dispatcher", "inspector"},
    "plan_overdue": set(),
    "progress_overdue": set(),
    "deadline_reminder": set(),
    "deadline_missed": set(),
    "verification_overdue": set(),
    "judicial_decision_overdue": set(),
    "closure_recommended": set(),
}


@dataclass
class Scene:
    """The world plus a firm and a reported hazard in each of four regions."""

    world: World
    firms: dict[str, int] = field(default_factory=dict)
    hazards: dict[str, int] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)  # tokens of extra principals

    def h(self, who: str) -> dict[str, str]:
        if who in self.extra:
            return {"Authorization": f"Bearer {self.extra[who]}"}
        return self.world.h(who)

    def call(self, method: str, path: str, who: str, **kw: Any) -> Any:
        return self.world.client.request(method, f"{API}{path}", headers=self.h(who), **kw)


def _report(scene: Scene, who: str, firm: str, **fields: Any) -> int:
    body = {
        "enterprise_id": scene.firms[firm],
        "title": f"隐患 {firm}",
        "grade": "general",
        "industry": "危险化学品",
        "source": "inspection",
        **fields,
    }
    r = scene.call("POST", "/hazards", who, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def build_scene(world: World) -> Scene:
    """Set up through the services (the API calls are what the tests are about)."""
    scene = Scene(world, firms={"home": world.home_firm, "other": world.other_firm})
    with world.ctx.db.write() as session:
        for key, region, serial in (("sibling", SIBLING, 11), ("beijing", BEIJING, 12)):
            firm = Enterprise(
                name=f"企业{serial}",
                credit_code=credit_code(region, serial),
                industry="冶金",
                region_code=region,
            )
            session.add(firm)
            session.flush()
            scene.firms[key] = firm.id
        _, scene.extra["dispatcher_bj"] = auth.create_token(
            session=session, role="dispatcher", name="dispatcher_bj", region_code=BEIJING
        )
    tokens = world.tokens | scene.extra
    for obj, who in (
        ("home", "inspector"),
        ("sibling", "dispatcher_city"),
        ("other", "dispatcher_elsewhere"),
        ("beijing", "dispatcher_bj"),
    ):
        with world.ctx.db.session() as session:
            caller = auth.authenticate(session=session, token=tokens[who])
        data = HazardCreate(
            enterprise_id=scene.firms[obj],
            title=f"隐患 {obj}",
            grade="general",
            industry="危险化学品",
            source="inspection",
        )
        scene.hazards[obj] = hazards.report(ctx=world.ctx, caller=caller, data=data)["id"]
    return scene


@pytest.fixture
def scene(world: World) -> Scene:
    return build_scene(world)


def expected(who: str, obj: str, roles: set[str], ok: int) -> int:
    """404 outside the scope (whatever the role), else `ok` for the roles, else 403."""
    if obj not in SEES[who]:
        return 404
    return ok if ROLE_OF[who] in roles else 403


def check(cells: list[tuple[str, str, Any, Any]]) -> None:
    """Assert every (principal, object, expected, actual) cell, listing all that differ."""
    bad = [
        f"{who} on {obj}: want {want}, got {got}" for who, obj, want, got in cells if want != got
    ]
    assert not bad, "\n".join(bad)


# -- reading -------------------------------------------------------------------------------


def test_reading_a_hazard_or_enterprise_is_404_outside_the_scope(scene: Scene) -> None:
    cells = []
    for who in NAMES:
        for obj, hid in scene.hazards.items():
            r = scene.call("GET", f"/hazards/{hid}", who)
            cells.append((who, f"hazard {obj}", 200 if obj in SEES[who] else 404, r.status_code))
            if r.status_code == 404:
                assert r.headers["content-type"].startswith("application/problem+json")
            if obj in ("home", "other"):
                r = scene.call("GET", f"/hazards/{hid}/history", who)
                want = 200 if obj in SEES[who] else 404
                cells.append((who, f"history {obj}", want, r.status_code))
                if r.status_code == 200:
                    assert [e["trigger"] for e in r.json()] == ["report"], who
        for obj in ("home", "other"):  # sibling and beijing: see the lists
            r = scene.call("GET", f"/enterprises/{scene.firms[obj]}", who)
            cells.append(
                (who, f"enterprise {obj}", 200 if obj in SEES[who] else 404, r.status_code)
            )
    check(cells)
    # Probing an id that does not exist at all looks the same as one outside the scope.
    for path in ("/enterprises/{}", "/hazards/{}", "/hazards/{}/history"):
        missing = scene.call("GET", path.format(999999), "dispatcher")
        hidden_id = scene.firms["other"] if "enterprises" in path else scene.hazards["other"]
        hidden = scene.call("GET", path.format(hidden_id), "dispatcher")
        assert missing.status_code == hidden.status_code == 404, path
        assert missing.json()["title"] == hidden.json()["title"], path


LIST_FILTERS: list[tuple[str, dict[str, str], set[str]]] = [
    ("dispatcher_province", {"region": "420000"}, {"home", "sibling", "other"}),
    ("dispatcher_province", {"region": "420100"}, {"home", "sibling"}),
    ("dispatcher_province", {"region": "420102"}, {"home"}),
    ("dispatcher_province", {"region": "420202"}, {"other"}),
    ("dispatcher_city", {"region": "420200"}, set()),  # a filter never widens the scope
    ("dispatcher", {"region": "420000"}, {"home"}),
    ("enterprise", {"region": "420100"}, {"home"}),
    ("enterprise_other", {"region": "420102"}, set()),
    ("admin", {"region": "110000"}, {"beijing"}),
    ("admin", {"region": "420100"}, {"home", "sibling"}),
    ("admin", {"region": "420103"}, {"sibling"}),
    ("dispatcher", {"enterprise_id": "other"}, set()),
    ("enterprise", {"enterprise_id": "other"}, set()),
    ("dispatcher_province", {"enterprise_id": "other"}, {"other"}),
]


def test_lists_contain_exactly_the_scope_and_filters_only_narrow_it(scene: Scene) -> None:
    cells = []
    for who in NAMES:
        r = scene.call("GET", "/enterprises", who)
        assert r.status_code == 200, f"{who}: {r.text}"
        want = sorted(scene.firms[k] for k in SEES[who])
        cells.append((who, "GET /enterprises", want, sorted(e["id"] for e in r.json())))
        body = scene.call("GET", "/hazards", who).json()
        want = sorted(scene.hazards[k] for k in SEES[who])
        cells.append((who, "GET /hazards items", want, sorted(h["id"] for h in body["items"])))
        cells.append((who, "GET /hazards total", len(want), body["total"]))
        r = scene.call("GET", "/workflows", who)  # any principal
        cells.append((who, "GET /workflows", 200, r.status_code))
    # Filters narrow within the scope, never beyond it.
    for who, params, want in LIST_FILTERS:
        if "enterprise_id" in params:
            params = {"enterprise_id": str(scene.firms[params["enterprise_id"]])}
        body = scene.call("GET", "/hazards", who, params=params).json()
        ids = sorted(scene.hazards[k] for k in want)
        cells.append((who, f"{params} items", ids, sorted(h["id"] for h in body["items"])))
        cells.append((who, f"{params} total", len(want), body["total"]))
    check(cells)
    # A page counts the whole scope, not the page.
    body = scene.call("GET", "/hazards", "admin", params={"limit": 1, "offset": 1}).json()
    assert body["total"] == 4
    assert [h["id"] for h in body["items"]] == [sorted(scene.hazards.values())[1]]


def test_region_filter_of_a_county_ending_in_zero_is_only_that_county(scene: Scene) -> None:
    ids = {}
    for region, serial in (("420110", 21), ("420111", 22)):
        body = {
            "name": f"企业{serial}",
            "credit_code": credit_code(region, serial),
            "industry": "冶金",
            "region_code": region,
        }
        r = scene.call("POST", "/enterprises", "dispatcher_city", json=body)
        assert r.status_code == 201, r.text
        scene.firms[region] = r.json()["id"]
        ids[region] = _report(scene, "dispatcher_city", region)
    r = scene.call("GET", "/hazards", "dispatcher_city", params={"region": "420110"})
    assert [h["id"] for h in r.json()["items"]] == [ids["420110"]]


def test_an_enterprise_sees_only_itself_even_beside_a_neighbour(scene: Scene) -> None:
    """A second firm in the same district: its principal sees none of the home firm's."""
    world = scene.world
    body = {
        "name": "邻居企业",
        "credit_code": credit_code("420102", 31),
        "industry": "商贸",
        "region_code": "420102",
    }
    neighbour = scene.call("POST", "/enterprises", "dispatcher", json=body).json()["id"]
    with world.ctx.db.write() as session:
        _, scene.extra["neighbour"] = auth.create_token(
            session=session, role="enterprise", name="neighbour", enterprise_id=neighbour
        )
    scene.firms["neighbour"] = neighbour
    own = _report(scene, "neighbour", "neighbour", source="self_check")
    home = scene.hazards["home"]
    assert scene.call("GET", f"/hazards/{home}", "neighbour").status_code == 404
    assert scene.call("GET", f"/enterprises/{world.home_firm}", "neighbour").status_code == 404
    listed = scene.call("GET", "/hazards", "neighbour").json()
    assert [h["id"] for h in listed["items"]] == [own] and listed["total"] == 1
    assert [e["id"] for e in scene.call("GET", "/enterprises", "neighbour").json()] == [neighbour]
    # ... and the home firm's principal does not see the neighbour's hazard either.
    assert scene.call("GET", f"/hazards/{own}", "enterprise").status_code == 404
    assert scene.call("GET", "/hazards", "enterprise").json()["total"] == 1


# -- writing -------------------------------------------------------------------------------


def test_registering_enterprises_and_reporting_hazards_by_role_and_scope(scene: Scene) -> None:
    """Dispatchers inside their region and admins register; others 403 (the region code is the
    caller's own input, so a 403 reveals nothing). Nothing is created on refusal."""
    want = {
        "dispatcher": 201,
        "dispatcher_city": 201,
        "dispatcher_province": 201,
        "admin": 201,
        "dispatcher_elsewhere": 403,
        "inspector": 403,
        "inspector_elsewhere": 403,
        "enterprise": 403,
        "enterprise_other": 403,
        "auditor": 403,
        "auditor_elsewhere": 403,
    }
    cells = []
    for serial, who in enumerate(NAMES, start=40):
        body = {
            "name": f"新企业{serial}",
            "credit_code": credit_code("420102", serial),
            "industry": "建材",
            "region_code": "420102",
        }
        r = scene.call("POST", "/enterprises", who, json=body)
        cells.append((who, "POST /enterprises 420102", want[who], r.status_code))
    check(cells)
    total = len(scene.call("GET", "/enterprises", "admin").json())
    assert total == len(scene.firms) + sum(1 for s in want.values() if s == 201)

    # Reporting a hazard: an out-of-scope enterprise id is refused like a missing one (422 on
    # enterprise_id, docs/DECISIONS.md); roles that may not report get 403.
    before = scene.call("GET", "/hazards", "admin").json()["total"]
    missing = scene.call(
        "POST",
        "/hazards",
        "dispatcher",
        json={
            "enterprise_id": 999999,
            "title": "x",
            "grade": "general",
            "industry": "商贸",
            "source": "inspection",
        },
    )
    assert missing.status_code == 422
    reporters = {"dispatcher", "inspector", "enterprise"}
    cells, created = [], 0
    for who in NAMES:
        for obj in ("home", "other"):
            body = {
                "enterprise_id": scene.firms[obj],
                "title": "自查隐患",
                "grade": "general",
                "industry": "商贸",
                "source": "self_check",
            }
            r = scene.call("POST", "/hazards", who, json=body)
            status = expected(who, obj, reporters, ok=201)
            if status == 404:
                status = 422  # the enterprise id is the caller's input: refused as unknown
                if r.status_code == 422:
                    assert r.json()["detail"] == missing.json()["detail"], who
                    assert [e["field"] for e in r.json()["errors"]] == ["enterprise_id"]
            created += r.status_code == 201
            cells.append((who, obj, status, r.status_code))
    check(cells)
    assert scene.call("GET", "/hazards", "admin").json()["total"] == before + created


def test_transitions_are_404_outside_the_scope_and_403_for_other_roles(scene: Scene) -> None:
    """assign (dispatcher) and accept (the own enterprise) tried by every principal; refusals
    leave the hazard untouched, each success moves a fresh hazard."""
    world = scene.world
    cells = []
    for obj, reporter in (("home", "inspector"), ("other", "dispatcher_elsewhere")):
        hid = scene.hazards[obj]
        for who in NAMES:
            r = scene.call(
                "POST",
                f"/hazards/{hid}/transitions",
                who,
                json={"trigger": "assign", "payload": {"assignee": "王工"}},
            )
            cells.append(
                (who, f"assign {obj}", expected(who, obj, {"dispatcher"}, 200), r.status_code)
            )
            if r.status_code == 200:
                assert (r.json()["state"], r.json()["version"]) == ("assigned", 2), who
                hid = _report(scene, reporter, obj)
            else:
                assert r.headers["content-type"].startswith("application/problem+json")
        state = world.get(hid, who="admin")  # the last one was only ever refused
        assert (state["state"], state["version"]) == ("reported", 1), obj

    hid = world.to("assigned")
    plan = {"plan": world.plan()}
    for who in NAMES:
        r = scene.call(
            "POST", f"/hazards/{hid}/transitions", who, json={"trigger": "accept", "payload": plan}
        )
        cells.append(
            (who, "accept home", expected(who, "home", {"enterprise"}, 200), r.status_code)
        )
    check(cells)
    assert world.get(hid)["state"] == "rectifying"


def test_every_trigger_is_403_for_roles_that_may_not_fire_it(scene: Scene) -> None:
    """On a visible hazard a forbidden role gets 403 whatever the state or payload (the role is
    checked before them); the timer engine's events are nobody's to fire. Nothing changes."""
    world = scene.world
    hid = world.to("rectifying")
    version = world.get(hid)["version"]
    cells = []
    for trigger, roles in TRIGGER_ROLES.items():
        # The home-district principal named after its role; for the engine's events one will do.
        forbidden = [r for r in ("dispatcher", "inspector", "enterprise") if r not in roles]
        for who in forbidden if roles else ["dispatcher"]:
            r = scene.call(
                "POST",
                f"/hazards/{hid}/transitions",
                who,
                json={"trigger": trigger, "payload": {}},
            )
            cells.append((who, trigger, 403, r.status_code))
    for trigger in (
        "assign",
        "close",
        "record_penalty",
        "verify_pass",
        "accept",
        "deadline_missed",
    ):
        r = scene.call(
            "POST", f"/hazards/{hid}/transitions", "admin", json={"trigger": trigger, "payload": {}}
        )
        cells.append(("admin", trigger, 403, r.status_code))
    check(cells)
    assert world.get(hid)["version"] == version
    assert len(world.history(hid)) == version


def test_auditor_reads_everything_in_scope_but_changes_nothing(scene: Scene) -> None:
    world = scene.world
    hid = world.to("awaiting_verification")
    before = world.get(hid, who="auditor")
    assert before["allowed_triggers"] == []
    valid = {
        "verify_pass": {"note": "合格"},
        "verify_fail": {"findings": "未整改", "new_deadline": "2030-01-01T00:00:00+08:00"},
        "record_penalty": {"decision_no": "罚1", "kind": "warning", "legal_basis": "第一百零二条"},
        "list_for_supervision": {"level": "county", "document_no": "督1"},
        "order_suspension": {"order_no": "停1", "reason": "重大隐患"},
        "transfer_to_judicial": {
            "receiving_organ": "公安",
            "case_summary": "x",
            "officers": ["甲", "乙"],
            "attachments": [before["evidence"][0]["sha256"]],
        },
        "regrade": {"grade": "major", "basis": "工贸企业重大事故隐患判定标准 第四条"},
    }
    cells = []
    for trigger in TRIGGER_ROLES:
        r = scene.call(
            "POST",
            f"/hazards/{hid}/transitions",
            "auditor",
            json={"trigger": trigger, "payload": valid.get(trigger, {})},
        )
        cells.append(("auditor", trigger, 403, r.status_code))
    for trigger in ("verify_pass", "record_penalty"):  # outside its region: not even there
        r = scene.call(
            "POST",
            f"/hazards/{hid}/transitions",
            "auditor_elsewhere",
            json={"trigger": trigger, "payload": valid[trigger]},
        )
        cells.append(("auditor_elsewhere", trigger, 404, r.status_code))
    check(cells)
    files = {"file": ("a.png", io.BytesIO(png(5)), "image/png")}
    assert scene.call("POST", f"/hazards/{hid}/evidence", "auditor", files=files).status_code == 403
    after = world.get(hid, who="auditor")
    assert after == before
    assert len(world.history(hid)) == before["version"]
    assert scene.call("GET", "/hazards", "auditor").json()["total"] == 3  # home, sibling, hid


def test_evidence_by_role_and_scope(scene: Scene) -> None:
    """Upload: the own enterprise, inspectors and dispatchers in scope; download: in scope."""
    world = scene.world
    uploaders = {"dispatcher", "inspector", "enterprise"}
    cells, stored = [], {"home": set(), "other": set()}
    for seed, who in enumerate(NAMES):
        for obj in ("home", "other"):
            data = png(seed * 2 + (obj == "other"))
            files = {"file": ("p.png", io.BytesIO(data), "image/png")}
            r = scene.call("POST", f"/hazards/{scene.hazards[obj]}/evidence", who, files=files)
            cells.append((who, f"upload {obj}", expected(who, obj, uploaders, 201), r.status_code))
            if r.status_code == 201:
                stored[obj].add(r.json()["sha256"])
    for obj in ("home", "other"):
        listed = {e["sha256"] for e in world.get(scene.hazards[obj], who="admin")["evidence"]}
        assert listed == stored[obj], obj
    for who in NAMES:
        for obj in ("home", "other"):
            sha = sorted(stored[obj])[0]
            r = scene.call("GET", f"/hazards/{scene.hazards[obj]}/evidence/{sha}", who)
            cells.append((who, f"download {obj}", 200 if obj in SEES[who] else 404, r.status_code))
    check(cells)


# -- authentication ------------------------------------------------------------------------

ENDPOINTS = [
    ("POST", "/enterprises"),
    ("GET", "/enterprises"),
    ("GET", "/enterprises/{firm}"),
    ("POST", "/hazards"),
    ("GET", "/hazards"),
    ("GET", "/hazards/{hazard}"),
    ("POST", "/hazards/{hazard}/transitions"),
    ("POST", "/hazards/{hazard}/evidence"),
    ("GET", "/hazards/{hazard}/evidence/{sha}"),
    ("GET", "/hazards/{hazard}/history"),
    ("GET", "/workflows"),
]


def _request_kwargs(method: str, path: str, scene: Scene) -> dict[str, Any]:
    if path == "/enterprises" and method == "POST":
        body = {"name": "x", "credit_code": credit_code("420102", 77), "industry": "x"}
        return {"json": body | {"region_code": "420102"}}
    if path == "/hazards" and method == "POST":
        return {
            "json": {
                "enterprise_id": scene.firms["home"],
                "title": "x",
                "grade": "general",
                "industry": "x",
                "source": "inspection",
            }
        }
    if path.endswith("/transitions"):
        return {"json": {"trigger": "assign", "payload": {"assignee": "王工"}}}
    if path.endswith("/evidence"):
        return {"files": {"file": ("p.png", io.BytesIO(png(3)), "image/png")}}
    return {}


def test_missing_bad_or_revoked_token_is_401_everywhere(scene: Scene) -> None:
    world = scene.world
    hid = scene.hazards["home"]
    sha = world.upload(hid, seed=9)
    before_total = scene.call("GET", "/hazards", "admin").json()["total"]
    assert scene.call("GET", "/workflows", "inspector").status_code == 200
    with world.ctx.db.write() as session:
        for p in session.exec(select(Principal).where(Principal.name == "inspector")):
            p.revoked_at = world.clock.now
            session.add(p)
    revoked = world.h("inspector")["Authorization"]
    sweeps = {None: ENDPOINTS, "Bearer rt_not-a-real-token": ENDPOINTS}
    for authorization in ("Bearer ", "Basic ZGk6c2VjcmV0", revoked):
        sweeps[authorization] = [("GET", "/hazards/{hazard}"), ("POST", "/hazards")]
    for authorization, endpoints in sweeps.items():
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, template in endpoints:
            path = template.format(firm=scene.firms["home"], hazard=hid, sha=sha)
            kwargs = _request_kwargs(method, path, scene)
            r = world.client.request(method, f"{API}{path}", headers=headers, **kwargs)
            where = f"{method} {path} with {authorization!r}"
            assert r.status_code == 401, f"{where}: {r.status_code} {r.text}"
            assert r.headers["content-type"].startswith("application/problem+json"), where
            assert r.headers.get("www-authenticate", "").startswith("Bearer"), where
            body = r.json()
            assert body["status"] == 401 and body["title"] and body["detail"], where
    assert scene.call("GET", "/hazards", "admin").json()["total"] == before_total
    assert world.get(hid)["state"] == "reported"
    assert [e["trigger"] for e in world.history(hid)] == ["report", "evidence_added"]


# -- `rectify token create` rules ------------------------------------------------------------

REFUSED_PRINCIPALS = [
    ("dispatcher", None, None),  # a dispatcher needs a region
    ("inspector", None, None),
    ("dispatcher", "4201", None),  # not a 6-digit code
    ("dispatcher", "42010a", None),
    ("enterprise", None, None),  # no enterprise id
    ("enterprise", None, 999999),  # no such enterprise
    ("dispatcher", "420102", "home"),  # an enterprise id is only for the enterprise role
    ("superuser", None, None),
]


def test_token_create_rules_and_hashed_storage(world: World) -> None:
    with world.ctx.db.write() as session:
        count = session.execute(text("SELECT count(*) FROM principals")).scalar_one()
        for role, region, firm in REFUSED_PRINCIPALS:
            with pytest.raises(InvalidInput):
                auth.create_token(
                    session=session,
                    role=role,
                    name="refused",
                    region_code=region,
                    enterprise_id=world.home_firm if firm == "home" else firm,
                )
        assert session.execute(text("SELECT count(*) FROM principals")).scalar_one() == count
        _, firm_token = auth.create_token(
            session=session, role="enterprise", name="厂长", enterprise_id=world.other_firm
        )
        _, auditor_token = auth.create_token(session=session, role="auditor", name="纪检")
    r = world.client.get(f"{API}/enterprises", headers={"Authorization": f"Bearer {firm_token}"})
    assert [e["id"] for e in r.json()] == [world.other_firm]
    r = world.client.get(f"{API}/enterprises", headers={"Authorization": f"Bearer {auditor_token}"})
    assert sorted(e["id"] for e in r.json()) == sorted([world.home_firm, world.other_firm])

    with world.ctx.db.session() as session:
        rows = session.execute(text("SELECT * FROM principals")).mappings().all()
    assert len(rows) == len(PRINCIPALS) + 2
    cells = [str(v) for row in rows for v in row.values() if v is not None]
    tokens = world.tokens | {"厂长": firm_token, "纪检": auditor_token}
    for name, token in tokens.items():
        secret = token.removeprefix(auth.TOKEN_PREFIX)
        leaks = [c for c in cells if token in c or secret in c]
        assert not leaks, f"the token of {name} is stored in clear"
    assert len(set(tokens.values())) == len(tokens)  # all distinct
