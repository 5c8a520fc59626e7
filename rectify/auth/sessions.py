"""Sign-in sessions of people: a random cookie value, of which the database keeps only the SHA-256;
idle expiry judged with the context clock; `last_seen_at` written at most once a minute.

The session's CSRF token is derived from the cookie value (`csrf.for_session`), so it is bound to
the session without being stored: the database alone cannot produce one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col

from rectify.auth import csrf
from rectify.auth.models import LoginSession, Principal
from rectify.auth.scope import Caller
from rectify.auth.service import caller_of, hash_token, principal_query
from rectify.config import Settings

__all__ = [
    "COOKIE",
    "TOUCH_EVERY",
    "FoundSession",
    "cookie_name",
    "csrf_token",
    "due_for_touch",
    "end",
    "idle_limit",
    "resolve",
    "start",
    "touch",
]

COOKIE = "rectify_session"
TOUCH_EVERY = timedelta(seconds=60)


def cookie_name(https: bool) -> str:
    """The session cookie's name; `__Host-` (Secure, path /, no domain) when served over https."""
    return f"__Host-{COOKIE}" if https else COOKIE


def idle_limit(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.session_idle_minutes)


def csrf_token(token: str) -> str:
    """The CSRF token of the session whose cookie value is `token`."""
    return csrf.for_session(token)


@dataclass(frozen=True)
class FoundSession:
    caller: Caller
    session_id: int
    last_seen_at: datetime


def start(*, session: Session, principal_id: int, now: datetime, idle: timedelta) -> str:
    """A new session for a person (the cookie value, returned once); idle ones are swept."""
    session.execute(delete(LoginSession).where(col(LoginSession.last_seen_at) < now - idle))
    token = secrets.token_urlsafe(32)
    row = LoginSession(principal_id=principal_id, token_hash=hash_token(token))
    row.created_at = row.last_seen_at = now
    session.add(row)
    session.flush()
    return token


def resolve(*, session: Session, token: str, now: datetime, idle: timedelta) -> FoundSession | None:
    """The person a session cookie signs in, or None (unknown, idle too long, person disabled)."""
    query = principal_query().add_columns(
        col(LoginSession.id).label("session_id"),
        col(LoginSession.last_seen_at).label("session_seen"),
    )
    row = session.exec(
        query.join(LoginSession, col(LoginSession.principal_id) == col(Principal.id)).where(
            col(LoginSession.token_hash) == hash_token(token)
        )
    ).first()
    if row is None or row.kind != "user" or row.revoked_at is not None:
        return None
    if row.session_seen <= now - idle:
        return None
    return FoundSession(caller_of(row), row.session_id, row.session_seen)


def due_for_touch(last_seen_at: datetime, now: datetime) -> bool:
    return last_seen_at < now - TOUCH_EVERY


def touch(*, session: Session, session_id: int, now: datetime) -> None:
    """Record activity: one conditional UPDATE, a no-op when done within the minute."""
    session.execute(
        update(LoginSession)
        .where(
            col(LoginSession.id) == session_id,
            col(LoginSession.last_seen_at) < now - TOUCH_EVERY,
        )
        .values(last_seen_at=now)
    )


def end(*, session: Session, token: str) -> None:
    """Sign out: the session is deleted."""
    session.execute(delete(LoginSession).where(col(LoginSession.token_hash) == hash_token(token)))
