"""Use cases for hazards: report, read, list, and apply a trigger; one transaction each.

`apply` is the only code that changes a hazard: the API's transitions and the timer engine's
events both go through it, so guards, history and hash chain are always the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import bindparam, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from rectify.audit import service as audit
from rectify.audit.chain import GENESIS, canonical_json
from rectify.auth.scope import SYSTEM, Caller, in_region
from rectify.context import Context
from rectify.database.core import read_rows
from rectify.enterprises import service as enterprises
from rectify.enterprises.models import Enterprise
from rectify.evidence.models import Evidence
from rectify.exceptions import Forbidden, IdempotencyKeyReused, InvalidInput, NotFound, StaleVersion
from rectify.hazards import payloads
from rectify.hazards.effects import Effect, apply_effect
from rectify.hazards.models import Hazard, HazardCreate, IdempotencyRecord, Penalty
from rectify.notifications import service as notifications
from rectify.observability import metrics
from rectify.timers import service as timers
from rectify.workflow import Facts, allowed_triggers, check_state, fire
from rectify.workflow.definition import Definition

WORKFLOW = "hazard"
OPEN_STATES = ("assigned", "rectifying")  # where a passed deadline makes a hazard overdue


def report(*, ctx: Context, caller: Caller, data: HazardCreate) -> dict[str, Any]:
    """Register a hazard (state `reported`) under the newest workflow version."""
    with ctx.db.write() as session:
        hazard = report_in(session=session, ctx=ctx, caller=caller, data=data)
        return view(ctx=ctx, session=session, caller=caller, hazard=hazard)


def report_in(*, session: Session, ctx: Context, caller: Caller, data: HazardCreate) -> Hazard:
    """Register a hazard inside the caller's transaction (the API, bulk loads)."""
    now = ctx.now()
    definition = ctx.registry.latest(WORKFLOW)
    enterprise = session.get(Enterprise, data.enterprise_id)
    if enterprise is None or not caller.sees(
        region_code=enterprise.region_code, enterprise_id=enterprise.id
    ):
        raise InvalidInput.fields(
            [{"field": "enterprise_id", "message": "no such enterprise in your scope"}]
        )
    if caller.role not in definition.triggers["report"].roles:
        raise Forbidden(f"a {caller.role} may not report hazards")
    hazard = Hazard(
        **data.model_dump(),
        region_code=enterprise.region_code,
        **definition.initial_state(),
        workflow_name=definition.name,
        workflow_version=definition.version,
        head_hash=GENESIS,
        version=0,
        reported_by=caller.actor,
        created_at=now,
        updated_at=now,
    )
    session.add(hazard)
    session.flush()
    _record(session, hazard, "report", None, caller, now, jsonable_encoder(data))
    return hazard


def get(*, session: Session, caller: Caller, hazard_id: int, lock: bool = False) -> Hazard:
    """The hazard, or NotFound when it does not exist for this caller."""
    stmt = select(Hazard).where(Hazard.id == hazard_id)
    hazard = session.exec(stmt.with_for_update() if lock else stmt).first()
    if hazard is None or not caller.sees(
        region_code=hazard.region_code, enterprise_id=hazard.enterprise_id
    ):
        raise NotFound(f"no hazard {hazard_id}")
    return hazard


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    supervision: str | None = None
    production: str | None = None
    judicial: str | None = None
    grade: str | None = None
    source: str | None = None
    enterprise_id: int | None = None
    region: str | None = None
    overdue: bool | None = None


def list_(
    *, session: Session, caller: Caller, filters: Filters, now: datetime, limit: int, offset: int
) -> tuple[list[Hazard], int]:
    """Hazards in scope matching the filters, by id, with the total count."""
    where = [caller.scope_filter(Hazard)]
    for name in (
        "state",
        "supervision",
        "production",
        "judicial",
        "grade",
        "source",
        "enterprise_id",
    ):
        value = getattr(filters, name)
        if value is not None:
            where.append(getattr(Hazard, name) == value)
    if filters.region:
        where.append(in_region(col(Hazard.region_code), filters.region))
    if filters.overdue is not None:
        overdue = col(Hazard.state).in_(OPEN_STATES) & (col(Hazard.deadline) < now)
        where.append(overdue if filters.overdue else ~overdue)
    where = [w for w in where if w is not None]
    total = session.exec(select(func.count()).select_from(Hazard).where(*where)).one()
    stmt = select(Hazard).where(*where).order_by(col(Hazard.id)).limit(limit).offset(offset)
    return list(session.exec(stmt)), total


def transition(
    *,
    ctx: Context,
    caller: Caller,
    hazard_id: int,
    trigger: str,
    payload: dict[str, Any],
    if_match: int | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Apply one trigger in one transaction and return the hazard as the caller sees it."""
    request_hash = _request_hash(hazard_id, trigger, payload, if_match)
    with ctx.db.write() as session:
        if idempotency_key and not ctx.db.is_sqlite:
            _lock_key(session, caller, idempotency_key)
        hazard = get(session=session, caller=caller, hazard_id=hazard_id, lock=True)
        if idempotency_key:
            earlier = _earlier_response(session, caller, idempotency_key, request_hash)
            if earlier is not None:
                return earlier
        apply(
            session=session,
            ctx=ctx,
            caller=caller,
            hazard=hazard,
            trigger=trigger,
            payload=payload,
            if_match=if_match,
        )
        body = view(ctx=ctx, session=session, caller=caller, hazard=hazard)
        if idempotency_key:
            session.add(
                IdempotencyRecord(
                    principal_id=caller.principal_id,
                    key=idempotency_key,
                    request_hash=request_hash,
                    hazard_id=hazard_id,
                    status_code=200,
                    body=body,
                )
            )
        return body


def apply_system(
    *, session: Session, ctx: Context, hazard: Hazard, trigger: str, payload: dict[str, Any]
) -> None:
    """Apply a trigger as `system:scheduler` inside the caller's transaction (timer engine)."""
    apply(session=session, ctx=ctx, caller=SYSTEM, hazard=hazard, trigger=trigger, payload=payload)


def apply(
    *,
    session: Session,
    ctx: Context,
    caller: Caller,
    hazard: Hazard,
    trigger: str,
    payload: dict[str, Any],
    if_match: int | None = None,
) -> None:
    """Apply one trigger to a locked hazard inside the caller's transaction: the only code
    that changes a hazard (the API's transition and the timer engine both call it).

    Everything is checked before anything changes, so a refusal leaves the session clean."""
    now = ctx.now()
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    spec = definition.triggers.get(trigger)
    if spec is None or spec.creates:
        raise InvalidInput.fields(
            [
                {
                    "field": "trigger",
                    "message": f"unknown trigger {trigger}; "
                    f"known: {', '.join(_fireable(definition))}",
                }
            ]
        )
    if caller.role not in spec.roles:
        raise Forbidden(
            f"a {caller.role} may not fire {trigger} (allowed for {', '.join(spec.roles)})"
        )
    if if_match is not None and if_match != hazard.version:
        raise StaleVersion(
            f"If-Match names version {if_match}; the hazard is at version "
            f"{hazard.version}: reload it and decide again",
            current_version=hazard.version,
        )
    before = hazard.workflow_state
    facts = _facts(hazard, now)
    check_state(definition, trigger, before, facts, caller.role)
    clean = payloads.validate(
        trigger,
        payload,
        payloads.Situation(
            hazard=hazard,
            caller=caller,
            now=now,
            evidence=_evidence(session, hazard.id) if trigger in payloads.CITES_EVIDENCE else None,
            horizon=timedelta(days=ctx.settings.deadline_horizon_days),
        ),
    )
    outcome = fire(definition, trigger, before, facts, clean, role=caller.role)
    for field, state in outcome.after.items():
        if outcome.before[field] != state:  # most timer events move nothing; a set is not free
            setattr(hazard, field, state)
    effect = Effect(
        session=session, hazard=hazard, caller=caller, policy=ctx.policy, now=now, before=before
    )
    recorded = apply_effect(effect, trigger, clean)
    _record(session, hazard, trigger, before, caller, now, recorded)
    metrics.record_transition(session, trigger, caller.role)
    if trigger == "record_penalty":
        _closure_rule(session=session, ctx=ctx, hazard=hazard, now=now)


def _record(
    session: Session,
    hazard: Hazard,
    trigger: str,
    before: dict[str, str] | None,
    caller: Caller,
    now: datetime,
    payload: dict[str, Any],
) -> None:
    # The event and its outbox entries commit together, or neither does.
    event = audit.append_event(
        session=session,
        hazard=hazard,
        trigger=trigger,
        from_state=before,
        actor=caller.actor,
        role=caller.role,
        at=now,
        payload=payload,
    )
    notifications.enqueue(session=session, event=event, hazard=hazard)


def _closure_rule(*, session: Session, ctx: Context, hazard: Hazard, now: datetime) -> None:
    # 安全生产法第一百一十三条: flag the enterprise once, with an event on this hazard.
    session.flush()
    enterprise = session.get(Enterprise, hazard.enterprise_id)
    if enterprise and enterprises.closure_due(
        session=session, enterprise=enterprise, rule=ctx.policy.closure_rule, now=now
    ):
        enterprise.closure_recommended = True
        session.add(enterprise)
        counts = {
            f"penalties_within_{w.days}_days": enterprises.penalties_since(
                session=session, enterprise_id=enterprise.id, since=now - w
            )
            for _, w in ctx.policy.closure_rule.windows
        }
        apply_system(
            session=session,
            ctx=ctx,
            hazard=hazard,
            trigger="closure_recommended",
            payload={
                "enterprise_id": enterprise.id,
                "legal_basis": "安全生产法第一百一十三条",
                **counts,
            },
        )


def _facts(hazard: Hazard, now: datetime) -> Facts:
    missing = payloads.plan_missing(hazard.plan, hazard.grade) if hazard.plan else ()
    return Facts(
        now=now,
        deadline=hazard.deadline,
        pending_extension=hazard.pending_extension is not None,
        penalty_count=hazard.penalty_count,
        violation=hazard.violation,
        plan_missing=tuple(missing),
    )


def _evidence(session: Session, hazard_id: int) -> frozenset[str]:
    stmt = select(Evidence.sha256).where(Evidence.hazard_id == hazard_id)
    return frozenset(session.exec(stmt))


def _fireable(definition: Definition) -> list[str]:
    return [n for n, t in definition.triggers.items() if not t.creates]


def _request_hash(
    hazard_id: int, trigger: str, payload: dict[str, Any], if_match: int | None
) -> str:
    doc = {"hazard_id": hazard_id, "trigger": trigger, "payload": payload, "if_match": if_match}
    return hashlib.sha256(canonical_json(jsonable_encoder(doc)).encode()).hexdigest()


def _lock_key(session: Session, caller: Caller, key: str) -> None:
    # Two requests with one key on two hazards lock different rows and would both miss the
    # record; this lock makes the second wait and find it (SQLite's BEGIN IMMEDIATE already
    # serialises writers). Held until commit.
    digest = hashlib.sha256(f"{caller.principal_id}\x00{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    session.exec(text("SELECT pg_advisory_xact_lock(:id)").bindparams(id=lock_id))  # type: ignore[call-overload]


def _earlier_response(
    session: Session, caller: Caller, key: str, request_hash: str
) -> dict[str, Any] | None:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.principal_id == caller.principal_id, IdempotencyRecord.key == key
    )
    record = session.exec(stmt).first()
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used for a different request; "
            "use a new key for a new request"
        )
    return record.body


def overdue_seconds(hazard: Hazard, now: datetime) -> int | None:
    """How long past its deadline an open hazard is (None when not overdue)."""
    if hazard.state in OPEN_STATES and hazard.deadline and now > hazard.deadline:
        return int((now - hazard.deadline).total_seconds())
    return None


def summary(hazard: Hazard, now: datetime) -> dict[str, Any]:
    """The list view of a hazard, JSON-ready."""
    late = overdue_seconds(hazard, now)
    return {
        **hazard.model_dump(mode="json", exclude={"plan", "pending_extension", "head_hash"}),
        "overdue": late is not None,
        "overdue_seconds": late,
    }


_penalties, _evidence_t = Penalty.__table__, Evidence.__table__  # type: ignore[attr-defined]
# Core statements, built once: the view runs on every read and transition, and an ORM query
# costs several times its SQL here.
_PENALTIES = (
    sa_select(*(c for c in _penalties.c if c.name not in ("hazard_id", "enterprise_id")))
    .where(_penalties.c.hazard_id == bindparam("hid"))
    .order_by(_penalties.c.id)
)
_EVIDENCE = (
    sa_select(
        _evidence_t.c.sha256, _evidence_t.c.size, _evidence_t.c.content_type, _evidence_t.c.filename
    )
    .where(_evidence_t.c.hazard_id == bindparam("hid"))
    .order_by(_evidence_t.c.at)
)


def view(*, ctx: Context, session: Session, caller: Caller, hazard: Hazard) -> dict[str, Any]:
    """The whole hazard as the caller sees it, JSON-ready."""
    now = ctx.now()
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    rows = partial(read_rows, session, hid=hazard.id)
    return {
        **summary(hazard, now),
        "state_label": definition.label_of("state", hazard.state),
        "labels": {f: definition.label_of(f, s) for f, s in hazard.workflow_state.items()},
        "workflow": {"name": definition.name, "version": definition.version},
        "plan": hazard.plan,
        "pending_extension": hazard.pending_extension,
        "penalties": rows(_PENALTIES),
        "pending_timers": timers.pending(session=session, hazard_id=hazard.id),
        "evidence": rows(_EVIDENCE),
        "allowed_triggers": allowed_triggers(
            definition, hazard.workflow_state, _facts(hazard, now), caller.role
        ),
    }
