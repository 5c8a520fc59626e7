"""Every endpoint × every role of SPEC.md section 1 × an object inside / outside the caller's
scope, in one table (SPEC.md 1 and 5, docs/DECISIONS.md "Roles and scopes").

The endpoints are enumerated from the app's routes, so a new endpoint without a row here fails
the test. The statuses the spec implies: 401 without a token (none on the public endpoints);
404 for an object outside the caller's scope, whatever the role (it does not exist for them);
403 for a role not allowed; otherwise a 2xx or a 4xx that is not 401/403/404 (the request is
judged on its merits, e.g. a 409 for a trigger the state does not allow). `system` holds no
token (the timer engine is in-process), so for HTTP it is the anonymous caller.

tests/auth/test_scope_matrix.py walks the scopes (province, city, county, enterprise) in depth;
this table walks the endpoints in breadth, with one principal per role, reusing its scene.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from rectify.accountability.service import ACCOUNTABILITY
from rectify.auth import service as auth
from rectify.auth.models import ROLES
from rectify.documents.service import render_pending
from rectify.exceptions import InvalidInput
from tests.auth.test_scope_matrix import ROLE_OF, SEES, Scene, build_scene, check
from tests.support import credit_code, png

ALLOWED = "2xx or a 4xx other than 401/403/404"
ANY = frozenset(ROLES)
PRINCIPALS = [None, "dispatcher", "inspector", "enterprise", "auditor", "admin"]  # None: no token
OBJECTS = ("home", "other")  # the caller's own district / another city (SEES in the scope matrix)


@dataclass(frozen=True)
class Row:
    """What one endpoint lets whom do."""

    roles: frozenset[str] | None  # None: public, no token needed
    on: str | None = None  # the kind of object the request names (None: none)
    ok: int | None = None  # the status when allowed; None: ALLOWED
    outside: int = 404  # the status for an object outside the caller's scope
    role_first: bool = False  # the role is checked before the scope (nothing to probe then)
    body: Callable[[Matrix, str, str], dict[str, Any]] | None = None  # request kwargs


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


# -- request bodies ---------------------------------------------------------------------------


def _enterprise(m: Matrix, who: str, obj: str) -> dict[str, Any]:
    region = {"home": "420102", "other": "420202"}[obj]
    return {
        "json": {
            "name": f"新企业{m.serial()}",
            "credit_code": credit_code(region, m.serial()),
            "industry": "建材",
            "region_code": region,
        }
    }


def _hazard(m: Matrix, who: str, obj: str) -> dict[str, Any]:
    body = {"title": "自查隐患", "grade": "general", "industry": "商贸", "source": "self_check"}
    return {"json": {"enterprise_id": m.scene.firms[obj], **body}}


def _transition(m: Matrix, who: str, obj: str) -> dict[str, Any]:
    # A trigger the caller's role may fire where there is one (the enterprise's does not fit
    # a reported hazard: 409), else one it may not.
    if who == "enterprise":
        return {"json": {"trigger": "report_progress", "payload": {"note": "进行中"}}}
    penalty = {"decision_no": f"罚{m.serial()}", "kind": "warning", "legal_basis": "第一百零二条"}
    return {"json": {"trigger": "record_penalty", "payload": penalty}}


def _upload(m: Matrix, who: str, obj: str) -> dict[str, Any]:
    return {"files": {"file": ("p.png", io.BytesIO(png(1000 + m.serial())), "image/png")}}


def _serve(m: Matrix, who: str, obj: str) -> dict[str, Any]:
    served_at = m.scene.world.clock.now.isoformat()
    return {"json": {"served_at": served_at, "method": "post", "recipient": "收发室"}}


def _resolve(m: Matrix, who: str, obj: str) -> dict[str, Any]:
    return {"json": {"outcome": "criticism", "note": f"处理{m.serial()}"}}


def _webhook(m: Matrix, who: str, obj: str) -> dict[str, Any]:
    return {"json": {"url": f"https://example.org/hook/{m.serial()}", "event_types": ["*"]}}


# -- the table --------------------------------------------------------------------------------

HAZARD_READERS = ANY
REPORTERS = _roles("dispatcher", "inspector", "enterprise")
AUDITORS = _roles("auditor", "admin")
WEBHOOKS = _roles("dispatcher", "admin")

ROWS: dict[tuple[str, str], Row] = {
    # the framework's and the operators' public endpoints
    ("GET", "/openapi.json"): Row(None, ok=200),
    ("GET", "/docs"): Row(None, ok=200),
    ("GET", "/redoc"): Row(None, ok=200),  # a redirect to /docs, followed
    ("GET", "/healthz"): Row(None, ok=200),
    ("GET", "/metrics"): Row(None, ok=200),
    # enterprises: registering outside one's region is 403 (the region is the caller's input)
    ("POST", "/api/v1/enterprises"): Row(
        _roles("dispatcher", "admin"), on="region", ok=201, outside=403, body=_enterprise
    ),
    ("GET", "/api/v1/enterprises"): Row(ANY, ok=200),
    ("GET", "/api/v1/enterprises/{enterprise_id}"): Row(ANY, on="firm", ok=200),
    # hazards: reporting for an enterprise outside the scope is a 422 like a missing one
    ("POST", "/api/v1/hazards"): Row(REPORTERS, on="firm", ok=201, outside=422, body=_hazard),
    ("GET", "/api/v1/hazards"): Row(ANY, ok=200),
    ("GET", "/api/v1/hazards/{hazard_id}"): Row(HAZARD_READERS, on="hazard", ok=200),
    ("POST", "/api/v1/hazards/{hazard_id}/transitions"): Row(
        REPORTERS, on="hazard", body=_transition
    ),
    ("GET", "/api/v1/hazards/{hazard_id}/history"): Row(HAZARD_READERS, on="hazard", ok=200),
    ("POST", "/api/v1/hazards/{hazard_id}/evidence"): Row(
        REPORTERS, on="hazard", ok=201, body=_upload
    ),
    ("GET", "/api/v1/hazards/{hazard_id}/evidence/{sha256}"): Row(
        HAZARD_READERS, on="evidence", ok=200
    ),
    ("GET", "/api/v1/hazards/{hazard_id}/replay"): Row(
        _roles("dispatcher", "auditor"), on="hazard", ok=200
    ),
    # 执法文书: read in scope through the hazard; served (送达) once by officers (then 409)
    ("GET", "/api/v1/hazards/{hazard_id}/documents"): Row(HAZARD_READERS, on="hazard", ok=200),
    ("GET", "/api/v1/documents/{document_id}"): Row(HAZARD_READERS, on="document", ok=200),
    ("POST", "/api/v1/documents/{document_id}/serve"): Row(
        _roles("dispatcher", "inspector"), on="document", body=_serve
    ),
    # 台账 and 追责问责 (issue 12): read in scope by any principal; an entry is resolved by a
    # dispatcher (the role first: a 403 for every other role says nothing of the entry)
    ("GET", "/api/v1/ledgers"): Row(ANY, ok=200),
    ("GET", "/api/v1/ledgers/{kind}"): Row(ANY, ok=200),
    ("GET", "/api/v1/accountability"): Row(ANY, ok=200),
    ("POST", "/api/v1/accountability/{accountability_id}/resolve"): Row(
        _roles("dispatcher"), on="accountability", role_first=True, body=_resolve
    ),
    # audit
    ("GET", "/api/v1/audit/verify"): Row(AUDITORS, ok=200),
    ("POST", "/api/v1/audit/checkpoints"): Row(AUDITORS, ok=201),
    ("GET", "/api/v1/audit/checkpoints"): Row(AUDITORS, ok=200),
    ("GET", "/api/v1/audit/export"): Row(AUDITORS, ok=200),
    # importing a ledger: dispatchers, into their scope (a sheet naming nothing is a 422)
    ("GET", "/api/v1/hazards/import/template"): Row(_roles("dispatcher"), ok=200),
    ("POST", "/api/v1/hazards/import"): Row(
        _roles("dispatcher"),
        body=lambda m, who, obj: {"files": {"file": ("a.xlsx", io.BytesIO(b"x"))}},
    ),
    # statistics: the offices, in their scope (an enterprise has its hazards' list)
    ("GET", "/api/v1/statistics"): Row(
        _roles("dispatcher", "inspector", "auditor", "admin"),
        ok=200,
        body=lambda m, who, obj: {"params": {"group_by": "region"}},
    ),
    # workflows: any principal
    ("GET", "/api/v1/workflows"): Row(ANY, ok=200),
    ("GET", "/api/v1/workflows/{name}/{version}/diagram"): Row(ANY, ok=200),
    # webhooks (beyond the spec): dispatchers and admins, each dispatcher their own; the role
    # is checked first, which reveals nothing (a role without webhooks sees none at all)
    ("POST", "/api/v1/webhooks"): Row(WEBHOOKS, ok=201, body=_webhook),
    ("GET", "/api/v1/webhooks"): Row(WEBHOOKS, ok=200),
    ("GET", "/api/v1/webhooks/deliveries"): Row(WEBHOOKS, ok=200),
    ("GET", "/api/v1/webhooks/{webhook_id}"): Row(WEBHOOKS, on="webhook", ok=200, role_first=True),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): Row(
        WEBHOOKS, on="webhook", ok=204, role_first=True
    ),
    # principals: admins only (a throwaway token is revoked, again and again: 200 each time)
    ("GET", "/api/v1/principals"): Row(_roles("admin"), ok=200),
    ("POST", "/api/v1/principals/{principal_id}/revoke"): Row(_roles("admin"), ok=200),
}

# Cells where the code and the spec disagree, each reported (see the xfail test below).
KNOWN: dict[tuple[str, str], str] = {}


def endpoints(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves (HEAD goes with GET), but the console's
    pages: they sign in with a session cookie, not a token (tests/console/ walks them)."""
    return {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        for method in (route.methods or set()) - {"HEAD"}
        if not is_console_page(route.path)
    }


def is_console_page(path: str) -> bool:
    return path == "/" or path == "/console" or path.startswith("/console/")


# -- running the table ------------------------------------------------------------------------


@dataclass
class Matrix:
    scene: Scene
    ids: dict[str, dict[str, Any]]  # object (home, other) -> path parameters
    counter: itertools.count

    def serial(self) -> int:
        return next(self.counter)

    def send(self, method: str, path: str, who: str | None, obj: str, row: Row) -> Any:
        url = path.format(**self.ids[obj])
        kwargs = row.body(self, who or "", obj) if row.body else {}
        headers = self.scene.h(who) if who else {}
        return self.scene.world.client.request(method, url, headers=headers, **kwargs)


def build_matrix(scene: Scene) -> Matrix:
    world = scene.world
    hazards, firms = scene.hazards, scene.firms
    hooks = {}
    for obj, owner in (("home", "dispatcher"), ("other", "dispatcher_elsewhere")):
        r = world.client.post(
            "/api/v1/webhooks",
            json={"url": f"https://example.org/{obj}", "event_types": ["*"]},
            headers=world.h(owner),
        )
        assert r.status_code == 201, r.text
        hooks[obj] = r.json()["id"]
    documents = {}
    for obj, officer in (("home", "dispatcher"), ("other", "dispatcher_elsewhere")):
        penalty = {"decision_no": f"罚-{obj}", "kind": "warning", "legal_basis": "第一百零二条"}
        world.fire(hazards[obj], officer, "record_penalty", **penalty)  # a 行政处罚决定书
    render_pending(ctx=world.ctx)
    for obj in OBJECTS:
        r = world.client.get(f"/api/v1/hazards/{hazards[obj]}/documents", headers=world.h("admin"))
        documents[obj] = r.json()[-1]["id"]
    # A 追责问责 entry on each hazard, written straight to its table: who may resolve it is what
    # is tested here (tests/ledgers opens entries through the timer engine).
    entries = {}
    with world.ctx.db.engine.begin() as conn:
        for obj in OBJECTS:
            row = {"hazard_id": hazards[obj], "enterprise_id": firms[obj], "hazard_seq": 1}
            row |= {"region_code": {"home": "420102", "other": "420202"}[obj]}
            row |= {"rule": "verification_overdue", "body": "验收方", "reason": "验收逾期"}
            row |= {"opened_at": world.clock.now, "state": "open"}
            result = conn.execute(ACCOUNTABILITY.insert().values(row))
            entries[obj] = result.inserted_primary_key[0]
    definition = world.ctx.registry.all()[0]
    with world.ctx.db.write() as session:
        throwaway, _ = auth.create_token(session=session, role="auditor", name="throwaway")
    ids = {
        obj: {
            "hazard_id": hazards[obj],
            "enterprise_id": firms[obj],
            "sha256": world.upload(hazards[obj], who=uploader, seed=500 + n),
            "webhook_id": hooks[obj],
            "document_id": documents[obj],
            "accountability_id": entries[obj],
            "kind": "hazards",
            "principal_id": throwaway.id,
            "name": definition.name,
            "version": definition.version,
        }
        for n, (obj, uploader) in enumerate(
            (("home", "inspector"), ("other", "inspector_elsewhere"))
        )
    }
    return Matrix(scene, ids, itertools.count(100))


def want(row: Row, who: str | None, obj: str) -> int | str:
    """The status SPEC.md implies for one cell."""
    if row.roles is None:
        return row.ok or ALLOWED
    if who is None:
        return 401
    outside = row.on is not None and obj not in SEES[who]
    if outside and not row.role_first:
        return row.outside
    if ROLE_OF[who] not in row.roles:
        return 403
    if outside:
        return row.outside
    return row.ok or ALLOWED


def verdict(status: int, wanted: int | str) -> int | str:
    """The status, or ALLOWED when ALLOWED was wanted and the status is one."""
    judged = 200 <= status < 300 or (400 <= status < 500 and status not in (401, 403, 404))
    return ALLOWED if wanted == ALLOWED and judged else status


def run(matrix: Matrix, rows: dict[tuple[str, str], Row]) -> list[tuple[str, str, Any, Any]]:
    cells = []
    for (method, path), row in rows.items():
        for who, obj in itertools.product(PRINCIPALS, OBJECTS if row.on else OBJECTS[:1]):
            r = matrix.send(method, path, who, obj, row)
            where = f"{method} {path} on {obj}" if row.on else f"{method} {path}"
            wanted = want(row, who, obj)
            cells.append((who or "no token", where, wanted, verdict(r.status_code, wanted)))
            if r.status_code >= 400:
                content_type = r.headers["content-type"]
                assert content_type.startswith("application/problem+json"), where
    return cells


@pytest.fixture
def matrix(scene: Scene) -> Matrix:
    return build_matrix(scene)


@pytest.fixture
def scene(world: Any) -> Scene:
    return build_scene(world)


def test_every_endpoint_has_a_row(matrix: Matrix) -> None:
    app = matrix.scene.world.client.app
    assert isinstance(app, FastAPI)
    served = endpoints(app)
    assert not served - set(ROWS), f"endpoints without a row: {sorted(served - set(ROWS))}"
    assert not set(ROWS) - served, f"rows without an endpoint: {sorted(set(ROWS) - served)}"


def test_every_endpoint_by_role_and_scope(matrix: Matrix) -> None:
    check(run(matrix, {k: v for k, v in ROWS.items() if k not in KNOWN}))


def test_system_holds_no_token(matrix: Matrix) -> None:
    """`system` is the in-process timer engine: no bearer token can be made for it, so over
    HTTP it can only be the anonymous caller of the rows above."""
    with matrix.scene.world.ctx.db.write() as session, pytest.raises(InvalidInput):
        auth.create_token(session=session, role="system", name="scheduler")
