"""Workflow versions: a v2 deployed beside v1 in flight, and a silently edited v1 refused."""

from __future__ import annotations

import io
from pathlib import Path
from typing import ClassVar

import pytest
import typer
import yaml

from rectify.audit import versions
from rectify.audit.models import WorkflowVersion
from rectify.audit.replay import replay
from rectify.audit.verify import verify
from rectify.auth.scope import Caller
from rectify.cli import prepare
from rectify.config import Settings
from rectify.context import Context, build_context
from rectify.evidence import service as evidence
from rectify.exceptions import ConfigurationError, InvalidInput, TriggerNotAllowed
from rectify.hazards import service as hazards
from rectify.hazards.models import HazardCreate
from rectify.hazards.triggers import REGISTRY, Trigger
from rectify.workflow.definition import load_registry
from tests.support import HOME, World, png

V1 = Settings().workflows_dir / "hazard.v1.yaml"
AUDITOR = Caller(role="auditor", name="a")


def _v2(folder: Path) -> None:
    """v1 plus a review step: verified → reviewed (已复核), and close only from reviewed."""
    doc = yaml.safe_load(V1.read_text(encoding="utf-8"))
    doc["version"] = 2
    doc["regions"][0]["states"]["reviewed"] = "已复核"
    doc["triggers"]["review"] = {
        "label": "复核",
        "roles": ["dispatcher"],
        "transitions": [{"region": "main", "from": ["verified"], "to": "reviewed"}],
    }
    doc["triggers"]["close"]["transitions"][0]["from"] = ["reviewed"]
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    (folder / "hazard.v2.yaml").write_text(text, encoding="utf-8")


def _fire(ctx: Context, caller: Caller, hid: int, trigger: str, **payload: object) -> dict:
    return hazards.transition(
        ctx=ctx, caller=caller, hazard_id=hid, trigger=trigger, payload=dict(payload)
    )


class Review(Trigger):
    """复核: v2's new step, defined as every trigger is (no payload, no effect beyond its move)."""

    name: ClassVar[str] = "review"


def test_v2_beside_v1_in_flight(
    world: World, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REGISTRY, "review", Review)
    dispatcher = Caller(role="dispatcher", name="dispatcher", region_code=HOME)
    enterprise = Caller(role="enterprise", name="e", enterprise_id=world.home_firm)
    inspector = Caller(role="inspector", name="i", region_code=HOME)
    old = world.to("rectifying")
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / V1.name).write_bytes(V1.read_bytes())
    _v2(folder)
    ctx = build_context(settings.model_copy(update={"workflows_dir": folder}), clock=world.clock)
    try:
        with ctx.db.write() as session:
            versions.record(session=session, registry=ctx.registry, now=ctx.now())
        data = HazardCreate(
            enterprise_id=world.home_firm,
            title="配电箱无防护",
            grade="general",
            industry="商贸",
            source="inspection",
        )
        reported = hazards.report(ctx=ctx, caller=inspector, data=data)
        new = reported["id"]
        assert reported["workflow"] == {"name": "hazard", "version": 2}
        _fire(ctx, dispatcher, new, "assign", assignee="王工")
        _fire(ctx, enterprise, new, "accept", plan=world.plan())
        for seed, hid in enumerate((old, new)):
            # Through this process's context: the client's knows v1 only.
            stream = io.BytesIO(png(seed))
            upload = evidence.upload(
                ctx=ctx, caller=enterprise, hazard_id=hid, stream=stream, filename="a.png"
            )
            sha = upload["sha256"]
            _fire(ctx, enterprise, hid, "confirm_rectified", summary="已整改", evidence=[sha])
            _fire(ctx, inspector, hid, "verify_pass", note="合格")
        with pytest.raises(InvalidInput):
            _fire(ctx, dispatcher, old, "review")  # v1 has no such trigger
        assert _fire(ctx, dispatcher, old, "close", note="销号")["state"] == "closed"
        with pytest.raises(TriggerNotAllowed):
            _fire(ctx, dispatcher, new, "close", note="销号")  # v2 closes only after review
        assert _fire(ctx, dispatcher, new, "review")["state_label"] == "已复核"
        assert _fire(ctx, dispatcher, new, "close", note="销号")["state"] == "closed"
        for hid, version in ((old, 1), (new, 2)):
            body = replay(ctx=ctx, caller=AUDITOR, hazard_id=hid)
            assert body["consistent"], body["divergences"]
            assert body["workflow"]["version"] == version and body["state"] == "closed"
        assert verify(ctx=ctx)["ok"] is True
    finally:
        ctx.db.dispose()


def test_a_changed_v1_is_refused_at_start_up(
    ctx: Context, settings: Settings, tmp_path: Path
) -> None:
    with ctx.db.write() as session:
        versions.record(session=session, registry=ctx.registry, now=ctx.now())
    folder = tmp_path / "workflows"
    folder.mkdir()
    text = V1.read_text(encoding="utf-8").replace("label: 验收通过", "label: 验收合格")
    (folder / V1.name).write_text(text, encoding="utf-8")
    changed = load_registry(folder)
    with (
        pytest.raises(ConfigurationError, match="hazard v1 changed since"),
        ctx.db.write() as session,
    ):
        versions.record(session=session, registry=changed, now=ctx.now())
    with pytest.raises(typer.Exit):
        prepare(settings.model_copy(update={"workflows_dir": folder}))
    started = prepare(settings)
    started.db.dispose()


def test_an_accepted_additive_edit_of_v1_moves_the_stored_hash(ctx: Context) -> None:
    """A database that ran the v1 file shipped before 2026-12 starts with today's v1 (it only
    adds triggers); the stored hash moves on, and an unlisted edit is still refused."""
    old = next(iter(versions.ACCEPTED_EDITS[("hazard", 1)]))
    with ctx.db.write() as session:
        versions.record(session=session, registry=ctx.registry, now=ctx.now())
        row = session.get(WorkflowVersion, ("hazard", 1))
        row.content_hash = old  # as the earlier release recorded it
        session.add(row)
    with ctx.db.write() as session:
        versions.record(session=session, registry=ctx.registry, now=ctx.now())
    with ctx.db.session() as session:
        stored = session.get(WorkflowVersion, ("hazard", 1)).content_hash
    assert stored == ctx.registry.get("hazard", 1).content_hash != old
    with ctx.db.write() as session:
        session.get(WorkflowVersion, ("hazard", 1)).content_hash = "f" * 64
    with pytest.raises(ConfigurationError, match="changed since"), ctx.db.write() as session:
        versions.record(session=session, registry=ctx.registry, now=ctx.now())
    # workflow_versions is not truncated between tests (conftest): leave today's hash, or every
    # later process on this PostgreSQL database refuses to start.
    with ctx.db.write() as session:
        session.get(WorkflowVersion, ("hazard", 1)).content_hash = stored
