"""追责问责 in the history: the entries timer events open (`opened`, used by the effects of
`verification_overdue` and `escalation_notice`) and their resolution (`resolve_accountability`).

An entry is opened by the event whose payload carries `accountability` (what the engine decided
when the timer fired: the rule, the body, the person where known, the reason); the effect turns
that payload into the row, so replay, running the same effect on the recorded payload, opens
the same entries. `resolve_accountability` is `internal` in the workflow files: recorded by its
own use case (POST /api/v1/accountability/{id}/resolve, rectify.accountability.service), which
checks the entry is open before the event applies."""

from __future__ import annotations

from typing import Any, ClassVar

from rectify.accountability.models import Outcome
from rectify.hazards.row import HazardRow
from rectify.hazards.triggers.base import Effect, Payload, Trigger, define
from rectify.inputs import Id, LongText, Text

__all__ = ["ResolveAccountability", "listed_overdue", "opened", "verification_overdue"]

# Entries recorded before they were rows (`{"against": ..., "entry": "追责问责"}`) name the
# verifying side; migration 0014 opened their rows from the same words.
_VERIFYING_SIDE = "负责复查验收的监管部门（验收方）"


def verification_overdue(hazard: HazardRow) -> dict[str, Any]:
    """The entry a missed verification opens (SPEC.md section 3: against the verifying side);
    the person is the one the hazard was assigned to (交办), where known."""
    return {
        "entry": "追责问责",
        "rule": "verification_overdue",
        "against": "verifying side (inspector)",
        "body": _VERIFYING_SIDE,
        "person": hazard.assignee,
        "reason": "企业报告整改完成后，验收期限内未组织复查验收",
    }


def listed_overdue(hazard: HazardRow, step: int, action: str, against: str) -> dict[str, Any]:
    """The entry a ladder step naming `accountability` opens on a listed hazard still overdue
    (config/policy.toml): against the enterprise (its plan's responsible person) or the office
    (the person the hazard was assigned to)."""
    if against == "enterprise":
        body, person = "生产经营单位", (hazard.plan or {}).get("responsible_person")
    else:
        body, person = "属地负有安全生产监督管理职责的部门", hazard.assignee
    return {
        "entry": "追责问责",
        "rule": "listed_overdue",
        "against": against,
        "body": body,
        "person": person,
        "reason": f"挂牌督办隐患逾期仍未整改，已至升级阶梯第{step + 1}步（{action}）",
    }


def opened(e: Effect, p: Payload, seq: int) -> None:
    """Open the entry the event's payload names, if any (`seq`: the event's hazard_seq)."""
    entry = p.get("accountability")
    if not isinstance(entry, dict):
        return
    h = e.hazard
    e.record(
        "accountability",
        {"hazard_id": h.id, "enterprise_id": h.enterprise_id, "region_code": h.region_code}
        | {"hazard_seq": seq, "rule": entry.get("rule", "verification_overdue")}
        | {"body": entry.get("body", _VERIFYING_SIDE), "person": entry.get("person")}
        | {"reason": entry.get("reason", "验收逾期"), "opened_at": e.now, "state": "open"},
    )


@define
class ResolveAccountability(Trigger):
    """追责问责处理: how an open entry was handled (outcome and note); once per entry."""

    name: ClassVar[str] = "resolve_accountability"
    accountability_id: Id
    outcome: Outcome
    note: LongText
    person: Text | None = None  # the person held to account, found out since

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        values = {"state": "resolved", "outcome": p["outcome"], "note": p["note"]}
        values |= {"resolved_by": e.actor, "resolved_at": e.now, "resolved_seq": e.seq}
        if p.get("person"):
            values["person"] = p["person"]
        e.change("accountability", p["accountability_id"], values)
        return p
