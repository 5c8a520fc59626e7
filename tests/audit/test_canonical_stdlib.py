"""docs/CANONICAL.md is enough to verify a history: every event's hash of a varied history (Chinese
text, quotes, backslashes, emoji, U+2028, tabs and newlines, a nested plan, doubles in exponent
form, a timer event) is recomputed from `GET /history` with nothing but `hashlib` and `json`, as
an auditor with their own verifier would (issue 9, item 4). `recompute` imports nothing of
rectify."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from rectify.timers.engine import catch_up
from tests.support import World

# -- an auditor's verifier, written from docs/CANONICAL.md alone --------------------------------

GENESIS = "0" * 64
HASHED = (
    "actor",
    "at",
    "from",
    "hazard_id",
    "hazard_seq",
    "payload",
    "prev_hash",
    "role",
    "to",
    "trigger",
    "workflow",
)


def recompute(events: list[dict[str, Any]]) -> list[str]:
    """Each event's hash from its shown fields; asserts the links and the sequence."""
    prev, hashes = GENESIS, []
    for n, event in enumerate(events, start=1):
        assert set(event) - {"actor_id"} == {*HASHED, "seq", "hash"}, sorted(event)
        doc = {key: event[key] for key in HASHED}
        if "actor_id" in event:  # present when a principal fired it (docs/CANONICAL.md)
            doc["actor_id"] = event["actor_id"]
        text = json.dumps(
            doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        assert event["hazard_seq"] == n and event["prev_hash"] == prev, n
        prev = hashlib.sha256(prev.encode("ascii") + text.encode("utf-8")).hexdigest()
        hashes.append(prev)
    return hashes


# -- a history with everything the canonical form must get right -------------------------------

TRICKY = 'say "停产" \\ back\\slash 🚒 emoji, \u2028line sep, tab\there\nnew line, \\u0000 as text'


def _varied(world: World) -> list[int]:
    w, clock = world, world.clock
    soon = (clock.now + timedelta(days=20)).isoformat()
    major = w.report(
        title='仓库 "B区" 堆放 \\ 🔥',
        description=TRICKY,
        location="三号库/东侧 'north'",
        grade="general",
    )["id"]
    w.fire(major, "dispatcher", "assign", assignee='王工 "老王"', deadline=soon)
    w.fire(
        major, "inspector", "regrade", grade="major", basis="工贸企业重大事故隐患判定标准 第四条"
    )
    plan = w.plan("major") | {
        "goals": "消除隐患 ✅",
        "measures": "1. 清理\n2. 加装喷淋\t(自动)",
        "funds_yuan": 12345.67,
        "contingency_plan": "停止作业\u2028撤离",
    }
    w.fire(major, "enterprise", "accept", plan=plan)
    w.fire(major, "enterprise", "report_progress", note=TRICKY, percent=50)
    for amount in (0.1, 1.2345678901234567e16, 20000):
        w.fire(
            major,
            "dispatcher",
            "record_penalty",
            decision_no="罚〔2026〕7号",
            kind="fine",
            amount_yuan=amount,
            legal_basis="安全生产法第一百零二条",
        )
    for number in ("Infinity", "1e999", "NaN"):  # not JSON: refused, never hashed (today: 200)
        body = '{"trigger":"record_penalty","payload":{"decision_no":"罚2","kind":"fine",'
        body += f'"amount_yuan":{number},"legal_basis":"安全生产法第一百零二条"}}}}'
        r = w.client.post(
            f"/api/v1/hazards/{major}/transitions",
            content=body.encode(),
            headers=w.h("dispatcher", **{"content-type": "application/json"}),
        )
        assert r.status_code == 422, (number, r.status_code, r.text)
    later = (clock.now + timedelta(days=40)).isoformat()
    w.fire(major, "enterprise", "request_extension", reason="设备到货\n延迟", new_deadline=later)
    w.fire(major, "dispatcher", "decide_extension", approved=True, note="同意 👍")
    clock.advance(days=39, hours=1)  # past the reminder before the new deadline
    catch_up(ctx=world.ctx)
    dismissed = w.report(title="重复上报")["id"]
    w.fire(dismissed, "dispatcher", "dismiss", reason='与 #1 重复 "dup" \\n')
    return [major, dismissed]


def test_every_hash_recomputes_from_history_with_the_standard_library(world: World) -> None:
    hazards = _varied(world)
    seen: set[str] = set()
    for hid in hazards:
        events = world.history(hid)
        seen |= {e["trigger"] for e in events}
        assert [e["hash"] for e in events] == recompute(events), hid
    assert {"report", "accept", "record_penalty", "deadline_reminder", "dismiss"} <= seen, seen
    events = world.history(hazards[0])
    payloads = [e["payload"] for e in events]
    assert any(p.get("description") == TRICKY for p in payloads)
    assert any(p.get("amount_yuan") == 1.2345678901234567e16 for p in payloads)
    assert all(isinstance(e["payload"], dict) for e in events)
    # The principal is hashed beside the actor's name; the system has none.
    assert all(("actor_id" in e) == (e["role"] != "system") for e in events)
    assert all(isinstance(e.get("actor_id", 0), int) for e in events)


def test_the_worked_example_of_the_document_holds() -> None:
    """The two example events of docs/CANONICAL.md hash to the values it gives."""
    state = {"judicial": "none", "production": "normal", "state": "reported", "supervision": "none"}
    first = {
        "actor": "inspector:李明",
        "at": "2026-03-02T01:00:00.000000Z",
        "from": None,
        "hazard_id": 1,
        "hazard_seq": 1,
        "payload": {
            "description": "",
            "enterprise_id": 1,
            "grade": "general",
            "industry": "商贸",
            "location": "一层",
            "source": "inspection",
            "title": '消防通道堵塞 "B区"',
            "violation": False,
        },
        "prev_hash": GENESIS,
        "role": "inspector",
        "to": state,
        "trigger": "report",
        "workflow": {"name": "hazard", "version": 1},
    }
    h1 = "7dd2071ef8095eba2e9cd9f957f040912427f4bc17e765b36bd2be150499c958"
    second = first | {
        "actor": "dispatcher:张伟",
        "at": "2026-03-02T01:30:00.250000Z",
        "from": state,
        "hazard_seq": 2,
        "payload": {"assignee": "王工", "deadline": "2026-03-09T18:00:00+08:00"},
        "prev_hash": h1,
        "role": "dispatcher",
        "to": state | {"state": "assigned"},
        "trigger": "assign",
    }
    h2 = "de97cb16fa60ed8eb1c3ad401f204b2701a95e22a229fbaf68bed51b48e5888d"
    events = [first | {"seq": 1, "hash": h1}, second | {"seq": 2, "hash": h2}]
    assert recompute(events) == [h1, h2]
