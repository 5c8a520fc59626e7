"""`rectify token create|list|revoke` and `rectify user create|disable|reset-password` on the
test database, with the world's app seeing the result at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from rectify.auth.models import Principal
from rectify.cli import app
from tests.support import HOME, World

API = "/api/v1"
PASSWORD = "整改督办 correct horse"


@pytest.fixture
def cli(world: World, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    settings = world.ctx.settings
    monkeypatch.setenv("RECTIFY_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("RECTIFY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RECTIFY_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("RECTIFY_ARGON2_TIME_COST", "1")
    return CliRunner()


def principal(world: World, **where: object) -> Principal | None:
    with world.ctx.db.session() as session:
        stmt = select(Principal).filter_by(**where)
        return session.exec(stmt).first()


def test_tokens_are_created_with_an_expiry_listed_and_revoked(world: World, cli: CliRunner) -> None:
    args = ["token", "create", "--role", "inspector", "--name", "执法终端", "--region", HOME]
    r = cli.invoke(app, [*args, "--expires", "P30D", "--certificate-no", "42010020260009"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[-1]
    created = principal(world, name="执法终端")
    assert created and created.certificate_no == "42010020260009"
    assert created.expires_at and created.created_at
    assert created.expires_at - created.created_at == timedelta(days=30)
    assert world.client.get(f"{API}/workflows", headers={"Authorization": f"Bearer {token}"})

    r = cli.invoke(app, [*args, "--expires", "30 days"])
    assert r.exit_code == 2 and "expires" in r.stderr and "ISO 8601" in r.stderr

    r = cli.invoke(app, ["token", "list"])
    assert r.exit_code == 0, r.output
    assert "执法终端" in r.stdout and "令牌" in r.stdout and "dispatcher" in r.stdout
    assert str(created.id) in r.stdout
    assert token not in r.stdout and (created.token_hash or "x") not in r.stdout

    r = cli.invoke(app, ["token", "revoke", str(created.id)])
    assert r.exit_code == 0, r.output
    answer = world.client.get(f"{API}/workflows", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    r = cli.invoke(app, ["token", "revoke", "999999"])
    assert r.exit_code == 2 and "999999" in r.stderr


def test_people_are_created_disabled_and_reset_from_the_command_line(
    world: World, cli: CliRunner
) -> None:
    create = [
        "user", "create", "--role", "dispatcher", "--username", "Chen.Jing",
        "--display-name", "陈静", "--region", HOME, "--password-stdin",
    ]  # fmt: skip
    r = cli.invoke(app, create, input="short\n")
    assert r.exit_code == 2 and "至少需要 10 个字符" in r.stderr
    r = cli.invoke(app, create[:-1], input=PASSWORD + "\n")
    assert r.exit_code == 2 and "--password-stdin" in r.stderr
    assert principal(world, username="chen.jing") is None

    r = cli.invoke(app, create, input=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    person = principal(world, username="chen.jing")
    assert person and person.kind == "user" and person.display_name == "陈静"
    assert person.password_hash and PASSWORD not in person.password_hash
    assert cli.invoke(app, create, input=PASSWORD + "\n").exit_code == 2  # the name is taken

    r = cli.invoke(app, ["token", "list"])
    assert "人员 chen.jing" in r.stdout and "$argon2" not in r.stdout

    new = "另一个足够长的新密码"
    r = cli.invoke(app, ["user", "reset-password", "CHEN.JING", "--password-stdin"], input=new)
    assert r.exit_code == 0, r.output
    after = principal(world, username="chen.jing")
    assert after and after.password_hash != person.password_hash

    assert cli.invoke(app, ["user", "disable", "chen.jing"]).exit_code == 0
    after = principal(world, username="chen.jing")
    assert after and after.revoked_at is not None
    r = cli.invoke(app, ["user", "disable", "nobody"])
    assert r.exit_code == 2 and "nobody" in r.stderr
