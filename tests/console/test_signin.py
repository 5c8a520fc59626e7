"""People sign in to the console (issue 10): accounts with argon2id passwords, sessions in an
HttpOnly SameSite cookie, CSRF on every form, sign-out, idle expiry, slow-down and lock-out
(judged with the clock), the same roles and scopes as tokens. Through the real forms."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, text
from sqlmodel import select

from rectify.api.app import create_app
from rectify.auth.models import LoginSession, Principal
from rectify.auth.sessions import COOKIE
from rectify.console.deps import ConsoleCaller
from rectify.hazards import service as hazards
from tests.console.helpers import (
    LOGIN,
    PASSWORD,
    PEOPLE,
    People,
    login_page,
    page_csrf,
    sign_in,
    signed_in,
)
from tests.support import World

WRONG = "用户名或密码不正确"
ROLE_LABELS = {
    "dispatcher": "督办人员",
    "inspector": "执法人员",
    "enterprise": "企业用户",
    "auditor": "审计监督人员",
    "admin": "系统管理员",
}


def sessions_of(world: World, principal_id: int) -> int:
    with world.ctx.db.session() as session:
        stmt = select(func.count()).where(LoginSession.principal_id == principal_id)
        return session.exec(stmt).one()


def principal(world: World, principal_id: int) -> Principal:
    with world.ctx.db.session() as session:
        row = session.get(Principal, principal_id)
        assert row is not None
        return row


# -- signing in and out ---------------------------------------------------------------------


def test_the_front_door_leads_to_the_console_and_strangers_to_the_sign_in(people: People) -> None:
    client = people.client
    r = client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/console/")
    r = client.get("/console/admin/users?offset=0", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"{LOGIN}?next=/console/admin/users%3Foffset%3D0"
    r = client.get(r.headers["location"])
    assert r.status_code == 200 and 'name="username"' in r.text and 'name="password"' in r.text
    assert 'value="/console/admin/users?offset=0"' in r.text  # where the sign-in leads back
    r = sign_in(client, "admin", next_page="/console/admin/users?offset=0")
    assert r.headers["location"] == "/console/admin/users?offset=0"
    # Never to another site.
    for bad in ("//evil.example/", "https://evil.example/", "/console/..//evil", "/\\evil"):
        client.cookies.clear()
        assert sign_in(client, "admin", next_page=bad).headers["location"] == "/console/"


@pytest.mark.parametrize("username", sorted(PEOPLE))
def test_each_role_signs_in_sees_its_role_and_signs_out(people: People, username: str) -> None:
    client, world = people.client, people.world
    role, name, _, _ = PEOPLE[username]
    r = sign_in(client, username.upper())  # usernames are not case-sensitive
    assert (r.status_code, r.headers["location"]) == (303, "/console/")
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the site is not https in tests (settings.https)
    home = client.get("/console/")
    assert home.status_code == 200
    assert f"您好，{name}" in home.text and ROLE_LABELS[role] in home.text
    assert sessions_of(world, people.ids[username]) == 1
    assert principal(world, people.ids[username]).last_used_at == world.clock.now

    stolen = client.cookies.get(COOKIE)
    r = client.post(
        "/console/logout", data={"csrf_token": page_csrf(client)}, follow_redirects=False
    )
    assert (r.status_code, r.headers["location"]) == (303, LOGIN)
    assert sessions_of(world, people.ids[username]) == 0
    assert client.cookies.get(COOKIE) is None
    # The old cookie, replayed, signs nobody in.
    replay = TestClient(client.app)
    replay.cookies.set(COOKIE, stolen)
    r = replay.get("/console/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(LOGIN)


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(people: People) -> None:
    client = people.client
    wrong = sign_in(client, "dispatcher", "not the password")
    unknown = sign_in(client, "nobody-here", PASSWORD)
    for r, typed in ((wrong, "dispatcher"), (unknown, "nobody-here")):
        assert r.status_code == 401
        assert WRONG in r.text
        assert f'value="{typed}"' in r.text  # the typed username is kept
        assert PASSWORD not in r.text and "not the password" not in r.text
    assert client.cookies.get(COOKIE) is None
    assert principal(people.world, people.ids["dispatcher"]).failed_logins == 1


def test_repeated_failures_slow_down_then_lock_the_account(
    people: People, caplog: pytest.LogCaptureFixture
) -> None:
    client, world, clock = people.client, people.world, people.world.clock
    pid = people.ids["inspector"]
    for _ in range(3):  # the 1st to 3rd failures are answered at once
        assert WRONG in sign_in(client, "inspector", "wrong password").text
    # From the 3rd, the next attempt must wait: 2 s, then 4 s, 8 s ... (not even checked).
    for failures, wait in ((3, 2), (4, 4), (5, 8), (6, 16), (7, 32), (8, 64), (9, 128)):
        r = sign_in(client, "inspector", PASSWORD)  # even the right password
        assert r.status_code == 429, r.text
        assert "请稍后再试" in r.text and f"{wait} 秒" in r.text
        assert r.headers["retry-after"] == str(wait)
        assert principal(world, pid).failed_logins == failures  # a refused try is not counted
        clock.advance(seconds=wait - 1)
        assert "请稍后再试" in sign_in(client, "inspector", PASSWORD).text
        clock.advance(seconds=1)
        with caplog.at_level(logging.INFO):
            assert WRONG in sign_in(client, "inspector", "wrong again").text
    # The 10th failure locked the account for 15 minutes, and said so in the log.
    row = principal(world, pid)
    assert row.failed_logins == 10 and row.locked_until == clock.now + timedelta(minutes=15)
    locks = [r for r in caplog.records if "locked" in r.getMessage()]
    assert len(locks) == 1 and locks[0].username == "inspector"  # type: ignore[attr-defined]
    assert all(PASSWORD not in str(r.__dict__) for r in caplog.records)
    assert all("wrong again" not in str(r.__dict__) for r in caplog.records)

    r = sign_in(client, "inspector", PASSWORD)
    assert r.status_code == 429 and "锁定" in r.text and "15 分钟" in r.text
    clock.advance(minutes=14, seconds=59)
    assert "锁定" in sign_in(client, "inspector", PASSWORD).text
    clock.advance(seconds=1)
    assert sign_in(client, "inspector", PASSWORD).status_code == 303
    row = principal(world, pid)
    assert (row.failed_logins, row.locked_until) == (0, None)


def test_a_success_resets_the_count_of_failures(people: People) -> None:
    client, world = people.client, people.world
    for _ in range(2):
        sign_in(client, "auditor", "wrong password")
    assert sign_in(client, "auditor").status_code == 303
    assert principal(world, people.ids["auditor"]).failed_logins == 0
    client.cookies.clear()
    for _ in range(3):
        assert sign_in(client, "auditor", "wrong password").status_code == 401


# -- CSRF -----------------------------------------------------------------------------------


def count(world: World, table: str) -> int:
    with world.ctx.db.session() as session:
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(people: People) -> None:
    client, world = people.client, people.world
    # The sign-in form: no token, a wrong one, or a field without its cookie.
    token = login_page(client)
    form = {"username": "admin", "password": PASSWORD}
    for data, cookies in (
        (form, None),
        ({**form, "csrf_token": "forged"}, None),
        ({**form, "csrf_token": token}, {"rectify_login_csrf": "another"}),
    ):
        if cookies:
            client.cookies.set("rectify_login_csrf", cookies["rectify_login_csrf"], path=LOGIN)
        r = client.post(LOGIN, data=data, follow_redirects=False)
        assert r.status_code == 403, r.text
        assert client.cookies.get(COOKIE) is None
    assert count(world, "login_sessions") == 0

    # A signed-in admin's forms: creating a person, disabling one, signing out.
    signed_in(client, "admin")
    other = TestClient(client.app)
    other_token = page_csrf(other, LOGIN)  # a token, but not this session's
    users = count(world, "principals")
    person = {"username": "newcomer", "display_name": "新人", "role": "auditor"}
    for token in (None, "", "forged", other_token):
        data = {**person, "password": PASSWORD} | (
            {"csrf_token": token} if token is not None else {}
        )
        r = client.post("/console/admin/users", data=data, follow_redirects=False)
        assert r.status_code == 403 and "未做任何更改" in r.text, r.text
        r = client.post("/console/admin/users/inspector/disable", data={"csrf_token": token or ""})
        assert r.status_code == 403
        r = client.post("/console/logout", data={"csrf_token": token or ""})
        assert r.status_code == 403
    assert count(world, "principals") == users
    assert principal(world, people.ids["inspector"]).revoked_at is None
    assert client.get("/console/", follow_redirects=False).status_code == 200  # still signed in
    # The session's own token works, in the form or in the X-CSRF-Token header (htmx).
    token = page_csrf(client)
    r = client.post("/console/admin/users/inspector/disable", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and principal(world, people.ids["inspector"]).revoked_at


# -- sessions -------------------------------------------------------------------------------


def test_a_session_ends_after_the_idle_time(people: People) -> None:
    client, clock = people.client, people.world.clock
    signed_in(client, "dispatcher")
    for _ in range(3):  # activity keeps it alive (8 hours idle by default)
        clock.advance(minutes=479)
        assert client.get("/console/", follow_redirects=False).status_code == 200
    clock.advance(minutes=480)
    r = client.get("/console/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(LOGIN)
    r = client.post("/console/logout", data={"csrf_token": "x"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
    assert "重新登录" in r.text and r.headers["hx-redirect"] == LOGIN


def test_a_request_inside_the_minute_writes_nothing(people: People) -> None:
    """The session's `last_seen_at` (and the person's `last_used_at`) at most once a minute."""
    from sqlalchemy import event

    client, world = people.client, people.world
    signed_in(client, "auditor")
    writes: list[str] = []

    def record(_conn, _cursor, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "BEGIN", "PRAGMA")):
            writes.append(statement)

    event.listen(world.ctx.db.engine, "before_cursor_execute", record)
    try:
        world.clock.advance(seconds=59)
        assert client.get("/console/").status_code == 200
        assert writes == []
        world.clock.advance(seconds=2)
        assert client.get("/console/").status_code == 200
        assert len(writes) == 1 and "login_sessions" in writes[0]
    finally:
        event.remove(world.ctx.db.engine, "before_cursor_execute", record)


def test_a_disabled_person_is_refused_and_signed_out(people: People) -> None:
    client, world = people.client, people.world
    signed_in(client, "enterprise")
    admin = world.h("admin")
    r = client.post(f"/api/v1/principals/{people.ids['enterprise']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["kind"] == "user"
    r = client.get("/console/", follow_redirects=False)
    assert r.status_code == 303  # the session ended at once
    assert sessions_of(world, people.ids["enterprise"]) == 0
    r = sign_in(client, "enterprise")
    assert r.status_code == 401 and "已停用" in r.text
    assert WRONG in sign_in(client, "enterprise", "wrong password").text  # no hint without it


def test_cookies_are_secure_when_the_site_is_https(world: World) -> None:
    settings = world.ctx.settings.model_copy(update={"https": True})
    world.ctx.settings = settings
    people = People(world)
    people.add("secure", "auditor", "周审计")
    with TestClient(create_app(world.ctx), base_url="https://testserver") as client:
        assert "Secure" in client.get(LOGIN).headers["set-cookie"]
        r = sign_in(client, "secure")
        assert r.status_code == 303, r.text
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"__Host-{COOKIE}=") and "Secure" in cookie and "Path=/" in cookie
        assert client.get("/console/", follow_redirects=False).status_code == 200


# -- the same caller as a token -------------------------------------------------------------


def test_a_session_is_the_same_caller_as_a_token_and_scopes_hold(people: People) -> None:
    world = people.world
    app = world.client.app

    @app.get("/console/probe/{hazard_id}")
    def probe(hazard_id: int, caller: ConsoleCaller) -> dict[str, object]:
        with world.ctx.db.engine.connect() as connection:
            hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
        return {"region": caller.region_code, "firm": caller.enterprise_id, "id": caller.actor_id}

    mine = world.report(enterprise_id=world.home_firm)["id"]
    theirs = world.report(who="dispatcher_elsewhere", enterprise_id=world.other_firm)["id"]
    for username in ("enterprise", "dispatcher", "auditor"):
        client = TestClient(app)
        signed_in(client, username)
        r = client.get(f"/console/probe/{mine}")
        assert r.status_code == 200, r.text
        role, _, region, firm = PEOPLE[username]
        expected_region = "420102" if role == "enterprise" else region  # the firm's region
        assert r.json() == {
            "region": expected_region,
            "firm": world.home_firm if firm else None,
            "id": people.ids[username],
        }
        r = client.get(f"/console/probe/{theirs}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "不在您的职责范围内" in r.text
