"""The holiday calendar's own event: a deadline counted again once a year's notice is loaded."""

from __future__ import annotations

from typing import ClassVar

from pydantic import StrictBool

from rectify.hazards.triggers.base import Effect, Payload, SystemEvent, define, parse_instant
from rectify.inputs import Instant
from rectify.timers.policy import Counted


@define
class DeadlineRecomputed(SystemEvent):
    """整改期限按节假日安排重新计算: the calendar's recount (rectify.calendar.service) moved the
    deadline; the payload says how (`counted_from`, `rule`, `notices`, kept as given)."""

    name: ClassVar[str] = "deadline_recomputed"
    deadline: Instant
    previous_deadline: Instant | None = None
    deadline_provisional: StrictBool = False

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.set_deadline(
            Counted(
                at=parse_instant(p["deadline"]),  # type: ignore[arg-type]
                provisional=bool(p.get("deadline_provisional")),
                counted_from=parse_instant(p.get("counted_from")),
                rule=p.get("rule"),
            ),
            recount=True,
        )
        return p
