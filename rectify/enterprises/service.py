"""Use cases for enterprises: register, read in scope, count penalties, the closure rule."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from rectify.auth.scope import Caller
from rectify.database.uow import UnitOfWork
from rectify.enterprises.models import (
    Enterprise,
    EnterpriseCreate,
    EnterprisePublic,
    PenaltyCounts,
    PenaltyWindow,
)
from rectify.exceptions import Conflict, Forbidden, NotFound
from rectify.hazards.models import Hazard, Penalty
from rectify.timers.policy import CHINA_TZ, ClosureRule, Policy


def create(*, session: Session, caller: Caller, data: EnterpriseCreate) -> Enterprise:
    """Register an enterprise inside the caller's region."""
    if not caller.sees(region_code=data.region_code, enterprise_id=-1):
        raise Forbidden(
            f"region_code {data.region_code} is outside your region {caller.region_code}"
        )
    enterprise = Enterprise.model_validate(data)
    session.add(enterprise)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            f"an enterprise with credit_code {data.credit_code} is already registered"
        ) from None
    return enterprise


def get(*, session: Session, caller: Caller, enterprise_id: int) -> Enterprise:
    """The enterprise, or NotFound when it does not exist for this caller."""
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None or not caller.sees(
        region_code=enterprise.region_code, enterprise_id=enterprise.id
    ):
        raise NotFound(f"no enterprise {enterprise_id}")
    return enterprise


def list_(*, session: Session, caller: Caller, limit: int, offset: int) -> list[Enterprise]:
    """Enterprises in scope, by id."""
    stmt = select(Enterprise).order_by(col(Enterprise.id)).limit(limit).offset(offset)
    where = caller.scope_filter(Enterprise)
    if where is not None:
        stmt = stmt.where(where)
    return list(session.exec(stmt))


def to_public(
    *, connection: Connection, enterprise: Enterprise, policy: Policy, now: datetime
) -> EnterprisePublic:
    """The enterprise with its penalty counts in the windows of the closure rule that applies
    to it (its region and industry: the policy's overrides)."""
    rule = policy.for_(enterprise.region_code, enterprise.industry).closure_rule
    windows = penalty_windows(
        connection=connection, enterprise_id=enterprise.id, rule=rule, now=now
    )
    total = connection.execute(_TOTAL, {"eid": enterprise.id}).scalar_one()
    counts = PenaltyCounts(total=total, counted_laws=rule.laws, windows=windows)
    return EnterprisePublic.model_validate(enterprise, update={"penalty_counts": counts})


_enterprises = Enterprise.__table__  # type: ignore[attr-defined]
_hazards = Hazard.__table__  # type: ignore[attr-defined]
_penalties = Penalty.__table__  # type: ignore[attr-defined]
_FLAGGED = select(_enterprises.c.closure_recommended).where(_enterprises.c.id == bindparam("eid"))
_OPEN_MAJOR = (
    select(_hazards.c.id)
    .where(
        _hazards.c.enterprise_id == bindparam("eid"),
        _hazards.c.grade == "major",
        _hazards.c.state.not_in(["closed", "dismissed"]),
    )
    .limit(1)
)
_TOTAL = (
    select(func.count())
    .select_from(_penalties)
    .where(_penalties.c.enterprise_id == bindparam("eid"))
)


def penalty_windows(
    *, connection: Connection, enterprise_id: int, rule: ClosureRule, now: datetime
) -> list[PenaltyWindow]:
    """安全生产法第一百一十三条: for each window of the closure rule, the enterprise's penalties
    decided within it (by `decided_on`, in China dates, today included) under the laws the rule
    counts (a legal basis citing one of them)."""
    today = now.astimezone(CHINA_TZ).date()
    cites = or_(*(_penalties.c.legal_basis.contains(law) for law in rule.laws))
    out = []
    for threshold, window in rule.windows:
        since = today - timedelta(days=window.days)
        stmt = (
            select(func.count())
            .select_from(_penalties)
            .where(_penalties.c.enterprise_id == enterprise_id, cites)
            .where(_penalties.c.decided_on > since, _penalties.c.decided_on <= today)
        )
        count = connection.execute(stmt).scalar_one()
        out.append(PenaltyWindow(days=window.days, threshold=threshold, count=count))
    return out


def closure_due(
    *, uow: UnitOfWork, enterprise_id: int, rule: ClosureRule, now: datetime
) -> dict[str, int] | None:
    """安全生产法第一百一十三条: an enterprise not yet flagged, with an open major hazard and 3
    penalties in 180 days or 4 in a year (the policy's windows). The counts per window when
    the rule holds, else None."""
    if uow.execute(_FLAGGED, {"eid": enterprise_id}).scalar_one():
        return None
    if uow.execute(_OPEN_MAJOR, {"eid": enterprise_id}).first() is None:
        return None
    uow.flush()  # the penalty just recorded counts
    windows = penalty_windows(
        connection=uow.connection, enterprise_id=enterprise_id, rule=rule, now=now
    )
    if not any(w.count >= w.threshold for w in windows):
        return None
    return {f"penalties_within_{w.days}_days": w.count for w in windows}


def flag_closure(*, uow: UnitOfWork, enterprise_id: int) -> bool:
    """Flag the enterprise closure_recommended; True when this flagged it (it stays flagged)."""
    result = uow.execute(
        update(_enterprises)
        .where(_enterprises.c.id == enterprise_id, _enterprises.c.closure_recommended.is_(False))
        .values(closure_recommended=True)
    )
    return result.rowcount == 1
