"""Console test helpers: people of every role, and signing in through the real form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
from fastapi.testclient import TestClient

from rectify.auth import people as accounts
from rectify.auth.sessions import COOKIE
from tests.support import CITY, HOME, World

PASSWORD = "整改督办 correct horse"
LOGIN = "/console/login"

# username: (role, display name, region, enterprise)
PEOPLE = {
    "dispatcher": ("dispatcher", "王督办", HOME, None),
    "inspector": ("inspector", "李执法", HOME, None),
    "enterprise": ("enterprise", "赵企业", None, "home"),
    "auditor": ("auditor", "钱审计", CITY, None),
    "admin": ("admin", "孙管理", None, None),
}


@dataclass
class People:
    world: World
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def client(self) -> TestClient:
        return self.world.client

    def add(self, username: str, role: str, display_name: str, **scope: object) -> int:
        ctx = self.world.ctx
        with ctx.db.write() as session:
            principal = accounts.create_user(
                session=session,
                settings=ctx.settings,
                role=role,
                username=username,
                display_name=display_name,
                password=PASSWORD,
                now=ctx.now(),
                **scope,  # type: ignore[arg-type]
            )
        assert principal.id is not None
        self.ids[username] = principal.id
        return principal.id


def make_people(world: World) -> People:
    made = People(world)
    for username, (role, name, region, firm) in PEOPLE.items():
        made.add(
            username,
            role,
            name,
            region_code=region,
            enterprise_id=world.home_firm if firm == "home" else None,
        )
    return made


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    match = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def login_page(client: TestClient) -> str:
    r = client.get(LOGIN)
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def sign_in(
    client: TestClient, username: str, password: str = PASSWORD, next_page: str = ""
) -> httpx.Response:
    """POST the sign-in form as a browser would (its CSRF cookie and field included)."""
    token = login_page(client)
    data = {"username": username, "password": password, "csrf_token": token, "next": next_page}
    return client.post(LOGIN, data=data, follow_redirects=False)


def signed_in(client: TestClient, username: str) -> str:
    """Sign in (must succeed) and return the session cookie."""
    r = sign_in(client, username)
    assert r.status_code == 303, f"{username}: {r.status_code} {r.text}"
    cookie = client.cookies.get(COOKIE)
    assert cookie
    return cookie


def page_csrf(client: TestClient, path: str = "/console/") -> str:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 200, r.text
    return csrf_of(r.text)
