"""`rectify audit ...` and `rectify replay` against the same database the API writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from rectify.audit.cli import app, replay_command
from rectify.config import Settings
from tests.audit.helpers import tamper
from tests.support import World

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECTIFY_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("RECTIFY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RECTIFY_DEMO", "false")


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.output


def test_audit_commands(world: World, env: None, tmp_path: Path) -> None:
    hid = world.to("closed")
    world.to("assigned")
    line = _run("checkpoint").strip().splitlines()[-1]
    assert line.startswith("rectify-checkpoint v1 #1 ") and "hazards=2 events=9" in line
    assert json.loads(_run("verify"))["checkpoints_checked"] == 1
    assert json.loads(_run("check-line", line))["ok"] is True
    assert "not a rectify-checkpoint" in _run("check-line", "nonsense", code=2)
    out = tmp_path / "events.jsonl"
    assert "wrote 9 events" in _run("export", "--out", str(out))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 9 + 1 and json.loads(lines[-1])["trailer"]["events"] == 9
    csv_out = tmp_path / "events.csv"
    _run("export", "--out", str(csv_out), "--format", "csv", "--from", "2026-03-02T09:00:00+08:00")
    assert csv_out.read_text(encoding="utf-8-sig").startswith("序号 seq,")
    tamper(
        world.ctx, "UPDATE events SET actor = 'x:y' WHERE hazard_id = :h AND hazard_seq = 2", h=hid
    )
    broken = json.loads(_run("verify", code=1))["broken"]
    assert [(b["hazard_id"], b["hazard_seq"]) for b in broken][0] == (hid, 2)
    assert json.loads(_run("check-line", line, code=1))["ok"] is False


def test_verify_file_needs_no_database(world: World, env: None, tmp_path: Path) -> None:
    world.to("rectifying")
    out = tmp_path / "events.jsonl"
    _run("export", "--out", str(out))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RECTIFY_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
        result = json.loads(_run("verify", "--file", str(out)))
    assert result["ok"] is True and result["events_checked"] == 3
    lines = out.read_text(encoding="utf-8").splitlines()
    out.write_text("".join(f"{line}\n" for line in lines[:-1]), encoding="utf-8")  # no trailer
    result = json.loads(_run("verify", "--file", str(out), code=1))
    assert "no trailer after 3 events" in result["broken"][0]["reason"]
    out.write_text("\n".join([lines[0], lines[2]]) + "\n", encoding="utf-8")
    assert json.loads(_run("verify", "--file", str(out), code=1))["ok"] is False
    assert "no file" in _run("verify", "--file", str(tmp_path / "missing.jsonl"), code=2)


def test_replay_command(world: World, env: None) -> None:
    top = typer.Typer()
    top.command("replay")(replay_command)
    hid = world.to("verified")
    result = runner.invoke(top, [str(hid)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["state"] == "verified" and body["consistent"] is True
    result = runner.invoke(top, [str(hid), "--at", "2026-03-02T09:00:00+08:00"])
    assert json.loads(result.output)["events_applied"] == 6
    tamper(world.ctx, "UPDATE hazards SET state = 'closed' WHERE id = :h", h=hid)
    result = runner.invoke(top, [str(hid)])
    assert result.exit_code == 1 and json.loads(result.output)["divergences"][0]["kind"] == "stored"
    assert runner.invoke(top, ["999"]).exit_code == 2
    assert runner.invoke(top, [str(hid), "--at", "soon"]).exit_code == 2


def test_verify_names_chains_cut_since_the_last_checkpoint(world: World, env: None) -> None:
    """Events appended after the newest checkpoint and then deleted: no checkpoint knows them,
    the hazard rows' versions name them, over HTTP and on the command line."""
    cut = world.to("assigned")
    _run("checkpoint")
    world.fire(cut, "enterprise", "accept", plan=world.plan())  # versions 3 and 4, unsealed
    world.fire(cut, "enterprise", "report_progress", note="过半")
    gone = world.to("reported")  # a hazard no checkpoint has seen
    tamper(world.ctx, "DELETE FROM events WHERE hazard_id = :h AND hazard_seq >= 3", h=cut)
    tamper(world.ctx, "DELETE FROM events WHERE hazard_id = :h", h=gone)
    r = world.client.get("/api/v1/audit/verify", headers=world.h("auditor"))
    for result in (r.json(), json.loads(_run("verify", code=1))):
        assert result["ok"] is False
        named = {b["hazard_id"]: b for b in result["broken"]}
        assert sorted(named) == [cut, gone], result["broken"]
        assert named[cut]["hazard_seq"] == 3
        assert f"hazard {cut} is at version 4" in named[cut]["reason"]
        assert "shorter than the hazard's version" in named[cut]["reason"]
        assert f"hazard {gone} has no events" in named[gone]["reason"]
        assert "missing" in named[gone]["reason"]
