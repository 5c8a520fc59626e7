"""Replay: rebuild a hazard at an instant by re-running its events through the workflow version it
is pinned to and through each trigger's own effect (the function the live path ran), with the
recorded payloads; each disagreement is a divergence.

The chain is checked as it is walked (the one ChainWalker, the one Encoder). Guards are judged
on the hazard as replay has rebuilt it at each event; a move the state allowed but a guard did
not is reported and then replayed with the guards satisfied, so one divergence does not cascade.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Text, cast, func, select

from rectify.accountability.models import Accountability
from rectify.audit.chain import GENESIS, ChainWalker, Encoder, format_at
from rectify.audit.models import Event
from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.exceptions import GuardFailed, InvalidInput, TriggerNotAllowed
from rectify.hazards import service as hazards
from rectify.hazards.models import Penalty
from rectify.hazards.row import DEFAULTS, HazardRow
from rectify.hazards.triggers import REGISTRY, Effect
from rectify.hazards.triggers.base import facts_of
from rectify.workflow import decide
from rectify.workflow.definition import Definition

__all__ = ["REPLAYERS", "replay"]

REPLAYERS = ("dispatcher", "auditor")
"""Who may replay a hazard (declared on the routes: `api.permissions.HazardRoles`)."""

EVENTS = Event.__table__.c  # type: ignore[attr-defined]
PENALTIES = Penalty.__table__  # type: ignore[attr-defined]
ACCOUNTABILITY = Accountability.__table__  # type: ignore[attr-defined]
# The hazard's columns that its events alone determine (compared with the stored row).
REBUILT = (
    "state",
    "supervision",
    "production",
    "judicial",
    "grade",
    "supervision_level",
    "deadline",
    "deadline_provisional",
    "resolution",
    "verify_failures",
    "penalty_count",
    "plan",
    "pending_extension",
    "assignee",
    "version",
    "head_hash",
)


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
    actor_id: int | None
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


@dataclass
class Replayer:
    """Applies one hazard's events in chain order and collects the divergences."""

    definition: Definition
    ctx: Context
    hazard: HazardRow
    penalties: list[dict[str, Any]] = field(default_factory=list)
    # 追责问责 entries by the hazard_seq that opened them, as the events leave them
    accountability: dict[int, dict[str, Any]] = field(default_factory=dict)
    divergences: list[dict[str, Any]] = field(default_factory=list)
    applied: int = 0
    last_at: datetime | None = None
    entry_ids: dict[int, int] = field(default_factory=dict)  # accountability id → hazard_seq
    encoder: Encoder = field(default_factory=Encoder)
    walker: ChainWalker = field(default_factory=ChainWalker)

    def diverge(self, ev: Recorded, kind: str, detail: str) -> None:
        self.divergences.append({"hazard_seq": ev.hazard_seq, "kind": kind, "detail": detail})

    def apply(self, ev: Recorded, payload: dict[str, Any]) -> None:
        self._chain(ev)
        d, h = self.definition, self.hazard
        if (ev.workflow_name, ev.workflow_version) != d.key:
            pin = f"{d.name} v{d.version}"
            ran = f"{ev.workflow_name} v{ev.workflow_version}"
            self.diverge(ev, "workflow", f"ran under {ran}, the hazard is pinned to {pin}")
        before = h.workflow_state
        if ev.from_state != (before if self.applied else None):
            self.diverge(ev, "from", f"recorded from {ev.from_state}, replay is at {before}")
        after = self._decide(ev, payload) if self.applied else self._report(ev)
        if ev.to_state != after:
            self.diverge(ev, "to", f"recorded to {ev.to_state}, the definition gives {after}")
        h.set(**after)
        self._effect(ev, payload)
        h.set(version=ev.hazard_seq, head_hash=ev.hash)
        self.applied += 1
        self.last_at = ev.at

    def _chain(self, ev: Recorded) -> None:
        if not self.applied:
            self.walker.start(ev.hazard_id)
        recomputed = self.encoder.hash(
            hazard_id=ev.hazard_id,
            hazard_seq=ev.hazard_seq,
            trigger=ev.trigger,
            from_state=ev.from_text,
            to_state=ev.to_text,
            actor=ev.actor,
            actor_id=ev.actor_id,
            role=ev.role,
            at=ev.at,
            payload=ev.payload,
            workflow_name=ev.workflow_name,
            workflow_version=ev.workflow_version,
            prev_hash=ev.prev_hash,
        )
        if not self.walker.feed(ev.hazard_seq, ev.prev_hash, ev.hash, recomputed):
            self.diverge(ev, "hash", self.walker.broken[-1]["reason"])
        if self.last_at is not None and ev.at < self.last_at:
            self.diverge(ev, "time", f"at {format_at(ev.at)} is before the previous event")

    def _report(self, ev: Recorded) -> dict[str, str]:
        spec = self.definition.triggers.get(ev.trigger)
        if spec is None or not spec.creates:
            self.diverge(ev, "trigger", f"{ev.trigger} cannot start a hazard's history")
        elif ev.role not in spec.roles:
            self.diverge(ev, "trigger", f"a {ev.role} may not fire {ev.trigger}")
        return self.definition.initial_state()

    def _decide(self, ev: Recorded, payload: dict[str, Any]) -> dict[str, str]:
        """The next state by the workflow's rules, judged on the hazard as rebuilt so far."""
        d, before = self.definition, self.hazard.workflow_state
        spec = d.triggers.get(ev.trigger)
        if spec is None or spec.creates:
            self.diverge(ev, "trigger", f"{ev.trigger} is not a trigger of {d.name} v{d.version}")
            return before
        if ev.role not in spec.roles:
            self.diverge(ev, "trigger", f"a {ev.role} may not fire {ev.trigger}")
        h = self.hazard
        facts = facts_of(h, ev.at, self.ctx.policy.for_(h.region_code, h.industry or ""))
        try:
            return decide(d, ev.trigger, before, facts, payload, role=ev.role)
        except TriggerNotAllowed as exc:
            self.diverge(ev, "trigger", exc.detail)
            return before
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
            return decide(d, ev.trigger, before, lenient, payload, role=ev.role)
        except (TriggerNotAllowed, GuardFailed):
            return before

    def _effect(self, ev: Recorded, payload: dict[str, Any]) -> None:
        """The trigger's own effect, as the live path ran it, on the rebuilt hazard."""
        definition = REGISTRY.get(ev.trigger)
        if definition is None:
            return  # already a divergence: not a trigger of the definition
        h = self.hazard
        policy = self.ctx.policy.for_(h.region_code, h.industry or "")
        effect = Effect(h, ev.actor, ev.role, policy, ev.at, self.definition)
        try:
            definition.effect(effect, payload)
        except (KeyError, TypeError, ValueError) as exc:  # a payload the effect cannot read
            self.diverge(ev, "payload", f"{ev.trigger}'s recorded payload is unreadable: {exc!r}")
            return
        for table, row in effect.records:
            if table == "penalties":
                self.penalties.append(
                    {k: v for k, v in row.items() if k not in ("hazard_id", "enterprise_id")}
                    | {"at": format_at(ev.at)}
                )
            elif table == "accountability":
                self.accountability[row["hazard_seq"]] = {
                    "hazard_seq": row["hazard_seq"],
                    "rule": row["rule"],
                    "person": row["person"],
                    "state": "open",
                }
        for table, row_id, values in effect.changes:
            if table == "accountability":
                self._resolved(ev, row_id, values)

    def _resolved(self, ev: Recorded, row_id: int, values: dict[str, Any]) -> None:
        """A resolution names the entry by id; replay knows entries by the event that opened
        them, so the id is looked up (`ids`, read from the table with the events)."""
        seq = self.entry_ids.get(row_id)
        entry = self.accountability.get(seq) if seq is not None else None
        if entry is None:
            self.diverge(ev, "payload", f"no 追责问责 entry {row_id} was opened on this hazard")
            return
        if entry["state"] != "open":
            self.diverge(ev, "payload", f"追责问责 entry {row_id} was already resolved")
        entry["state"] = "resolved"
        entry["outcome"] = values["outcome"]
        if values.get("person"):
            entry["person"] = values["person"]


def _start(hazard: HazardRow, definition: Definition) -> HazardRow:
    """The hazard before its first event: only what no event says (its id, enterprise, region,
    workflow) is taken from the row."""
    known = ("id", "enterprise_id", "region_code", "workflow_name", "workflow_version")
    values = DEFAULTS | {k: hazard.values[k] for k in known}
    values |= definition.initial_state() | {"version": 0, "head_hash": GENESIS}
    return HazardRow(values | {"verify_failures": 0, "penalty_count": 0})


def _stored(rp: Replayer, stored: HazardRow, penalties: int, entries: list[dict[str, Any]]) -> None:
    r, seq = rp.hazard, rp.hazard.version
    pairs = {name: (stored.values.get(name), r.values.get(name)) for name in REBUILT}
    pairs["penalties"] = (penalties, len(rp.penalties))
    replayed = sorted(rp.accountability.values(), key=lambda e: e["hazard_seq"])
    pairs["accountability"] = (entries, [_entry(e) for e in replayed])
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
    with ctx.db.engine.connect() as connection:
        # A hazard outside the caller's scope does not exist (404). Who may replay is the
        # route's to say (`audit/views.py`); the CLI replays as an auditor.
        stored = hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
        definition = ctx.registry.get(stored.workflow_name, stored.workflow_version)
        rp = Replayer(definition, ctx, _start(stored, definition))
        entries = _entries(connection, hazard_id)
        rp.entry_ids = {e["id"]: e["hazard_seq"] for e in entries}
        complete = _run(connection, rp, hazard_id, at)
        if rp.applied == 0:
            when = format_at(stored.created_at)
            raise InvalidInput.fields(
                [{"field": "at", "message": f"before the hazard was reported ({when})"}]
            )
        if complete:
            count = select(func.count()).select_from(PENALTIES)
            count = count.where(PENALTIES.c.hazard_id == hazard_id)
            _stored(
                rp, stored, connection.execute(count).scalar_one(), [_entry(e) for e in entries]
            )
    return _body(rp, stored, at or ctx.now())


def _entries(connection: Connection, hazard_id: int) -> list[dict[str, Any]]:
    """The hazard's 追责问责 rows, in the order their events opened them."""
    a = ACCOUNTABILITY.c
    stmt = select(a.id, a.hazard_seq, a.rule, a.person, a.state, a.outcome)
    stmt = stmt.where(a.hazard_id == hazard_id).order_by(a.hazard_seq)
    return [dict(r._mapping) for r in connection.execute(stmt)]


def _entry(e: dict[str, Any]) -> dict[str, Any]:
    """What replay compares of an entry: what its events say."""
    keys = ("hazard_seq", "rule", "person", "state", "outcome")
    return {k: e.get(k) for k in keys}


def _columns() -> list[Any]:
    text = {"from_text": EVENTS.from_state, "to_text": EVENTS.to_state}
    return [cast(text[n], Text).label(n) if n in text else EVENTS[n] for n in READ]


def _run(connection: Connection, rp: Replayer, hazard_id: int, at: datetime | None) -> bool:
    """Apply the events in chain order up to `at`; True when none was left out."""
    stmt = (
        select(*_columns())
        .where(EVENTS.hazard_id == hazard_id)
        .order_by(EVENTS.hazard_seq)
        .execution_options(yield_per=1000)
    )
    states: dict[str | None, Any] = {None: None}
    for row in connection.execute(stmt):
        if at is not None and row.at > at:
            return False
        ev = Recorded(*row, _parsed(states, row[3]), _parsed(states, row[4]))
        rp.apply(ev, _payload(ev))
    return True


def _parsed(states: dict[str | None, Any], text: str | None) -> Any:
    if text not in states:
        try:
            states[text] = json.loads(text)  # type: ignore[arg-type]
        except ValueError:  # unreadable: compares unequal, and the hash says why
            states[text] = text
    return states[text]


def _payload(ev: Recorded) -> dict[str, Any]:
    # An unreadable payload is already a hash divergence; replay goes on without it.
    try:
        value = json.loads(ev.payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _body(rp: Replayer, stored: HazardRow, at: datetime) -> dict[str, Any]:
    h, d = rp.hazard, rp.definition
    state = h.workflow_state
    return {
        "hazard_id": stored.id,
        "workflow": {"name": d.name, "version": d.version},
        "at": format_at(at),
        **state,
        "labels": {f: d.region_by_field[f].states.get(s, s) for f, s in state.items()},
        "deadline": h.deadline.astimezone(UTC).isoformat() if h.deadline else None,
        "grade": h.grade,
        "supervision_level": h.supervision_level,
        "penalties": rp.penalties,
        "accountability": sorted(rp.accountability.values(), key=lambda e: e["hazard_seq"]),
        "resolution": h.resolution,
        "pending_extension": h.pending_extension is not None,
        "verify_failures": h.verify_failures,
        "version": h.version,
        "head_hash": h.head_hash,
        "events_applied": rp.applied,
        "consistent": not rp.divergences,
        "divergences": rp.divergences,
    }
