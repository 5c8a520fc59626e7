"""Extensions in view (issue 12): every extension request of a hazard, folded from its history
— asked (`request_extension`), then approved or rejected (`decide_extension`), withdrawn
(`withdraw_extension`), or lapsed when rectification ended first (`lapsed_extension` in the
ending step's payload) — with who decided and when. The hazard view and the hazards ledger
read them through `fold`, so both say the same."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Connection, or_, select

from rectify.audit.models import Event

__all__ = [
    "DECISION_LABELS",
    "EXTENSION_EVENTS",
    "ExtensionRequest",
    "fold",
    "for_hazard",
    "touches_extensions",
]

EVENTS = Event.__table__  # type: ignore[attr-defined]
EXTENSION_EVENTS = ("request_extension", "decide_extension", "withdraw_extension")
DECISION_LABELS = {
    "pending": "待审批",
    "approved": "批准",
    "rejected": "不批准",
    "withdrawn": "已撤回",
    "lapsed": "整改结束未审批",
}


class ExtensionRequest(BaseModel):
    """One extension request (延期申请) and what became of it."""

    hazard_seq: int  # the request_extension event
    reason: str | None
    new_deadline: datetime | None
    requested_by: str
    requested_at: datetime
    decision: Literal["pending", "approved", "rejected", "withdrawn", "lapsed"]
    decision_label: str
    decided_by: str | None
    decided_at: datetime | None
    decided_seq: int | None
    note: str | None
    previous_deadline: datetime | None  # the deadline an approval replaced


def touches_extensions() -> Any:
    """The events `fold` reads: the extension triggers and every step that let one lapse."""
    return or_(
        EVENTS.c.trigger.in_(EXTENSION_EVENTS), EVENTS.c.payload.contains('"lapsed_extension"')
    )


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def fold(events: Iterable[tuple[int, str, str, datetime, str]]) -> list[dict[str, Any]]:
    """The requests, from (hazard_seq, trigger, actor, at, payload text) in chain order."""
    out: list[dict[str, Any]] = []
    pending: dict[str, Any] | None = None
    for seq, trigger, actor, at, text in events:
        try:
            p = json.loads(text)
        except ValueError:
            continue
        if trigger == "request_extension":
            pending = {"hazard_seq": seq, "reason": p.get("reason")}
            pending |= {"new_deadline": _instant(p.get("new_deadline"))}
            pending |= {"requested_by": actor, "requested_at": at, "decision": "pending"}
            pending |= dict.fromkeys(("decided_by", "decided_at", "decided_seq", "note"))
            pending["previous_deadline"] = None
            out.append(pending)
            continue
        if pending is None:
            continue
        if trigger == "decide_extension":
            pending["decision"] = "approved" if p.get("approved") else "rejected"
            pending["note"] = p.get("note")
            pending["previous_deadline"] = _instant(p.get("previous_deadline"))
        elif trigger == "withdraw_extension":
            pending["decision"], pending["note"] = "withdrawn", p.get("reason")
        elif "lapsed_extension" in p:
            pending["decision"] = "lapsed"
        else:
            continue
        pending |= {"decided_by": actor, "decided_at": at, "decided_seq": seq}
        pending = None
    for request in out:
        request["decision_label"] = DECISION_LABELS[request["decision"]]
    return out


def for_hazard(connection: Connection, hazard_id: int) -> list[dict[str, Any]]:
    """A hazard's extension requests, oldest first."""
    c = EVENTS.c
    stmt = (
        select(c.hazard_seq, c.trigger, c.actor, c.at, c.payload)
        .where(c.hazard_id == hazard_id, touches_extensions())
        .order_by(c.hazard_seq)
    )
    return fold(connection.execute(stmt))
