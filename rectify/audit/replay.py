"""Replay: rebuild a hazard at an instant by re-running its events through the workflow version it
is pinned to, with Facts rebuilt from the payloads; each disagreement is a divergence.

Events are read as plain typed rows (no ORM objects). A trigger whose transitions have neither
guards nor payload conditions moves a given state to the same next state every time, so its
outcome is taken from the machine once per (trigger, state) and remembered for the rest of the
history; the other triggers go through the machine with the facts of their moment, every time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast
from sqlalchemy import select as core_select
from sqlmodel import Session, func, select

from rectify.audit.chain import GENESIS, PieceCache, format_at, link, spliced_link
from rectify.audit.models import Event
from rectify.audit.verify import canonical_of
from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.exceptions import Forbidden, GuardFailed, InvalidInput, TriggerNotAllowed
from rectify.hazards import service as hazards
from rectify.hazards.models import Hazard, Penalty
from rectify.hazards.payloads import plan_missing
from rectify.workflow import Facts, fire
from rectify.workflow.definition import Definition

REPLAYERS = ("dispatcher", "auditor")
EVENTS = Event.__table__.c  # type: ignore[attr-defined]
RESOLUTIONS = {"dismiss": "dismissed", "close": "rectified", "order_closure": "shut_down"}


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass
class Replayed:
    """Everything replay rebuilds from the events alone."""

    state: dict[str, str]
    grade: str | None = None
    violation: bool = False
    deadline: datetime | None = None
    supervision_level: str | None = None
    plan: dict[str, Any] | None = None
    pending_extension: dict[str, Any] | None = None
    penalties: list[dict[str, Any]] = field(default_factory=list)
    resolution: str | None = None
    verify_failures: int = 0
    version: int = 0
    head_hash: str = GENESIS

    def facts(self, now: datetime) -> Facts:
        """What the guards saw when the event was applied, rebuilt from earlier payloads."""
        grade = self.grade or "general"
        return Facts(
            now=now,
            deadline=self.deadline,
            pending_extension=self.pending_extension is not None,
            penalty_count=len(self.penalties),
            violation=self.violation,
            plan_missing=tuple(plan_missing(self.plan, grade)) if self.plan else (),
        )

    def effect(self, trigger: str, p: dict[str, Any], ev: Recorded) -> None:
        """The effects' recorded outcome: deadline, grade, level, plan, penalties (effects.py)."""
        if trigger == "report":
            self.grade, self.violation = p.get("grade"), bool(p.get("violation"))
        elif trigger in ("accept", "revise_plan"):
            self.plan = p.get("plan")
        elif trigger == "request_extension":
            self.pending_extension = p
        elif "lapsed_extension" in p:  # verify_pass, close, dismiss, order_closure
            self.pending_extension = None
        elif trigger == "decide_extension":
            self.pending_extension = None
            if p.get("approved"):
                self.deadline = _dt((p.get("request") or {}).get("new_deadline"))
        elif trigger == "verify_fail":
            self.verify_failures += 1
            self.deadline = _dt(p.get("new_deadline"))
        elif trigger == "list_for_supervision":
            self.supervision_level = p.get("level")
            if p.get("deadline"):
                self.deadline = _dt(p["deadline"])
        elif trigger == "regrade":
            self.grade, self.deadline = p.get("grade"), _dt(p.get("deadline"))
        elif trigger in ("assign", "deadline_recomputed"):
            self.deadline = _dt(p.get("deadline"))
        elif trigger == "record_penalty":
            self.penalties.append({**p, "recorded_by": ev.actor, "at": format_at(ev.at)})
        self.resolution = RESOLUTIONS.get(trigger, self.resolution)


@dataclass
class Replayer:
    """Applies one hazard's events in chain order and collects the divergences."""

    definition: Definition
    r: Replayed
    divergences: list[dict[str, Any]] = field(default_factory=list)
    applied: int = 0
    last_at: datetime | None = None
    # (trigger, state) → next state, for triggers whose outcome depends on the state alone.
    moves: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, str]] = field(
        default_factory=dict
    )
    pieces: PieceCache = field(default_factory=PieceCache)

    def diverge(self, ev: Recorded, kind: str, detail: str) -> None:
        self.divergences.append({"hazard_seq": ev.hazard_seq, "kind": kind, "detail": detail})

    def apply(self, ev: Recorded, payload: dict[str, Any]) -> None:
        self._chain(ev)
        d, r = self.definition, self.r
        if (ev.workflow_name, ev.workflow_version) != d.key:
            pin = f"{d.name} v{d.version}"
            ran = f"{ev.workflow_name} v{ev.workflow_version}"
            self.diverge(ev, "workflow", f"ran under {ran}, the hazard is pinned to {pin}")
        if ev.from_state != (r.state if self.applied else None):
            self.diverge(ev, "from", f"recorded from {ev.from_state}, replay is at {r.state}")
        after = self._fire(ev, payload) if self.applied else self._report(ev)
        if ev.to_state != after:
            self.diverge(ev, "to", f"recorded to {ev.to_state}, the definition gives {after}")
        r.state = after
        r.effect(ev.trigger, payload, ev)
        r.version, r.head_hash = ev.hazard_seq, ev.hash
        self.applied += 1
        self.last_at = ev.at

    def _chain(self, ev: Recorded) -> None:
        r = self.r
        if ev.hazard_seq != r.version + 1:
            self.diverge(ev, "hash", f"hazard_seq {ev.hazard_seq} follows {r.version}")
        if ev.prev_hash != r.head_hash:
            self.diverge(ev, "hash", f"prev_hash does not link to hazard_seq {r.version}")
        if not _hash_holds(ev, self.pieces):
            self.diverge(ev, "hash", "hash mismatch: the event was changed after it was written")
        if self.last_at is not None and ev.at < self.last_at:
            self.diverge(ev, "time", f"at {format_at(ev.at)} is before the previous event")

    def _report(self, ev: Recorded) -> dict[str, str]:
        spec = self.definition.triggers.get(ev.trigger)
        if spec is None or not spec.creates:
            self.diverge(ev, "trigger", f"{ev.trigger} cannot start a hazard's history")
        elif ev.role not in spec.roles:
            self.diverge(ev, "trigger", f"a {ev.role} may not fire {ev.trigger}")
        return self.definition.initial_state()

    def _fire(self, ev: Recorded, payload: dict[str, Any]) -> dict[str, str]:
        d, before = self.definition, self.r.state
        spec = d.triggers.get(ev.trigger)
        if spec is None or spec.creates:
            self.diverge(ev, "trigger", f"{ev.trigger} is not a trigger of {d.name} v{d.version}")
            return before
        if ev.role not in spec.roles:
            self.diverge(ev, "trigger", f"a {ev.role} may not fire {ev.trigger}")
        key = (ev.trigger, tuple(before.items()))
        if key in self.moves:
            return dict(self.moves[key])
        after = self._machine(ev, payload)
        if after is not None and _state_only(spec):
            self.moves[key] = dict(after)
        return after if after is not None else before

    def _machine(self, ev: Recorded, payload: dict[str, Any]) -> dict[str, str] | None:
        """The next state by the workflow machine (None: the trigger was refused outright)."""
        d, before = self.definition, self.r.state
        facts = self.r.facts(ev.at)
        try:
            return fire(d, ev.trigger, before, facts, payload, role=ev.role).after
        except TriggerNotAllowed as exc:
            self.diverge(ev, "trigger", exc.detail)
            return None
        except GuardFailed as exc:
            self.diverge(ev, "trigger", exc.detail)
        # The state allowed it but a guard did not: replay the move with guards satisfied.
        lenient = replace(
            facts,
            deadline=None,
            pending_extension=ev.trigger == "decide_extension",
            penalty_count=max(facts.penalty_count, 1),
            plan_missing=(),
        )
        try:
            return fire(d, ev.trigger, before, lenient, payload, role=ev.role).after
        except (TriggerNotAllowed, GuardFailed):
            return None


def _state_only(spec: Any) -> bool:
    """True when the trigger's outcome depends on the state alone: no guard, no payload value
    selecting a transition (what `engine.fire` checks beyond the state)."""
    return all(not t.guards and not t.payload for t in spec.transitions)


def _hash_holds(ev: Recorded, cache: PieceCache) -> bool:
    """The stored hash covers the event: its payload spliced as stored (the service stores it
    canonical), else, as first defined, parsed and dumped again."""
    parts = cache.get(
        (ev.trigger, ev.from_text, ev.to_text, ev.actor, ev.role)
        + (ev.workflow_name, ev.workflow_version)
    )
    try:
        if parts is not None and ev.hash == spliced_link(
            parts,
            hazard_id=ev.hazard_id,
            hazard_seq=ev.hazard_seq,
            at=ev.at,
            payload=ev.payload,
            prev_hash=ev.prev_hash,
        ):
            return True
    except (ValueError, TypeError, AttributeError):
        pass
    canonical = canonical_of(ev)
    return canonical is not None and link(ev.prev_hash, canonical) == ev.hash


@dataclass(slots=True)
class Recorded:
    """One stored event as replay reads it: the columns, with from and to parsed from their
    stored JSON text once per distinct text (a long history repeats a few states)."""

    hazard_id: int
    hazard_seq: int
    trigger: str
    from_text: str | None
    to_text: str | None
    actor: str
    role: str
    at: datetime
    payload: str
    workflow_name: str
    workflow_version: int
    prev_hash: str
    hash: str
    from_state: Any = None  # parsed from_text
    to_state: Any = None  # parsed to_text


READ = tuple(f.name for f in fields(Recorded))[:-2]  # the columns selected, in this order


def _columns() -> list[Any]:
    text = {"from_text": EVENTS.from_state, "to_text": EVENTS.to_state}
    return [cast(text[n], Text).label(n) if n in text else EVENTS[n] for n in READ]


class _Reader:
    """Rows (READ's columns) to Recorded events, the parsed states shared between equal texts."""

    def __init__(self) -> None:
        self.states: dict[str | None, Any] = {None: None}

    def state(self, text: str | None) -> Any:
        if text not in self.states:
            try:
                self.states[text] = json.loads(text)  # type: ignore[arg-type]
            except ValueError:  # unreadable: compares unequal, and the hash says why
                self.states[text] = text
        return self.states[text]

    def event(self, row: Any) -> Recorded:
        return Recorded(*row, self.state(row[3]), self.state(row[4]))


def _stored(rp: Replayer, hazard: Hazard, penalties: int) -> None:
    r, seq = rp.r, rp.r.version
    pairs = {
        "state": (hazard.workflow_state, r.state),
        "grade": (hazard.grade, r.grade),
        "supervision_level": (hazard.supervision_level, r.supervision_level),
        "deadline": (hazard.deadline, r.deadline),
        "resolution": (hazard.resolution, r.resolution),
        "verify_failures": (hazard.verify_failures, r.verify_failures),
        "version": (hazard.version, r.version),
        "head_hash": (hazard.head_hash, r.head_hash),
        "penalties": (penalties, len(r.penalties)),
        "penalty_count": (hazard.penalty_count, len(r.penalties)),
    }
    for name, (row, replayed) in pairs.items():
        if row != replayed:
            detail = f"the hazard row has {name} {row}, the events give {replayed}"
            rp.divergences.append({"hazard_seq": seq, "kind": "stored", "detail": detail})


def replay(
    *, ctx: Context, caller: Caller, hazard_id: int, at: datetime | None = None
) -> dict[str, Any]:
    """The hazard rebuilt from its events up to `at` (all of them when None)."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if at is not None and at > ctx.now():
        # A replay tells what happened; the future has not (timers may still fire).
        when = format_at(ctx.now())
        raise InvalidInput.fields([{"field": "at", "message": f"must not be after now ({when})"}])
    with ctx.db.session() as session:
        # Scope before role (SPEC 1): a hazard outside the caller's scope does not exist (404).
        hazard = hazards.get(session=session, caller=caller, hazard_id=hazard_id)
        if caller.role not in REPLAYERS:
            raise Forbidden(f"replay needs the role dispatcher or auditor; you are {caller.role}")
        definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
        rp = Replayer(definition, Replayed(state=definition.initial_state()))
        complete = _run(session, rp, hazard_id, at)
        if rp.applied == 0:
            when = format_at(hazard.created_at)
            raise InvalidInput.fields(
                [{"field": "at", "message": f"before the hazard was reported ({when})"}]
            )
        if complete:
            count = select(func.count()).select_from(Penalty).where(Penalty.hazard_id == hazard.id)
            _stored(rp, hazard, session.exec(count).one())
    return _body(rp, hazard, at or ctx.now())


def _run(session: Session, rp: Replayer, hazard_id: int, at: datetime | None) -> bool:
    """Apply the events in chain order up to `at`; True when none was left out."""
    stmt = (
        core_select(*_columns())
        .where(EVENTS.hazard_id == hazard_id)
        .order_by(EVENTS.hazard_seq)
        .execution_options(yield_per=1000)
    )
    reader = _Reader()
    for row in session.connection().execute(stmt):
        if at is not None and row.at > at:
            return False
        ev = reader.event(row)
        rp.apply(ev, _payload(ev))
    return True


def _payload(ev: Recorded) -> dict[str, Any]:
    # An unreadable payload is already a hash divergence; replay goes on without it.
    try:
        value = json.loads(ev.payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _body(rp: Replayer, hazard: Hazard, at: datetime) -> dict[str, Any]:
    r, d = rp.r, rp.definition
    return {
        "hazard_id": hazard.id,
        "workflow": {"name": d.name, "version": d.version},
        "at": format_at(at),
        **r.state,
        "labels": {
            f: d.region_by_field[f].states.get(s, s)
            for f, s in r.state.items()
            if f in d.region_by_field
        },
        "deadline": r.deadline.astimezone(UTC).isoformat() if r.deadline else None,
        "grade": r.grade,
        "supervision_level": r.supervision_level,
        "penalties": r.penalties,
        "resolution": r.resolution,
        "pending_extension": r.pending_extension is not None,
        "verify_failures": r.verify_failures,
        "version": r.version,
        "head_hash": r.head_hash,
        "events_applied": rp.applied,
        "consistent": not rp.divergences,
        "divergences": rp.divergences,
    }
