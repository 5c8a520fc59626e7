"""Checkpoints: the Merkle root over chain heads, its published line, and what only it can catch."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from rectify.audit.chain import GENESIS
from rectify.audit.checkpoints import LINE, Merkle, leaf, sealed_heads, write_checkpoint
from rectify.audit.verify import check_line, verify
from rectify.context import Context
from rectify.exceptions import InvalidInput
from rectify.timers.scheduler import checkpoint_pass
from tests.audit.helpers import scalar, tamper
from tests.support import World


def _reference_root(leaves: list[bytes]) -> str:
    """Level by level: pair neighbours, carry an odd last node up unchanged."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = leaves
    while len(level) > 1:
        odd = level[1::2]
        pairs = [hashlib.sha256(a + b).digest() for a, b in zip(level[::2], odd, strict=False)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0].hex()


def test_streaming_merkle_equals_the_level_by_level_tree() -> None:
    assert leaf(7, 3, "ab") == hashlib.sha256(b"7:3:ab").digest()
    for n in range(0, 40):
        leaves = [leaf(i, i + 1, f"{i:064x}") for i in range(n)]
        tree = Merkle()
        for x in leaves:
            tree.add(x)
        assert tree.root() == _reference_root(leaves), n
        assert tree.count == n


def test_checkpoints_over_http_chain_and_list(world: World) -> None:
    moved_first = world.to("assigned")
    r = world.client.post("/api/v1/audit/checkpoints", headers=world.h("auditor"))
    assert r.status_code == 201, r.text
    first = r.json()
    assert LINE.match(first["line"]), first["line"]
    assert first["hash"] == hashlib.sha256(first["line"].encode()).hexdigest()
    assert first["prev_hash"] == GENESIS
    assert (first["hazards"], first["events"]) == (1, 2)
    assert first["created_by"] == "auditor:auditor"
    assert f"#{first['id']} 2026-03-02T01:00:00.000000Z hazards=1 events=2" in first["line"]
    moved_second = world.to("reported")
    second = world.client.post("/api/v1/audit/checkpoints", headers=world.h("admin")).json()
    assert second["prev_hash"] == first["hash"]
    assert (second["hazards"], second["events"], second["max_seq"]) == (2, 3, 3)
    listed = world.client.get("/api/v1/audit/checkpoints", headers=world.h("auditor")).json()
    assert [c["id"] for c in listed] == [second["id"], first["id"]]
    for who in ("dispatcher", "inspector", "enterprise"):
        assert world.client.post("/api/v1/audit/checkpoints", headers=world.h(who)).status_code
        r = world.client.get("/api/v1/audit/checkpoints", headers=world.h(who))
        assert r.status_code == 403
    result = verify(ctx=world.ctx)
    assert result["ok"] is True and result["checkpoints_checked"] == 2
    # Each checkpoint records the heads of the chains that moved since the one before.
    third = write_checkpoint(ctx=world.ctx, actor="system:scheduler")
    with world.ctx.db.session() as session:
        recorded = {
            n: [(hid, seq) for hid, seq, _ in sealed_heads(session=session, checkpoint_id=n)]
            for n in (first["id"], second["id"], third.id)
        }
    assert recorded == {
        first["id"]: [(moved_first, 2)],
        second["id"]: [(moved_second, 1)],
        third.id: [],
    }


def _head(ctx: Context, hid: int, seq: int) -> tuple[str, object]:
    sql = "SELECT {} FROM events WHERE hazard_id = :h AND hazard_seq = :s"
    head = scalar(ctx, sql.format("hash"), h=hid, s=seq)
    return head, scalar(ctx, sql.format("at"), h=hid, s=seq)


def test_truncation_with_the_hazard_row_fixed_is_caught_by_a_checkpoint(world: World) -> None:
    keep, hid = world.to("rectifying"), world.to("closed")
    cp = write_checkpoint(ctx=world.ctx, actor="system:scheduler")
    head, at = _head(world.ctx, hid, 4)
    tamper(world.ctx, "DELETE FROM events WHERE hazard_id = :h AND hazard_seq > 4", h=hid)
    tamper(
        world.ctx,
        "UPDATE hazards SET version = 4, head_hash = :head, state = 'verified', "
        "resolution = NULL, updated_at = :at WHERE id = :h",
        head=head,
        at=at,
        h=hid,
    )
    result = verify(ctx=world.ctx)
    assert result["ok"] is False
    assert all(b["checkpoint"] == cp.id for b in result["broken"]), result["broken"]
    named = [b for b in result["broken"] if b["hazard_id"] is not None]
    assert [(b["hazard_id"], b["hazard_seq"]) for b in named] == [(hid, 7)]
    assert "gone" in named[0]["reason"] and keep != hid
    unnamed = [b["reason"] for b in result["broken"] if b["hazard_id"] is None]
    assert "sealed 2 chains / 10 events" in unnamed[0] and "2 chains / 7 events" in unnamed[0]


def test_a_whole_hazard_deleted_is_caught_by_a_checkpoint(world: World) -> None:
    hid, keep = world.to("awaiting_verification"), world.to("assigned")
    write_checkpoint(ctx=world.ctx, actor="system:scheduler")
    for table in ("timers", "evidence", "penalties", "documents", "events"):
        tamper(world.ctx, f"DELETE FROM {table} WHERE hazard_id = :h", h=hid)
    tamper(world.ctx, "DELETE FROM hazards WHERE id = :h", h=hid)
    result = verify(ctx=world.ctx)
    assert result["ok"] is False and result["hazards_checked"] == 1
    named = {b["hazard_id"]: b for b in result["broken"] if b["hazard_id"] is not None}
    assert list(named) == [hid] and keep != hid
    assert named[hid]["hazard_seq"] == 5  # report, assign, accept, evidence_added, confirm


def test_a_published_line_is_checked_against_the_database(world: World) -> None:
    hid = world.to("rectifying")
    cp = write_checkpoint(ctx=world.ctx, actor="cli:test")
    assert check_line(ctx=world.ctx, line=cp.line)["ok"] is True
    with pytest.raises(InvalidInput):
        check_line(ctx=world.ctx, line="rectify-checkpoint v1 #1 garbled")
    # The attacker truncates a chain and rewrites the checkpoint row to match.
    tamper(world.ctx, "DELETE FROM events WHERE hazard_id = :h AND hazard_seq = 3", h=hid)
    tamper(world.ctx, "UPDATE checkpoints SET events = 2, line = 'x' WHERE id = :i", i=cp.id)
    result = check_line(ctx=world.ctx, line=cp.line)
    assert result["ok"] is False
    assert any("reads differently" in p for p in result["problems"])
    assert any("sealed 1 chains / 3 events" in p for p in result["problems"])
    assert [(b["hazard_id"], b["hazard_seq"]) for b in result["broken"]] == [(hid, 3)]
    reasons = " ".join(b["reason"] for b in verify(ctx=world.ctx)["broken"])
    assert "line or hash does not match" in reasons


def test_a_deleted_checkpoint_breaks_the_prev_links(world: World) -> None:
    world.to("assigned")
    first = write_checkpoint(ctx=world.ctx, actor="a")
    write_checkpoint(ctx=world.ctx, actor="a")
    third = write_checkpoint(ctx=world.ctx, actor="a")
    tamper(world.ctx, "DELETE FROM checkpoints WHERE id = :i", i=first.id + 1)
    result = verify(ctx=world.ctx)
    assert result["ok"] is False
    assert [b["checkpoint"] for b in result["broken"]] == [third.id]
    assert "is not the previous hash" in result["broken"][0]["reason"]


def _count(ctx: Context) -> int:
    return scalar(ctx, "SELECT count(*) FROM checkpoints")


def test_the_checkpoint_job_writes_after_appends_at_most_once_per_interval(world: World) -> None:
    ctx, clock = world.ctx, world.clock
    assert ctx.settings.checkpoint_interval_seconds == 60  # the default
    assert checkpoint_pass(ctx) is None  # no events at all: nothing to seal
    hid = world.to("assigned")
    first = checkpoint_pass(ctx)
    assert first is not None and (first.events, first.created_by) == (2, "system:scheduler")
    clock.advance(minutes=5)
    assert checkpoint_pass(ctx) is None  # nothing appended since
    world.fire(hid, "enterprise", "accept", plan=world.plan())
    second = checkpoint_pass(ctx)  # appended, and the interval is long over
    assert second is not None and second.events == 3 and second.prev_hash == first.hash
    clock.advance(seconds=10)
    world.fire(hid, "enterprise", "report_progress", note="过半")
    assert checkpoint_pass(ctx) is None  # 10 s after the last checkpoint
    clock.advance(seconds=49)
    assert checkpoint_pass(ctx) is None
    clock.advance(seconds=1)
    third = checkpoint_pass(ctx)
    assert third is not None and third.events == 4
    assert third.at - second.at == timedelta(seconds=60)
    ctx.settings.checkpoint_interval_seconds = 600  # configurable
    world.fire(hid, "enterprise", "report_progress", note="大半")
    clock.advance(seconds=599)
    assert checkpoint_pass(ctx) is None
    clock.advance(seconds=1)
    assert checkpoint_pass(ctx) is not None
    assert _count(ctx) == 4 and verify(ctx=ctx)["ok"] is True


def test_of_two_racing_checkpoint_jobs_only_one_writes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both find a checkpoint due before either writes (held at a barrier); the second to get
    the write lock looks again and finds it written: one checkpoint for the same events."""
    from rectify.audit import checkpoints

    world.to("assigned")
    barrier, looked = threading.Barrier(2, timeout=10), threading.local()
    due = checkpoints._due

    def first_look_together(*args: Any) -> bool:
        result = due(*args)
        if not getattr(looked, "once", False):
            looked.once = True
            barrier.wait()
        return result

    monkeypatch.setattr(checkpoints, "_due", first_look_together)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: checkpoint_pass(world.ctx), range(2)))
    assert sorted(r is None for r in results) == [False, True]
    assert _count(world.ctx) == 1
