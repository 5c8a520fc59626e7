"""Tokens and people are managed, and every actor is one principal (issue 9 item 6): expiry and
revocation hold at once, `last_used_at` costs at most one write a minute, the admin lists and
revokes principals, two same-named principals are two callers, and no secret reaches a log."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from rectify.api.app import create_app
from rectify.api.deps import CurrentCaller
from rectify.auth import people
from rectify.auth import service as auth
from rectify.auth.models import Principal
from rectify.auth.scope import Caller
from rectify.database.migrate import alembic_config
from rectify.exceptions import InvalidInput
from rectify.observability.logging import JsonFormatter
from tests.database.test_migrate import fresh_url  # noqa: F401  (a fixture)
from tests.support import HOME, World

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_token(world: World, **kw: Any) -> tuple[int, str]:
    fields = {"role": "auditor", "name": "临时审计"} | kw
    with world.ctx.db.write() as session:
        principal, token = auth.create_token(session=session, now=world.clock.now, **fields)
    assert principal.id is not None
    return principal.id, token


# -- expiry and revocation --------------------------------------------------------------------


def test_an_expired_token_is_401_at_once(world: World) -> None:
    pid, token = new_token(world, expires_in=auth.parse_expires("P30D"))
    assert world.client.get(f"{API}/hazards", headers=bearer(token)).status_code == 200
    world.clock.advance(days=30, seconds=-1)
    assert world.client.get(f"{API}/hazards", headers=bearer(token)).status_code == 200
    world.clock.advance(seconds=1)
    r = world.client.get(f"{API}/hazards", headers=bearer(token))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")
    listed = world.client.get(f"{API}/principals", headers=world.h("admin")).json()["items"]
    assert [p["active"] for p in listed if p["id"] == pid] == [False]


@pytest.mark.parametrize(
    ("value", "days"), [("P30D", 30), ("PT12H", 0.5), ("P1W", 7), (" p2d ", 2)]
)
def test_expires_is_an_iso_8601_duration(value: str, days: float) -> None:
    assert auth.parse_expires(value) == timedelta(days=days)


@pytest.mark.parametrize("value", ["30", "30d", "P", "P0D", "-P1D", "PT-1H", "", "forever"])
def test_expires_refuses_what_is_not_a_positive_duration(value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        auth.parse_expires(value)
    assert refused.value.errors[0]["field"] == "expires"


def test_the_admin_revokes_a_token_and_it_is_401_at_once(world: World) -> None:
    pid, token = new_token(world)
    # A second app on the same database (tests/api/test_bodies_serve.py does it across real
    # processes): nothing is cached in an app.
    with TestClient(create_app(world.ctx), raise_server_exceptions=False) as other:
        assert other.get(f"{API}/workflows", headers=bearer(token)).status_code == 200
        r = world.client.post(f"{API}/principals/{pid}/revoke", headers=world.h("admin"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["revoked_at"] and body["active"] is False and body["kind"] == "token"
        for client in (world.client, other):
            r = client.get(f"{API}/workflows", headers=bearer(token))
            assert r.status_code == 401 and "revoked" in r.json()["detail"]
    # Revoking again changes nothing; unknown ids are 404; an admin cannot revoke themself.
    again = world.client.post(f"{API}/principals/{pid}/revoke", headers=world.h("admin")).json()
    assert again["revoked_at"] == body["revoked_at"]
    r = world.client.post(f"{API}/principals/999999/revoke", headers=world.h("admin"))
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem")
    with world.ctx.db.session() as session:
        admin = auth.authenticate(session=session, token=world.tokens["admin"])
    r = world.client.post(f"{API}/principals/{admin.actor_id}/revoke", headers=world.h("admin"))
    assert r.status_code == 409
    assert world.client.get(f"{API}/workflows", headers=world.h("admin")).status_code == 200


def test_the_admin_lists_tokens_and_people_a_page_at_a_time_without_secrets(
    world: World,
) -> None:
    with world.ctx.db.write() as session:
        people.create_user(
            session=session,
            settings=world.ctx.settings.model_copy(update={"argon2_memory_kib": 1024}),
            role="inspector",
            username="li.qiang",
            display_name="李强",
            password="correct horse battery",
            region_code=HOME,
            certificate_no="42010020260007",
            now=world.clock.now,
        )
    admin = world.h("admin")
    everyone = world.client.get(f"{API}/principals?limit=500", headers=admin).json()
    assert everyone["total"] == len(world.tokens) + 1
    page = world.client.get(f"{API}/principals?limit=3&offset=2", headers=admin).json()
    assert (page["limit"], page["offset"], page["total"]) == (3, 2, everyone["total"])
    assert [p["id"] for p in page["items"]] == [p["id"] for p in everyone["items"][2:5]]
    person = world.client.get(f"{API}/principals?kind=user", headers=admin).json()
    assert person["total"] == 1
    (row,) = person["items"]
    assert row["kind"] == "user" and row["username"] == "li.qiang"
    assert row["display_name"] == "李强" and row["certificate_no"] == "42010020260007"
    text_of_all = json.dumps(everyone, ensure_ascii=False)
    assert "hash" not in text_of_all and "argon2" not in text_of_all
    assert not any(token in text_of_all for token in world.tokens.values())
    for bad in ("limit=0", "limit=501", "offset=-1", "kind=robot"):
        assert world.client.get(f"{API}/principals?{bad}", headers=admin).status_code == 422


# -- last_used_at -----------------------------------------------------------------------------


def test_last_used_at_is_written_at_most_once_a_minute(world: World) -> None:
    pid, token = new_token(world)
    writes: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement)

    engine = world.ctx.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert world.client.get(f"{API}/hazards", headers=bearer(token)).status_code == 200
        assert len(writes) == 1 and "last_used_at" in writes[0]
        first = world.clock.now
        for seconds in (1, 30, 29):  # inside the minute: no write at all
            world.clock.advance(seconds=seconds)
            writes.clear()
            assert world.client.get(f"{API}/hazards", headers=bearer(token)).status_code == 200
            assert writes == []
        world.clock.advance(seconds=1)  # 61 s after the first use
        writes.clear()
        world.client.get(f"{API}/hazards", headers=bearer(token))
        assert len(writes) == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with world.ctx.db.session() as session:
        row = session.get(Principal, pid)
        assert row is not None and row.last_used_at == first + timedelta(seconds=61)


def test_touch_is_conditional(world: World) -> None:
    pid, _ = new_token(world)
    now = world.clock.now
    with world.ctx.db.write() as session:
        assert auth.touch(session=session, principal_id=pid, now=now) is True
        for later in (0, 59, 60):
            assert not auth.touch(
                session=session, principal_id=pid, now=now + timedelta(seconds=later)
            )
        assert auth.touch(session=session, principal_id=pid, now=now + timedelta(seconds=61))


# -- one actor, one principal -----------------------------------------------------------------


def test_two_same_named_dispatchers_are_two_callers(world: World) -> None:
    app = world.client.app
    tokens = [new_token(world, role="dispatcher", name="王五", region_code=HOME) for _ in "ab"]

    @app.get(f"{API}/whoami")
    def whoami(caller: CurrentCaller) -> dict[str, Any]:
        return {"actor": caller.actor, "actor_id": caller.actor_id, "name": caller.display_name}

    seen = [world.client.get(f"{API}/whoami", headers=bearer(t)).json() for _, t in tokens]
    assert seen[0]["actor"] == seen[1]["actor"] == "dispatcher:王五"
    assert seen[0]["name"] == seen[1]["name"] == "王五"
    assert [s["actor_id"] for s in seen] == [pid for pid, _ in tokens]
    assert seen[0]["actor_id"] != seen[1]["actor_id"]
    with world.ctx.db.session() as session:
        callers = [auth.authenticate(session=session, token=t) for _, t in tokens]
    assert callers[0] != callers[1] and callers[0].actor == callers[1].actor
    assert Caller(role="system", name="scheduler").actor_id is None


# -- secrets never in logs --------------------------------------------------------------------


def test_tokens_and_passwords_never_reach_a_log(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    password = "very secret words 42"
    settings = world.ctx.settings.model_copy(update={"argon2_memory_kib": 1024})
    world.ctx.settings = settings
    with caplog.at_level(logging.DEBUG):
        pid, token = new_token(world)
        with world.ctx.db.write() as session:
            people.create_user(
                session=session,
                settings=settings,
                role="auditor",
                username="logcheck",
                display_name="日志检查",
                password=password,
                now=world.clock.now,
            )
        world.client.get(f"{API}/hazards", headers=bearer(token))
        world.client.get(f"{API}/hazards", headers=bearer(token + "x"))
        # A wrong password, a password typed into the username field, the right one.
        for name, attempt in (
            ("logcheck", "wrong words 1234"),
            (password, "?"),
            ("logcheck", password),
        ):
            r = world.client.get("/console/login")
            form = {"username": name, "password": attempt}
            form["csrf_token"] = r.cookies.get("rectify_login_csrf") or ""
            world.client.post("/console/login", data=form, follow_redirects=False)
        with world.ctx.db.write() as session:
            people.reset_password(
                session=session,
                settings=settings,
                username="logcheck",
                password=password + "!",
                now=world.clock.now,
            )
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    assert any("signed in" in line for line in lines)  # the log did see the sign-in
    assert any("token created" in line for line in lines)
    secrets = (token, token.removeprefix(auth.TOKEN_PREFIX), password, "wrong words 1234")
    for line in lines:
        for secret in secrets:
            assert secret not in line, line


# -- the migration ----------------------------------------------------------------------------


def test_the_migration_keeps_revoked_tokens_revoked(fresh_url: str, tmp_path: Path) -> None:  # noqa: F811
    config = alembic_config(fresh_url)
    command.upgrade(config, "0003")
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        for name, token_hash, revoked in (("old", "a" * 64, True), ("live", "b" * 64, False)):
            conn.execute(
                text(
                    "INSERT INTO principals (name, role, token_hash, created_at, revoked) "
                    "VALUES (:n, 'auditor', :h, CURRENT_TIMESTAMP, :r)"
                ),
                {"n": name, "h": token_hash, "r": revoked},
            )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, kind, display_name, revoked_at FROM principals ORDER BY id")
        ).all()
    engine.dispose()
    assert [(r.name, r.kind, r.display_name) for r in rows] == [
        ("old", "token", "old"),
        ("live", "token", "live"),
    ]
    assert rows[0].revoked_at is not None and rows[1].revoked_at is None
    command.downgrade(config, "0003")  # and back, for an operator who must roll back
    command.upgrade(config, "head")
