"""Use cases for hazards: report, read, list, and apply a trigger; one transaction each.

`apply` is the only code that changes a hazard: the API's transitions, the console's forms, the
timer engine's events and the evidence upload all go through it, so guards, history and hash
chain are always the same. Writes run as commands of the process's group-commit writer
(`ctx.db.run`), each in the UnitOfWork of its batch.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import Connection, bindparam, func, select

from rectify.accountability.models import Accountability
from rectify.audit import service as audit
from rectify.audit.chain import GENESIS, canonical_json
from rectify.auth.scope import SYSTEM, Caller, in_region
from rectify.context import Context
from rectify.database.core import MAX_ID, read_rows
from rectify.database.uow import UnitOfWork
from rectify.documents import issue as documents
from rectify.enterprises.models import Enterprise
from rectify.evidence.models import Evidence
from rectify.exceptions import Forbidden, IdempotencyKeyReused, InvalidInput, NotFound, StaleVersion
from rectify.hazards import extensions, recurrence
from rectify.hazards import row as rows
from rectify.hazards.models import HazardCreate, IdempotencyRecord, Penalty
from rectify.hazards.row import HAZARDS, OPEN_STATES, HazardRow, overdue_seconds
from rectify.hazards.triggers import REGISTRY, Effect, Reaction, Situation, validate
from rectify.hazards.triggers.base import facts_of
from rectify.notifications import service as notifications
from rectify.observability import metrics
from rectify.timers import service as timers
from rectify.workflow import Facts, allowed_triggers, check_state, decide
from rectify.workflow.definition import Definition

__all__ = [
    "Filters",
    "apply",
    "apply_system",
    "get",
    "get_in_scope",
    "list_",
    "overdue_seconds",
    "report",
    "report_in",
    "submit_transition",
    "summary",
    "transition",
    "view",
]

WORKFLOW = "hazard"
RECORDS = {
    "penalties": Penalty.__table__,  # type: ignore[attr-defined]
    "evidence": Evidence.__table__,  # type: ignore[attr-defined]
    "accountability": Accountability.__table__,  # type: ignore[attr-defined]
}
"""The tables a trigger's effect may add rows to (Effect.record) or change (Effect.change)."""


# -- reporting -----------------------------------------------------------------------------
def report(*, ctx: Context, caller: Caller, data: HazardCreate) -> dict[str, Any]:
    """Register a hazard (state `reported`) under the newest workflow version."""

    def command(uow: UnitOfWork) -> dict[str, Any]:
        hazard = report_in(uow=uow, ctx=ctx, caller=caller, data=data)
        return view(ctx=ctx, connection=_flushed(uow), caller=caller, hazard=hazard)

    return ctx.db.run(command)


def report_in(
    *,
    uow: UnitOfWork,
    ctx: Context,
    caller: Caller,
    data: HazardCreate,
    discovered_at: datetime | None = None,
    save: bool = True,
) -> HazardRow:
    """Register a hazard inside the caller's transaction (the API, bulk loads, imports);
    `discovered_at` is when it was found, if not now (an imported ledger row's date). With
    `save=False` the row's new head is written by the caller's next `apply` on it (an import
    reports and assigns each row: one UPDATE instead of two)."""
    now = ctx.now()
    definition = ctx.registry.latest(WORKFLOW)
    enterprise = uow.execute(_ENTERPRISE, {"eid": data.enterprise_id}).first()
    if enterprise is None or not caller.sees(
        region_code=enterprise.region_code, enterprise_id=enterprise.id
    ):
        raise InvalidInput.fields(
            [{"field": "enterprise_id", "message": "no such enterprise in your scope"}]
        )
    if caller.role not in definition.triggers["report"].roles:
        raise Forbidden(f"a {caller.role} may not report hazards")
    recorded = jsonable_encoder(data)
    if discovered_at is not None:  # a ledger's row: said in the history (additive)
        recorded |= {"discovered_at": discovered_at.isoformat(), "imported": True}
    original = recurrence.find_original(
        uow=uow,
        enterprise_id=data.enterprise_id,
        title=data.title,
        location=data.location,
        now=now,
        window_days=ctx.settings.recurrence_window_days,
        threshold=ctx.settings.recurrence_title_similarity,
    )
    if original is not None:
        recorded["recurrence_of"] = original  # a repeat hazard (重复隐患), in the history too
    hazard = HazardRow(
        rows.DEFAULTS
        | _NEW_HAZARD
        | definition.initial_state()
        | {"region_code": enterprise.region_code, "workflow_name": definition.name}
        | {"workflow_version": definition.version, "reported_by": caller.actor}
        | {"created_at": now, "updated_at": now, "discovered_at": discovered_at or now}
    )
    REGISTRY["report"].effect(_effect(ctx, caller, hazard, now), recorded)
    hazard = rows.insert(uow, {k: v for k, v in hazard.values.items() if k != "id"})
    _record(uow, hazard, "report", None, caller, now, recorded)
    if save:
        rows.save(uow, hazard)
    return hazard


_ENTERPRISE = select(Enterprise.__table__.c.id, Enterprise.__table__.c.region_code).where(  # type: ignore[attr-defined]
    Enterprise.__table__.c.id == bindparam("eid")  # type: ignore[attr-defined]
)
_NEW_HAZARD = {"version": 0, "head_hash": GENESIS, "verify_failures": 0, "penalty_count": 0}


# -- reading -------------------------------------------------------------------------------
def get(*, connection: Connection, caller: Caller, hazard_id: int) -> HazardRow:
    """The hazard, or NotFound when it does not exist for this caller."""
    found = connection.execute(select(HAZARDS).where(HAZARDS.c.id == hazard_id)).mappings().first()
    hazard = None if found is None else HazardRow(dict(found))
    return get_in_scope(caller=caller, hazard_id=hazard_id, hazard=hazard)


def get_in_scope(*, caller: Caller, hazard_id: int, hazard: HazardRow | None) -> HazardRow:
    """The hazard, or NotFound when it does not exist or is outside the caller's scope."""
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
    *,
    connection: Connection,
    caller: Caller,
    filters: Filters,
    now: datetime,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Hazards in scope matching the filters, by id, as list rows, with the total count."""
    c = HAZARDS.c
    where = [caller.scope_filter(HAZARDS)]
    for name in ("state", "supervision", "production", "judicial", "grade", "source"):
        value = getattr(filters, name)
        if value is not None:
            where.append(c[name] == value)
    if filters.enterprise_id is not None:
        where.append(c.enterprise_id == filters.enterprise_id)
    if filters.region:
        where.append(in_region(c.region_code, filters.region))
    if filters.overdue is not None:
        overdue = c.state.in_(OPEN_STATES) & (c.deadline < now)
        where.append(overdue if filters.overdue else ~overdue)
    where = [w for w in where if w is not None]
    total = connection.execute(select(func.count()).select_from(HAZARDS).where(*where)).scalar_one()
    stmt = select(HAZARDS).where(*where).order_by(c.id).limit(limit).offset(offset)
    return [summary(dict(r), now) for r in connection.execute(stmt).mappings()], total


# -- changing ------------------------------------------------------------------------------
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
    """Apply one trigger and return the hazard as the caller sees it, once it is durable."""
    command = partial(
        _transition,
        ctx=ctx,
        caller=caller,
        hazard_id=hazard_id,
        trigger=trigger,
        payload=payload,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )
    return ctx.db.run(command)  # on this thread when the writer is idle


def submit_transition(
    *,
    ctx: Context,
    caller: Caller,
    hazard_id: int,
    trigger: str,
    payload: dict[str, Any],
    if_match: int | None = None,
    idempotency_key: str | None = None,
) -> Future[dict[str, Any]]:
    """`transition` handed to the writer: a future of the hazard (for async views)."""
    command = partial(
        _transition,
        ctx=ctx,
        caller=caller,
        hazard_id=hazard_id,
        trigger=trigger,
        payload=payload,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )
    command.locks = ((HAZARDS, hazard_id),)  # type: ignore[attr-defined]  # see Dialect.lock_declared
    return ctx.db.writer.submit(command)


def _transition(
    uow: UnitOfWork,
    *,
    ctx: Context,
    caller: Caller,
    hazard_id: int,
    trigger: str,
    payload: dict[str, Any],
    if_match: int | None,
    idempotency_key: str | None,
) -> dict[str, Any]:
    request_hash = ""
    if idempotency_key:
        request_hash = _request_hash(hazard_id, trigger, payload, if_match)
        # Two requests with one key on two hazards lock different rows and would both miss the
        # record; this lock makes the second wait and find it. Held until commit.
        uow.dialect.advisory_lock(uow.connection, f"{caller.principal_id}\x00{idempotency_key}")
    hazard = rows.load(uow, hazard_id, lock=True)
    hazard = get_in_scope(caller=caller, hazard_id=hazard_id, hazard=hazard)
    if idempotency_key:
        earlier = _earlier_response(uow, caller, idempotency_key, request_hash)
        if earlier is not None:
            return earlier
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    spec = definition.triggers.get(trigger)
    if spec is not None and spec.internal:
        raise _unknown_trigger(definition, trigger)  # recorded by its own use case only
    apply(
        uow=uow,
        ctx=ctx,
        caller=caller,
        hazard=hazard,
        trigger=trigger,
        payload=payload,
        if_match=if_match,
    )
    body = view(ctx=ctx, connection=_flushed(uow), caller=caller, hazard=hazard)
    if idempotency_key:
        uow.add(
            IdempotencyRecord.__table__,  # type: ignore[arg-type]
            {"principal_id": caller.principal_id, "key": idempotency_key}
            | {"request_hash": request_hash, "hazard_id": hazard_id, "status_code": 200}
            | {"body": body, "created_at": ctx.now()},
        )
    return body


def apply_system(
    *, uow: UnitOfWork, ctx: Context, hazard: HazardRow, trigger: str, payload: dict[str, Any]
) -> None:
    """Apply a trigger as `system:scheduler` inside the caller's transaction (timer engine)."""
    apply(uow=uow, ctx=ctx, caller=SYSTEM, hazard=hazard, trigger=trigger, payload=payload)


def apply(
    *,
    uow: UnitOfWork,
    ctx: Context,
    caller: Caller,
    hazard: HazardRow,
    trigger: str,
    payload: dict[str, Any],
    if_match: int | None = None,
    imported: bool = False,
) -> None:
    """Apply one trigger to a locked hazard inside the caller's transaction: the only code
    that changes a hazard. Everything is checked before anything changes, so a refusal leaves
    the transaction as it was. `imported`: from a ledger's row, whose deadline may have passed
    (the event says so)."""
    now = ctx.now()
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    spec = definition.triggers.get(trigger)
    if spec is None or spec.creates:
        raise _unknown_trigger(definition, trigger)
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
    facts = _facts(ctx, hazard, now)
    check_state(definition, trigger, before, facts, caller.role)
    model = REGISTRY[trigger]
    evidence = _evidence(uow, hazard.id) if model.cites_evidence else frozenset()
    cited = _cited(uow, caller, payload.get(model.cites_hazard) if model.cites_hazard else None)
    horizon = timedelta(days=ctx.settings.deadline_horizon_days)
    situation = Situation(hazard, caller, now, evidence, horizon, cited, imported)
    clean = validate(model, payload, situation)
    after = decide(definition, trigger, before, facts, clean, role=caller.role)
    # The document the step issues (执法文书), if any: its officers are checked here (reads).
    # An imported ledger's hazard had its orders issued on paper already: none is issued again.
    issuing = (
        None
        if imported
        else documents.prepare(
            uow=uow, ctx=ctx, caller=caller, hazard=hazard, trigger=trigger, payload=clean
        )
    )
    # Checked: from here on the trigger applies.
    hazard.set(**{f: s for f, s in after.items() if before[f] != s})
    _stamp_times(hazard, before["state"], now)
    effect = _effect(ctx, caller, hazard, now)
    if issuing is not None:
        effect.document_no = issuing.allocate(uow)  # the number, in this transaction
    recorded = model.effect(effect, clean)
    if effect.scheduled and effect.policy.applied:  # absent: the general policy applied
        recorded = {**recorded, "policy_rule": effect.policy.rule_name}
    if issuing is not None:
        recorded = issuing.stamp(recorded)  # the event says which document it issued
    if imported:
        recorded = {**recorded, "imported": True}
    _persist(uow, hazard, effect, now)
    _record(uow, hazard, trigger, before, caller, now, recorded)
    rows.save(uow, hazard)
    if issuing is not None:
        issuing.queue(uow, hazard, hazard.version, effect.timers)  # rendered after commit
    metrics.record_transition(uow, trigger, caller.role)
    fire = partial(_fire_system, uow, ctx, hazard)
    model.react(Reaction(uow=uow, ctx=ctx, hazard=hazard, now=now, fire_system=fire))


_FINAL = ("closed", "dismissed")


def _stamp_times(hazard: HazardRow, was: str, now: datetime) -> None:
    """When the enterprise said it was rectified, and when the hazard ended (statistics):
    kept from the move of the main state, whichever trigger made it."""
    state = hazard.state
    if state == was:
        return
    if state == "awaiting_verification":  # confirm_rectified, on either path
        hazard.set(rectified_at=now)
    if state in _FINAL:
        hazard.set(closed_at=now)
    if state == "closed" and hazard.discovered_at is not None:
        seconds = max(0, int((now - hazard.discovered_at).total_seconds()))
        hazard.set(seconds_to_close=seconds, tenths_to_close=seconds // 8640)


def _fire_system(
    uow: UnitOfWork, ctx: Context, hazard: HazardRow, trigger: str, payload: dict[str, Any]
) -> None:
    apply_system(uow=uow, ctx=ctx, hazard=hazard, trigger=trigger, payload=payload)


def _effect(ctx: Context, caller: Caller, hazard: HazardRow, now: datetime) -> Effect:
    policy = ctx.policy.for_(hazard.region_code, hazard.industry)  # region/industry overrides
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    return Effect(hazard, caller.actor, caller.role, policy, now, definition)


def _persist(uow: UnitOfWork, hazard: HazardRow, effect: Effect, now: datetime) -> None:
    """Write what the effect asked for besides the hazard's columns: timers and records."""
    for op in effect.timers:
        if op[0] == "cancel":
            timers.cancel(uow=uow, hazard_id=hazard.id, now=now, kinds=op[1])
        else:
            _, kind, due_at, step = op
            timers.schedule(uow=uow, hazard_id=hazard.id, kind=kind, due_at=due_at, step=step)
    for table, row in effect.records:
        uow.add(RECORDS[table], row)
    for table, row_id, values in effect.changes:
        t = RECORDS[table]
        uow.execute(t.update().where(t.c.id == row_id, t.c.hazard_id == hazard.id).values(values))


def _record(
    uow: UnitOfWork,
    hazard: HazardRow,
    trigger: str,
    before: dict[str, str] | None,
    caller: Caller,
    now: datetime,
    payload: dict[str, Any],
) -> None:
    # The event and its outbox entries commit together, or neither does.
    event = audit.append_event(
        uow=uow,
        hazard=hazard,
        trigger=trigger,
        from_state=before,
        caller=caller,
        at=now,
        payload=payload,
    )
    notifications.enqueue(uow=uow, event=event, region_code=hazard.region_code)


def _facts(ctx: Context, hazard: HazardRow, now: datetime) -> Facts:
    return facts_of(hazard, now, ctx.policy.for_(hazard.region_code, hazard.industry))


_EVIDENCE_SHAS = select(Evidence.__table__.c.sha256).where(  # type: ignore[attr-defined]
    Evidence.__table__.c.hazard_id == bindparam("hid")  # type: ignore[attr-defined]
)


def _evidence(uow: UnitOfWork, hazard_id: int) -> frozenset[str]:
    return frozenset(uow.execute(_EVIDENCE_SHAS, {"hid": hazard_id}).scalars())


_CITED = select(HAZARDS.c.id, HAZARDS.c.enterprise_id, HAZARDS.c.region_code).where(
    HAZARDS.c.id == bindparam("hid")
)


def _cited(uow: UnitOfWork, caller: Caller, hazard_id: Any) -> dict[int, int]:
    """The hazard a payload names, if it exists in the caller's scope: {id: enterprise id}
    (anything else is for the payload's rules to refuse)."""
    if type(hazard_id) is not int or not 1 <= hazard_id <= MAX_ID:
        return {}
    found = uow.execute(_CITED, {"hid": hazard_id}).first()
    if found is None or not caller.sees(
        region_code=found.region_code, enterprise_id=found.enterprise_id
    ):
        return {}
    return {found.id: found.enterprise_id}


def _unknown_trigger(definition: Definition, trigger: str) -> InvalidInput:
    known = [n for n, t in definition.triggers.items() if not t.creates and not t.internal]
    return InvalidInput.fields(
        [{"field": "trigger", "message": f"unknown trigger {trigger}; known: {', '.join(known)}"}]
    )


def _request_hash(
    hazard_id: int, trigger: str, payload: dict[str, Any], if_match: int | None
) -> str:
    doc = {"hazard_id": hazard_id, "trigger": trigger, "payload": payload, "if_match": if_match}
    return hashlib.sha256(canonical_json(jsonable_encoder(doc)).encode()).hexdigest()


_IDEMPOTENCY = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_EARLIER = select(_IDEMPOTENCY.c.request_hash, _IDEMPOTENCY.c.body).where(
    _IDEMPOTENCY.c.principal_id == bindparam("pid"), _IDEMPOTENCY.c.key == bindparam("key")
)


def _earlier_response(
    uow: UnitOfWork, caller: Caller, key: str, request_hash: str
) -> dict[str, Any] | None:
    record = uow.execute(_EARLIER, {"pid": caller.principal_id, "key": key}).first()
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used for a different request; "
            "use a new key for a new request"
        )
    return record.body


def _flushed(uow: UnitOfWork) -> Connection:
    """The transaction's connection with every queued row sent (for the view's reads)."""
    uow.flush()
    return uow.connection


# -- the views of a hazard -----------------------------------------------------------------
_HIDDEN = ("plan", "pending_extension", "head_hash")


def summary(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The list view of a hazard (its row's values), JSON-ready."""
    late = overdue_seconds(HazardRow(values), now)
    out = {k: rows.as_json(v) for k, v in values.items() if k not in _HIDDEN}
    return out | {"overdue": late is not None, "overdue_seconds": late}


_penalties, _evidence_t = Penalty.__table__, Evidence.__table__  # type: ignore[attr-defined]
# Core statements, built once: the view runs on every read and transition.
_PENALTIES = (
    select(*(c for c in _penalties.c if c.name not in ("hazard_id", "enterprise_id")))
    .where(_penalties.c.hazard_id == bindparam("hid"))
    .order_by(_penalties.c.id)
)
_EVIDENCE = (
    select(
        _evidence_t.c.sha256, _evidence_t.c.size, _evidence_t.c.content_type, _evidence_t.c.filename
    )
    .where(_evidence_t.c.hazard_id == bindparam("hid"))
    .order_by(_evidence_t.c.at)
)


def view(
    *, ctx: Context, connection: Connection, caller: Caller, hazard: HazardRow
) -> dict[str, Any]:
    """The whole hazard as the caller sees it, JSON-ready."""
    now = ctx.now()
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    read = partial(read_rows, connection, hid=hazard.id)
    return {
        **summary(hazard.values, now),
        "state_label": definition.label_of("state", hazard.state),
        "labels": {f: definition.label_of(f, s) for f, s in hazard.workflow_state.items()},
        "workflow": {"name": definition.name, "version": definition.version},
        "plan": hazard.plan,
        "pending_extension": hazard.pending_extension,
        "extensions": extensions.for_hazard(connection, hazard.id),
        # penalty_count moves with every penalty row (record_penalty): no rows, no query.
        "penalties": read(_PENALTIES) if hazard.penalty_count else [],
        "pending_timers": timers.pending(connection=connection, hazard_id=hazard.id),
        "evidence": read(_EVIDENCE),
        "allowed_triggers": allowed_triggers(
            definition, hazard.workflow_state, _facts(ctx, hazard, now), caller.role
        ),
    }
