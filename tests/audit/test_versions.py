"""Workflow versions: a v2 deployed beside v1 in flight, and a silently edited v1 refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from rectify.audit import versions
from rectify.audit.models import WorkflowVersion
from rectify.audit.replay import replay
from rectify.audit.verify import verify
from rectify.auth.scope import Caller
from rectify.config import Settings
from rectify.context import Context, build_context
from rectify.exceptions import ConfigurationError, InvalidInput
from rectify.hazards import service as hazards
from rectify.hazards.models import HazardCreate
from rectify.startup import prepare
from rectify.workflow.definition import load_registry
from tests.support import HOME, World

V1 = Settings().workflows_dir / "hazard.v1.yaml"
AUDITOR = Caller(role="auditor", name="a")


def _fire(ctx: Context, caller: Caller, hid: int, trigger: str, **payload: object) -> dict:
    return hazards.transition(
        ctx=ctx, caller=caller, hazard_id=hid, trigger=trigger, payload=dict(payload)
    )


CLOSURE = {"decision_no": "提关〔2026〕1号", "reason": "停产整顿后仍不具备安全生产条件"}


def test_v1_in_flight_finishes_under_v1_while_new_hazards_run_v2(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    """A hazard reported before version 2 was deployed keeps version 1 to the end (its closure is
    ordered at once); one reported after starts on version 2 (the closure is requested, then the
    government decides); both replay consistently and every chain verifies."""
    dispatcher = Caller(role="dispatcher", name="dispatcher", region_code=HOME)
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / V1.name).write_bytes(V1.read_bytes())
    before = build_context(settings.model_copy(update={"workflows_dir": folder}), clock=world.clock)
    try:
        data = HazardCreate(
            enterprise_id=world.home_firm,
            title="配电箱无防护",
            grade="major",
            industry="商贸",
            source="inspection",
        )
        old = hazards.report(ctx=before, caller=dispatcher, data=data)["id"]
        _fire(before, dispatcher, old, "assign", assignee="王工")
    finally:
        before.db.dispose()
    ctx = world.ctx  # v1 and v2 deployed, as after the upgrade
    new = hazards.report(ctx=ctx, caller=dispatcher, data=data)["id"]
    _fire(ctx, dispatcher, new, "assign", assignee="王工")
    assert world.get(old)["workflow"] == {"name": "hazard", "version": 1}
    assert world.get(new)["workflow"] == {"name": "hazard", "version": 2}
    for hid in (old, new):
        _fire(ctx, dispatcher, hid, "order_suspension", order_no="停1", reason="重大隐患")
        _fire(ctx, dispatcher, hid, "order_closure", **CLOSURE)
    assert world.get(old)["state"] == "closed" and world.get(old)["production"] == "shut_down"
    assert world.get(new)["state"] == "assigned"
    assert world.get(new)["production"] == "closure_requested"
    with pytest.raises(InvalidInput):  # version 1 has no such trigger
        _fire(ctx, dispatcher, old, "decide_closure", decision="approved")
    decided = {"decided_on": "2026-03-02", "decision_no": "政关1", "deciding_body": "区政府"}
    body = _fire(ctx, dispatcher, new, "decide_closure", decision="approved", **decided)
    assert body["state"] == "closed" and body["production"] == "shut_down"
    for hid, version in ((old, 1), (new, 2)):
        replayed = replay(ctx=ctx, caller=AUDITOR, hazard_id=hid)
        assert replayed["consistent"], replayed["divergences"]
        assert replayed["workflow"]["version"] == version and replayed["state"] == "closed"
    assert verify(ctx=ctx)["ok"] is True


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
    try:
        with pytest.raises(ConfigurationError, match="changed since"), ctx.db.write() as session:
            versions.record(session=session, registry=ctx.registry, now=ctx.now())
    finally:  # the PostgreSQL test database keeps workflow_versions between tests
        with ctx.db.write() as session:
            session.get(WorkflowVersion, ("hazard", 1)).content_hash = stored
