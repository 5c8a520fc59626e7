"""Tokens: created by the CLI, stored only as SHA-256 hashes, resolved to a Caller."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from rectify.auth.models import ROLES, Principal
from rectify.auth.scope import Caller
from rectify.enterprises.codes import check_region_code
from rectify.enterprises.models import Enterprise
from rectify.exceptions import InvalidInput, Unauthenticated

TOKEN_PREFIX = "rt_"


def hash_token(token: str) -> str:
    """What the database keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    *,
    session: Session,
    role: str,
    name: str,
    region_code: str | None = None,
    enterprise_id: int | None = None,
) -> tuple[Principal, str]:
    """Create a principal and return it with its token (shown once, never stored)."""
    _check_principal(session, role, region_code, enterprise_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    principal = Principal(
        name=name,
        role=role,
        region_code=region_code,
        enterprise_id=enterprise_id,
        token_hash=hash_token(token),
    )
    session.add(principal)
    session.flush()
    return principal, token


def _check_principal(
    session: Session, role: str, region_code: str | None, enterprise_id: int | None
) -> None:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if role in ("dispatcher", "inspector") and not region_code:
        raise InvalidInput(f"a {role} needs --region (the 6-digit code of their office)")
    if region_code:
        try:
            check_region_code(region_code)
        except ValueError as exc:
            raise InvalidInput(f"--region {exc}") from None
    if role == "enterprise":
        if enterprise_id is None or session.get(Enterprise, enterprise_id) is None:
            raise InvalidInput("an enterprise principal needs --enterprise-id of a registered one")
    elif enterprise_id is not None:
        raise InvalidInput("--enterprise-id is only for the enterprise role")


def authenticate(*, session: Session, token: str | None) -> Caller:
    """The caller a bearer token belongs to, or Unauthenticated."""
    if not token:
        raise Unauthenticated("send Authorization: Bearer <token> (see `rectify token create`)")
    stmt = select(Principal).where(Principal.token_hash == hash_token(token))
    principal = session.exec(stmt).first()
    if principal is None or principal.revoked:
        raise Unauthenticated("unknown or revoked token")
    region = principal.region_code
    if principal.role == "enterprise" and principal.enterprise_id is not None:
        enterprise = session.get(Enterprise, principal.enterprise_id)
        region = enterprise.region_code if enterprise else None
    return Caller(
        role=principal.role,
        name=principal.name,
        principal_id=principal.id,
        region_code=region,
        enterprise_id=principal.enterprise_id,
    )
