"""Chain verification finds each kind of tampering done with raw SQL behind the service's back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from rectify.audit.verify import verify
from rectify.context import Context
from tests.audit.helpers import scalar, tamper, update_event
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
    "chain deleted": (_chain_deleted, [1], "chain of 6 events is gone"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_found_and_named(world: World, case: str) -> None:
    untouched = world.to("rectifying")
    hid = world.to("closed")  # 6 events: report, assign, accept, confirm, verify, close
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
    assert body["events_checked"] == 6 + 2 + 1
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
