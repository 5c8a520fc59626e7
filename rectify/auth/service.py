"""Principals: tokens created by the CLI (stored as SHA-256 hashes), resolved to a Caller on every
request from the database (so a revoke or an expiry holds at once in every process), listed and
revoked by an admin; `last_used_at` written at most once a minute per principal."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, bindparam, delete, func, or_, update
from sqlmodel import Session, col, select

from rectify.auth.models import ROLE_LABELS, ROLES, LoginSession, Principal, PrincipalPublic
from rectify.auth.scope import Caller
from rectify.database.core import utcnow
from rectify.enterprises.codes import check_region_code
from rectify.enterprises.models import Enterprise
from rectify.exceptions import Conflict, InvalidInput, NotFound, Unauthenticated

__all__ = [
    "TOKEN_PREFIX",
    "TOUCH_EVERY",
    "Resolved",
    "authenticate",
    "caller_of",
    "check_principal",
    "clean_certificate",
    "create_token",
    "due_for_touch",
    "end_sessions",
    "hash_token",
    "invalid_field",
    "list_principals",
    "parse_expires",
    "principal_query",
    "resolve_token",
    "revoke",
    "to_public",
    "touch",
]

log = logging.getLogger(__name__)

TOKEN_PREFIX = "rt_"
TOUCH_EVERY = timedelta(seconds=60)
"""`last_used_at` is written at most this often per principal (one UPDATE a minute, not one a
request)."""


def hash_token(token: str) -> str:
    """What the database keeps of a token (or a session cookie)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_expires(value: str) -> timedelta:
    """An ISO 8601 duration such as P30D or PT12H (P1Y counts 365 days, P1M 30)."""
    text = value.strip().upper()
    try:
        if not text.startswith("P"):
            raise ValueError
        duration = TypeAdapter(timedelta).validate_strings(text)
    except (ValueError, ValidationError):
        raise InvalidInput.fields(
            [
                {
                    "field": "expires",
                    "message": f"{value!r} is not an ISO 8601 duration (P30D, PT12H)",
                }
            ]
        ) from None
    if duration <= timedelta(0):
        raise InvalidInput.fields([{"field": "expires", "message": "must be a positive duration"}])
    return duration


def create_token(
    *,
    session: Session,
    role: str,
    name: str,
    region_code: str | None = None,
    enterprise_id: int | None = None,
    certificate_no: str | None = None,
    expires_in: timedelta | None = None,
    now: datetime | None = None,
) -> tuple[Principal, str]:
    """Create a token principal and return it with its token (shown once, never stored)."""
    now = now or utcnow()
    name = name.strip()
    if not name:
        raise invalid_field("name", "名称不能为空")
    check_principal(session, role, region_code, enterprise_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    principal = Principal(
        kind="token",
        name=name,
        display_name=name,
        role=role,
        region_code=region_code,
        enterprise_id=enterprise_id,
        certificate_no=clean_certificate(certificate_no),
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(principal)
    session.flush()
    log.info("token created", extra={"principal_id": principal.id, "role": role})
    return principal, token


def check_principal(
    session: Session, role: str, region_code: str | None, enterprise_id: int | None
) -> None:
    """The role and scope rules every principal meets (InvalidInput naming the field)."""
    if role not in ROLES:
        raise invalid_field("role", f"角色必须是 {', '.join(ROLES)} 之一")
    if role in ("dispatcher", "inspector") and not region_code:
        raise invalid_field(
            "region", f"{ROLE_LABELS[role]}必须有所在单位的 6 位行政区划代码（--region）"
        )
    if region_code:
        try:
            check_region_code(region_code)
        except ValueError:
            raise invalid_field("region", "行政区划代码必须是 6 位数字，例如 420102") from None
    if role == "enterprise":
        if enterprise_id is None or session.get(Enterprise, enterprise_id) is None:
            raise invalid_field(
                "enterprise_id", "企业用户必须指定一个已登记企业的编号（--enterprise-id）"
            )
    elif enterprise_id is not None:
        raise invalid_field("enterprise_id", "只有企业用户才指定企业编号（--enterprise-id）")


def invalid_field(field: str, message: str) -> InvalidInput:
    """A 422 naming one field."""
    return InvalidInput(f"{field}: {message}", errors=[{"field": field, "message": message}])


def clean_certificate(value: str | None) -> str | None:
    """A 执法证号 trimmed (None when blank), at most 64 characters."""
    value = (value or "").strip()
    if len(value) > 64:
        raise invalid_field("certificate_no", "执法证号最多 64 个字符")
    return value or None


# -- resolving a token to a caller --------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """A caller and when its principal was last used (to decide whether to touch it)."""

    caller: Caller
    last_used_at: datetime | None


_COLUMNS = (
    Principal.id,
    Principal.kind,
    Principal.role,
    Principal.name,
    Principal.display_name,
    Principal.region_code,
    Principal.enterprise_id,
    Principal.expires_at,
    Principal.revoked_at,
    Principal.last_used_at,
    col(Enterprise.region_code).label("enterprise_region"),
)


def principal_query() -> Any:
    """A principal with its enterprise's region (an enterprise's scope follows its region)."""
    return select(*_COLUMNS).outerjoin(Enterprise, Enterprise.id == Principal.enterprise_id)


def caller_of(row: Any) -> Caller:
    """The Caller of a `principal_query` row."""
    region = row.enterprise_region if row.role == "enterprise" else row.region_code
    return Caller(
        role=row.role,
        name=row.name,
        principal_id=row.id,
        region_code=region,
        enterprise_id=row.enterprise_id,
        display_name=row.display_name,
    )


def resolve_token(*, session: Session | Connection, token: str | None, now: datetime) -> Resolved:
    """The caller a bearer token belongs to, or Unauthenticated (unknown, revoked, expired)."""
    if not token:
        raise Unauthenticated("send Authorization: Bearer <token> (see `rectify token create`)")
    # Core on the connection, the statement built once: this runs on every API request.
    connection = session.connection() if isinstance(session, Session) else session
    row = connection.execute(_BY_TOKEN, {"token_hash": hash_token(token)}).first()
    if row is None or row.kind != "token":
        raise Unauthenticated(
            "unknown token; ask an administrator for one (`rectify token create`)"
        )
    if row.revoked_at is not None:
        raise Unauthenticated("this token has been revoked; ask an administrator for a new one")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated(
            f"this token expired at {row.expires_at.isoformat()}; ask an administrator for another"
        )
    return Resolved(caller_of(row), row.last_used_at)


_BY_TOKEN = principal_query().where(Principal.token_hash == bindparam("token_hash"))  # type: ignore[arg-type]


def authenticate(*, session: Session, token: str | None, now: datetime | None = None) -> Caller:
    """The caller a bearer token belongs to, or Unauthenticated."""
    return resolve_token(session=session, token=token, now=now or utcnow()).caller


def due_for_touch(last_used_at: datetime | None, now: datetime) -> bool:
    """True when `last_used_at` is older than a minute (or never set)."""
    return last_used_at is None or last_used_at < now - TOUCH_EVERY


def touch(*, session: Session, principal_id: int, now: datetime) -> bool:
    """Record a use: one conditional UPDATE, a no-op when another request did it this minute."""
    stmt = (
        update(Principal)
        .where(
            col(Principal.id) == principal_id,
            or_(
                col(Principal.last_used_at).is_(None),
                col(Principal.last_used_at) < now - TOUCH_EVERY,
            ),
        )
        .values(last_used_at=now)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


# -- listing and revoking ---------------------------------------------------------------------


def active(principal: Principal, now: datetime) -> bool:
    """Not revoked and not expired."""
    expired = principal.expires_at is not None and principal.expires_at <= now
    return principal.revoked_at is None and not expired


def to_public(principal: Principal, *, now: datetime) -> PrincipalPublic:
    """The admin's view of a principal: never a hash."""
    data = principal.model_dump(exclude={"token_hash", "password_hash"})
    return PrincipalPublic(**data, active=active(principal, now))


def list_principals(
    *, session: Session, limit: int, offset: int, kind: str | None = None
) -> tuple[list[Principal], int]:
    """Every principal (tokens and people), oldest first, with the total count."""
    where = [col(Principal.kind) == kind] if kind else []
    total = session.exec(select(func.count()).select_from(Principal).where(*where)).one()
    rows = session.exec(
        select(Principal).where(*where).order_by(col(Principal.id)).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def revoke(
    *, session: Session, principal_id: int, now: datetime, by: Caller | None = None
) -> Principal:
    """Revoke a token or disable a person (their sessions end); NotFound for unknown ids."""
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise NotFound(f"no principal {principal_id}")
    if by is not None and by.principal_id == principal_id:
        raise Conflict("不能撤销或停用自己的账户，请由另一位管理员操作")
    if principal.revoked_at is None:
        principal.revoked_at = now
        session.add(principal)
    end_sessions(session=session, principal_id=principal_id)
    log.info(
        "principal revoked",
        extra={"principal_id": principal_id, "kind": principal.kind, "by": by and by.actor_id},
    )
    return principal


def end_sessions(*, session: Session, principal_id: int) -> None:
    """Sign a person out everywhere (their sessions are deleted)."""
    session.execute(delete(LoginSession).where(col(LoginSession.principal_id) == principal_id))
