"""What each trigger does besides moving the state: deadline, plan, penalties and timers.

Each effect mutates the hazard row inside the trigger's transaction and returns the payload
to record, completed with what the service decided (an effective deadline, the one replaced),
so that the history alone tells what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from rectify.auth.scope import Caller
from rectify.hazards.models import Hazard, Penalty
from rectify.timers import service as timers
from rectify.timers.policy import Counted, Policy

Payload = dict[str, Any]


@dataclass
class Effect:
    session: Session
    hazard: Hazard
    caller: Caller
    policy: Policy
    now: datetime
    before: dict[str, str]

    def set_deadline(self, deadline: datetime | Counted) -> None:
        """Move the rectification deadline and the timers that hang off it (a Counted deadline
        may be provisional: counted over a year without holiday data)."""
        h, now = self.hazard, self.now
        counted = deadline if isinstance(deadline, Counted) else Counted(deadline)
        if h.deadline is not None:  # without a deadline there are no timers hanging off it
            timers.cancel(
                session=self.session,
                hazard_id=h.id,
                now=now,
                kinds=("rectification", "reminder", "escalation"),
            )
        h.deadline, h.deadline_provisional = counted.at, counted.provisional
        timers.schedule(session=self.session, hazard_id=h.id, kind="rectification", due_at=counted)
        reminder = self.policy.count("reminder", h.grade, counted.at)
        if reminder.at > now:
            timers.schedule(session=self.session, hazard_id=h.id, kind="reminder", due_at=reminder)

    def start(self, kind: str, *, first: bool = False) -> None:
        """(Re)start a timer of the policy from now (`first`: none of its kind can exist)."""
        due = self.policy.count(kind, self.hazard.grade, self.now)
        if first:
            timers.schedule(session=self.session, hazard_id=self.hazard.id, kind=kind, due_at=due)
            return
        timers.reschedule(
            session=self.session, hazard_id=self.hazard.id, kind=kind, due_at=due, now=self.now
        )

    def stop(self, *kinds: str) -> None:
        timers.cancel(
            session=self.session, hazard_id=self.hazard.id, now=self.now, kinds=kinds or None
        )

    def lapse_extension(self, p: Payload) -> Payload:
        """Drop an undecided extension request once rectification is over, saying so."""
        request, self.hazard.pending_extension = self.hazard.pending_extension, None
        return {**p, "lapsed_extension": request} if request else p


def _assign(e: Effect, p: Payload) -> Payload:
    h = e.hazard
    deadline = _dt(p.get("deadline")) or e.policy.count("rectification", h.grade, e.now)
    h.assignee, h.assigned_at = p["assignee"], e.now
    e.set_deadline(deadline)
    e.start("plan_due", first=True)  # assign happens once, from `reported`
    return _provisional({**p, "deadline": _iso(h.deadline)}, h)


def _dismiss(e: Effect, p: Payload) -> Payload:
    e.hazard.resolution = "dismissed"
    e.stop()
    return e.lapse_extension(p)


def _accept(e: Effect, p: Payload) -> Payload:
    e.hazard.plan = p["plan"]
    e.stop("plan_due")
    if e.hazard.supervision == "listed":
        e.start("progress_due")
    return p


def _revise_plan(e: Effect, p: Payload) -> Payload:
    e.hazard.plan = p["plan"]
    return p


def _report_progress(e: Effect, p: Payload) -> Payload:
    if e.hazard.supervision == "listed":
        e.start("progress_due")  # 13710: progress every 3 days while listed
    return p


def _request_extension(e: Effect, p: Payload) -> Payload:
    e.hazard.pending_extension = {**p, "requested_by": e.caller.actor, "requested_at": _iso(e.now)}
    return p


def _decide_extension(e: Effect, p: Payload) -> Payload:
    h = e.hazard
    request = h.pending_extension or {}
    h.pending_extension = None
    out = {**p, "request": request}
    if p["approved"]:
        out["previous_deadline"] = _iso(h.deadline)
        e.set_deadline(_dt(request["new_deadline"]))
    return out


def _confirm_rectified(e: Effect, p: Payload) -> Payload:
    e.stop(*timers.RECTIFICATION_TIMERS)
    e.start("verification_due")
    return p


def _verify_pass(e: Effect, p: Payload) -> Payload:
    e.stop("verification_due")
    return e.lapse_extension(p)


def _verify_fail(e: Effect, p: Payload) -> Payload:
    h = e.hazard
    h.verify_failures += 1
    out = {**p, "previous_deadline": _iso(h.deadline), "failures": h.verify_failures}
    e.stop("verification_due")
    e.set_deadline(_dt(p["new_deadline"]))
    if h.supervision == "listed":
        e.start("progress_due")
    return out


def _close(e: Effect, p: Payload) -> Payload:
    e.hazard.resolution = "rectified"
    e.stop()
    return e.lapse_extension(p)


def _list_for_supervision(e: Effect, p: Payload) -> Payload:
    h = e.hazard
    h.supervision_level = p["level"]
    out = dict(p)
    if e.caller.role == "system" and not p.get("document_no"):
        out["document_no"] = f"SYS-{e.now:%Y%m%d}-{h.id}"
    if p.get("deadline"):
        out["previous_deadline"] = _iso(h.deadline)
        e.set_deadline(_dt(p["deadline"]))
    if h.state == "rectifying":
        e.start("progress_due")
    return out


def _order_closure(e: Effect, p: Payload) -> Payload:
    e.hazard.resolution = "shut_down"
    e.stop(*timers.RECTIFICATION_TIMERS, "verification_due")
    return e.lapse_extension(p)


def _transfer_to_judicial(e: Effect, p: Payload) -> Payload:
    e.start("judicial_decision_due")
    return p


def _record_judicial_decision(e: Effect, p: Payload) -> Payload:
    e.stop("judicial_decision_due")
    return p


def _regrade(e: Effect, p: Payload) -> Payload:
    h = e.hazard
    out = {**p, "previous_grade": h.grade, "previous_deadline": _iso(h.deadline)}
    h.grade = p["grade"]
    if p.get("deadline"):
        e.set_deadline(_dt(p["deadline"]))
    elif h.state in ("assigned", "rectifying"):
        # Recomputed from the moment the new grade is known (docs/DECISIONS.md).
        e.set_deadline(e.policy.count("rectification", h.grade, e.now))
    out["deadline"] = _iso(h.deadline)
    return _provisional(out, h)


def _deadline_recomputed(e: Effect, p: Payload) -> Payload:
    # The calendar service counted the deadline again once the year's holiday data were
    # loaded (rectify.calendar.service.recompute); the payload says how.
    e.set_deadline(
        Counted(
            at=_dt(p["deadline"]),  # type: ignore[arg-type]
            provisional=bool(p.get("deadline_provisional")),
            counted_from=_dt(p.get("counted_from")),
            rule=p.get("rule"),
        )
    )
    return p


def _provisional(out: Payload, h: Hazard) -> Payload:
    """Say so in the history when the deadline was counted with the provisional calendar."""
    return {**out, "deadline_provisional": True} if h.deadline_provisional else out


def _record_penalty(e: Effect, p: Payload) -> Payload:
    h = e.hazard
    penalty = Penalty(
        hazard_id=h.id, enterprise_id=h.enterprise_id, recorded_by=e.caller.actor, at=e.now, **p
    )
    e.session.add(penalty)
    h.penalty_count += 1
    return p


def _none(e: Effect, p: Payload) -> Payload:
    return p


EFFECTS: dict[str, Callable[[Effect, Payload], Payload]] = {
    "assign": _assign,
    "dismiss": _dismiss,
    "accept": _accept,
    "revise_plan": _revise_plan,
    "report_progress": _report_progress,
    "request_extension": _request_extension,
    "decide_extension": _decide_extension,
    "confirm_rectified": _confirm_rectified,
    "verify_pass": _verify_pass,
    "verify_fail": _verify_fail,
    "close": _close,
    "list_for_supervision": _list_for_supervision,
    "order_closure": _order_closure,
    "transfer_to_judicial": _transfer_to_judicial,
    "record_judicial_decision": _record_judicial_decision,
    "regrade": _regrade,
    "record_penalty": _record_penalty,
    "deadline_recomputed": _deadline_recomputed,
}


def apply_effect(effect: Effect, trigger: str, payload: Payload) -> Payload:
    """Run the trigger's effect (none for state-only triggers and timer events)."""
    return EFFECTS.get(trigger, _none)(effect, payload)


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
