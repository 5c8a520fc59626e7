"""Penalties (行政处罚) and the closure rule they can set off (安全生产法第一百一十三条)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from rectify.enterprises import service as enterprises
from rectify.exceptions import FieldError
from rectify.hazards.triggers.base import (
    Effect,
    Payload,
    Reaction,
    Situation,
    SystemEvent,
    Trigger,
    define,
    err,
)
from rectify.inputs import Day, Money, Text
from rectify.timers.policy import CHINA_TZ


@define
class RecordPenalty(Trigger):
    """登记行政处罚: a penalty record on the hazard and so on its enterprise."""

    name: ClassVar[str] = "record_penalty"
    decision_no: Text
    kind: Literal[
        "warning", "fine", "daily_fine", "confiscation", "suspension", "license_revocation"
    ]
    amount_yuan: Money | None = None
    legal_basis: Text
    # The decision's date (安全生产法 art. 113 counts by it); today in China when not given.
    decided_on: Day | None = None

    def rules(self, s: Situation) -> list[FieldError]:
        today = s.now.astimezone(CHINA_TZ).date()
        if self.decided_on is not None and self.decided_on > today:
            return [err("decided_on", f"must not be after today ({today.isoformat()})")]
        return []

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        h = e.hazard
        decided = p.get("decided_on") or e.now.astimezone(CHINA_TZ).date().isoformat()
        out = {**p, "decided_on": decided}
        e.record(
            "penalties",
            {"hazard_id": h.id, "enterprise_id": h.enterprise_id, "recorded_by": e.actor}
            | {"at": e.now, "amount_yuan": None}
            | out
            | {"decided_on": date.fromisoformat(decided)},
        )
        h.set(penalty_count=h.penalty_count + 1)
        return out

    @classmethod
    def react(cls, r: Reaction) -> None:
        # 安全生产法第一百一十三条, first ground: a major hazard and repeated penalties.
        counts = enterprises.closure_due(
            uow=r.uow,
            enterprise_id=r.hazard.enterprise_id,
            rule=r.ctx.policy.for_(r.hazard.region_code, r.hazard.industry).closure_rule,
            now=r.now,
        )
        if counts is not None:
            flag_for_closure(r, "penalties", **counts)


GROUNDS = ("penalties", "failed_after_suspension", "refused_suspension")
"""安全生产法第一百一十三条's grounds for asking the government to close an enterprise: a major
hazard and 3 penalties in 180 days or 4 in a year; still failing after 停产停业整顿; refusing a
停产停业整顿 order."""


def flag_for_closure(r: Reaction, ground: str, **detail: int) -> None:
    """Flag the enterprise closure_recommended once, with an event on this hazard saying on
    which ground (a later ground on a flagged enterprise adds nothing)."""
    if ground not in GROUNDS:
        raise ValueError(f"unknown ground {ground}")
    if enterprises.flag_closure(uow=r.uow, enterprise_id=r.hazard.enterprise_id):
        r.fire_system(
            "closure_recommended",
            {
                "enterprise_id": r.hazard.enterprise_id,
                "legal_basis": "安全生产法第一百一十三条",
                "ground": ground,
                **detail,
            },
        )


@define
class ClosureRecommended(SystemEvent):
    """提请关闭（第一百一十三条）: the enterprise was flagged closure_recommended."""

    name: ClassVar[str] = "closure_recommended"
