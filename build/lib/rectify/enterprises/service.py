"""Use cases for enterprises: register, read in scope, count penalties, the closure rule."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from rectify.auth.scope import Caller
from rectify.enterprises.models import Enterprise, EnterpriseCreate, EnterprisePublic, PenaltyCounts
from rectify.exceptions import Conflict, Forbidden, NotFound
from rectify.hazards.models import Hazard, Penalty
from rectify.timers.policy import ClosureRule


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


def penalties_since(*, session: Session, enterprise_id: int, since: datetime | None) -> int:
    """How many penalties the enterprise has had since a time (ever, with None)."""
    stmt = select(func.count()).select_from(Penalty).where(Penalty.enterprise_id == enterprise_id)
    if since is not None:
        stmt = stmt.where(col(Penalty.at) > since)
    return session.exec(stmt).one()


def to_public(*, session: Session, enterprise: Enterprise, now: datetime) -> EnterprisePublic:
    """The enterprise with its penalty counts."""

    def count(days: int | None) -> int:
        since = now - timedelta(days=days) if days else None
        return penalties_since(session=session, enterprise_id=enterprise.id, since=since)

    counts = PenaltyCounts(total=count(None), last_180_days=count(180), last_365_days=count(365))
    return EnterprisePublic.model_validate(enterprise, update={"penalty_counts": counts})


def closure_due(
    *, session: Session, enterprise: Enterprise, rule: ClosureRule, now: datetime
) -> bool:
    """安全生产法第一百一十三条: a major hazard and 3 penalties in 180 days or 4 in a year."""
    if enterprise.closure_recommended:
        return False
    open_major = (
        select(func.count())
        .select_from(Hazard)
        .where(
            Hazard.enterprise_id == enterprise.id,
            Hazard.grade == "major",
            col(Hazard.state).not_in(["closed", "dismissed"]),
        )
    )
    if session.exec(open_major).one() == 0:
        return False
    return any(
        penalties_since(session=session, enterprise_id=enterprise.id, since=now - window) >= n
        for n, window in rule.windows
    )
