"""Chain verification finds each kind of tampering done with raw SQL behind the service's back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from rectify.audit.verify import verify
from rectify.context import Context
from tests.audit.helpers import eventful, scalar, several, tamper, update_event
from tests.support import World


def _changed_payload(ctx: Context, hid: int) -> None:
    update_event(ctx, hid, 2, payload='{"assignee":"李四","deadline":"2026-03-20T01:00:00+00:00"}')


def _changed_actor(ctx: Context, hid: int) -> None:
    update_event(ctx, hid, 3, actor="enterprise:someone-else")


def _changed_time(ctx: Context, hid: int) -> None:
    at = scalar(ctx, "SELECT at FROM events WHERE hazard_id = :h AND hazard_seq = 4", h=hid)
    update_event(ctx, hid, 4, at=_aware(at) - timedelta(hours=1))


def _middle_deleted(ctx: Context, hid: int) -> None:
    tamper(ctx, "DELETE FROM events WHERE hazard_id = :h AND hazard_seq = 4", h=hid)


def _newest_deleted(ctx: Context, hid: int) -> None:
    tamper(ctx, "DELETE FROM events WHERE hazard_id = :h AND hazard_seq >= 5", h=hid)


def _swapped(ctx: Context, hid: int) -> None:
    where = "WHERE hazard_id = :h AND hazard_seq = :s"
    tamper(ctx, f"UPDATE events SET hazard_seq = -1 {where}", h=hid, s=3)
    tamper(ctx, f"UPDATE events SET hazard_seq = 3 {where}", h=hid, s=4)
    tamper(ctx, f"UPDATE events SET hazard_seq = 4 {where}", h=hid, s=-1)


def _chain_deleted(ctx: Context, hid: int) -> None:
    tamper(ctx, "DELETE FROM events WHERE hazard_id = :h", h=hid)


def _aware(value):  # SQLite hands back text or naive datetimes through raw SQL
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


CASES: dict[str, tuple[Callable[[Context, int], None], list[int], str]] = {
    # name: (tamper, hazard_seq named, words in the reason)
    "changed payload": (_changed_payload, [2], "hash mismatch"),
    "changed actor": (_changed_actor, [3], "hash mismatch"),
    "changed time": (_changed_time, [4], "hash mismatch"),
    "middle event deleted": (_middle_deleted, [5], "hazard_seq 4–4 missing"),
    "newest events deleted": (_newest_deleted, [5], "newest events deleted"),
    "two events swapped": (_swapped, [3, 4, 5], "does not link"),
    "chain deleted": (_chain_deleted, [1], "chain of 7 events is gone"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_found_and_named(world: World, case: str) -> None:
    untouched = world.to("rectifying")
    hid = world.to("closed")  # 7: report, assign, accept, evidence_added, confirm, verify, close
    assert verify(ctx=world.ctx)["ok"] is True
    change, seqs, words = CASES[case]
    change(world.ctx, hid)
    result = verify(ctx=world.ctx)
    assert result["ok"] is False
    assert {b["hazard_id"] for b in result["broken"]} == {hid}, result["broken"]
    assert untouched != hid
    assert [b["hazard_seq"] for b in result["broken"]] == seqs, result["broken"]
    assert words in result["broken"][0]["reason"]
    assert result["hazards_checked"] == 2


def test_verify_over_http_counts_everything_and_is_for_auditors(world: World) -> None:
    ids = [world.to("closed"), world.to("assigned"), world.to("reported")]
    r = world.client.get("/api/v1/audit/verify", headers=world.h("auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["broken"] == []
    assert body["hazards_checked"] == len(ids)
    assert body["events_checked"] == 7 + 2 + 1
    assert world.client.get("/api/v1/audit/verify", headers=world.h("admin")).status_code == 200
    for who in ("dispatcher", "inspector", "enterprise"):
        r = world.client.get("/api/v1/audit/verify", headers=world.h(who))
        assert r.status_code == 403, who
    assert world.client.get("/api/v1/audit/verify").status_code == 401


def test_a_hazard_row_moved_without_an_event_is_found(world: World) -> None:
    hid = world.to("assigned")
    tamper(world.ctx, "UPDATE hazards SET version = 3 WHERE id = :h", h=hid)
    result = verify(ctx=world.ctx)
    assert [(b["hazard_id"], b["hazard_seq"]) for b in result["broken"]] == [(hid, 3)]
    assert "at version 3" in result["broken"][0]["reason"]


def _exact_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Record each event verify leaves to its exact path (the typed row, as first written)."""
    from rectify.audit import verify as module

    calls: list[tuple] = []
    exact = module._exact

    def recording(session, hazard_id, hazard_seq, stored):  # noqa: ANN001, ANN202
        calls.append((hazard_id, hazard_seq))
        return exact(session, hazard_id, hazard_seq, stored)

    monkeypatch.setattr(module, "_exact", recording)
    return calls


def test_every_event_the_service_wrote_takes_the_fast_path(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [eventful(world), *several(world)]
    calls = _exact_calls(monkeypatch)
    result = verify(ctx=world.ctx)
    assert result["ok"] is True and result["hazards_checked"] == len(ids)
    assert result["events_checked"] == scalar(world.ctx, "SELECT count(*) FROM events")
    assert calls == []


def _respaced_payload(ctx: Context, hid: int) -> None:
    # Same JSON, not canonical text: the hash was never over these bytes, but as first defined
    # (payload parsed and dumped again) the event still verifies.
    text = scalar(ctx, "SELECT payload FROM events WHERE hazard_id = :h AND hazard_seq = 2", h=hid)
    update_event(ctx, hid, 2, payload=json.dumps(json.loads(text), indent=1))


def _unreadable_payload(ctx: Context, hid: int) -> None:
    update_event(ctx, hid, 2, payload='{"assignee": ')


def _rewritten_prev_hash(ctx: Context, hid: int) -> None:
    update_event(ctx, hid, 3, prev_hash="f" * 64)


def _rewritten_hash(ctx: Context, hid: int) -> None:
    update_event(ctx, hid, 7, hash="e" * 64)


EDGES: dict[str, tuple[Callable[[Context, int], None], list[tuple[int, str]]]] = {
    # name: (tamper, [(hazard_seq named, words in its reason)]); [] when it still verifies
    "respaced payload": (_respaced_payload, []),
    "unreadable payload": (_unreadable_payload, [(2, "content cannot be read")]),
    "prev_hash rewritten": (_rewritten_prev_hash, [(3, "does not link")]),
    "hash rewritten": (_rewritten_hash, [(7, "hash mismatch"), (7, "newest events deleted")]),
}


@pytest.mark.parametrize("case", list(EDGES))
def test_what_the_fast_path_refuses_the_exact_path_decides_as_before(
    world: World, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    hid = world.to("closed")
    change, expected = EDGES[case]
    change(world.ctx, hid)
    calls = _exact_calls(monkeypatch)
    result = verify(ctx=world.ctx)
    got = [(b["hazard_seq"], b["reason"]) for b in result["broken"]]
    assert len(got) == len(expected), got
    for (seq, reason), (want_seq, words) in zip(got, expected, strict=True):
        assert seq == want_seq and words in reason, got
    assert result["ok"] is (not expected) and result["events_checked"] == 7
    assert calls  # the fast path took none of these on trust


def test_a_time_stored_in_another_form_is_read_as_before(world: World) -> None:
    """SQLite keeps times as text; an equivalent text the service would not write is left to
    the exact path, which reads it as SQLAlchemy does."""
    if not world.ctx.db.is_sqlite:
        pytest.skip("PostgreSQL stores a timestamp, not text")
    hid = world.to("rectifying")
    at = scalar(world.ctx, "SELECT at FROM events WHERE hazard_id = :h AND hazard_seq = 2", h=hid)
    tamper(
        world.ctx,
        "UPDATE events SET at = :at WHERE hazard_id = :h AND hazard_seq = 2",
        at=at.replace(" ", "T"),
        h=hid,
    )
    assert verify(ctx=world.ctx)["ok"] is True
    tamper(
        world.ctx,
        "UPDATE events SET at = :at WHERE hazard_id = :h AND hazard_seq = 2",
        at=at[:-1] + "7",
        h=hid,
    )
    broken = verify(ctx=world.ctx)["broken"]
    assert [(b["hazard_seq"], "hash mismatch" in b["reason"]) for b in broken] == [(2, True)]
