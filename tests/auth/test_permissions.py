"""Who may call a route is declared on the route (`rectify.api.permissions`), not checked in
its handler: every role-restricted row of the endpoint matrix whose roles are not data from the
workflow file carries a `Roles` or `HazardRoles` dependency naming exactly the matrix's roles
(the matrix itself, tests/auth/test_endpoint_matrix.py, proves they answer 404 before 403)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from rectify.api.permissions import DocumentRoles, HazardRoles, Roles
from tests.auth.test_endpoint_matrix import ANY, ROWS

# The service decides these from the workflow file (the trigger's roles), after the scope.
FROM_THE_WORKFLOW = {
    ("POST", "/api/v1/hazards"),
    ("POST", "/api/v1/hazards/{hazard_id}/transitions"),
    ("POST", "/api/v1/hazards/{hazard_id}/evidence"),
}


# Scope before role: a route on a hazard or a document finds it in scope first (404), then checks.
SCOPED = {"hazard": HazardRoles, "document": DocumentRoles}
PERMISSIONS = Roles | HazardRoles | DocumentRoles


def declared(dependant: Dependant) -> list[PERMISSIONS]:
    """The permission dependencies anywhere in a route's dependency tree."""
    found = [dependant.call] if isinstance(dependant.call, PERMISSIONS) else []
    for sub in dependant.dependencies:
        found += declared(sub)
    return found


def test_each_restricted_route_declares_its_roles(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    routes = {
        (method, route.path): route
        for route in iter_route_contexts(app.routes)
        for method in (route.methods or set())
    }
    for key, row in ROWS.items():
        if row.roles is None or not key[1].startswith("/api/"):
            continue  # public
        checks = declared(routes[key].dependant)
        if row.roles == ANY or key in FROM_THE_WORKFLOW:
            assert checks == [], key
            continue
        assert len(checks) == 1, (key, checks)
        assert frozenset(checks[0].roles) == row.roles, key
        assert type(checks[0]) is SCOPED.get(row.on, Roles), key  # scope first
