"""Principals (API tokens for machines, accounts for people) and the sign-in sessions of people.

Secrets are kept only as hashes: a token as its SHA-256, a password as an argon2id hash, a
session as the SHA-256 of its cookie value.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime, utcnow

ROLES = ("dispatcher", "inspector", "enterprise", "auditor", "admin")

ROLE_LABELS = {
    "dispatcher": "督办人员",
    "inspector": "执法人员",
    "enterprise": "企业用户",
    "auditor": "审计监督人员",
    "admin": "系统管理员",
    "system": "系统",
}
"""How a page names each role."""


class Principal(SQLModel, table=True):
    """One actor: a bearer token (kind `token`) or a person who signs in (kind `user`)."""

    __tablename__ = "principals"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="token", max_length=10)
    name: str  # the `role:name` actor of the history (a person's display name)
    display_name: str
    role: str = Field(index=True)
    region_code: str | None = None
    enterprise_id: int | None = Field(default=None, foreign_key="enterprises.id")
    certificate_no: str | None = Field(default=None, max_length=64)  # 执法证号
    token_hash: str | None = Field(default=None, unique=True, index=True)
    username: str | None = Field(default=None, unique=True, index=True, max_length=64)
    password_hash: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_logins: int = 0
    last_failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def actor(self) -> str:
        """How the history names this principal: `role:name`."""
        return f"{self.role}:{self.name}"


class LoginSession(SQLModel, table=True):
    """A person's signed-in browser: the cookie's hash, and when it was last seen (idle)."""

    __tablename__ = "login_sessions"

    id: int | None = Field(default=None, primary_key=True)
    principal_id: int = Field(foreign_key="principals.id", index=True)
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PrincipalPublic(BaseModel):
    """A principal as the admin API shows it: never a hash."""

    id: int
    kind: str
    role: str
    name: str
    display_name: str
    username: str | None
    region_code: str | None
    enterprise_id: int | None
    certificate_no: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    locked_until: datetime | None
    active: bool
