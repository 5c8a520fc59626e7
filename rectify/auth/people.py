"""People who sign in: accounts (a username and an argon2id password hash) with the same roles and
scopes as tokens, created, disabled and reset by an admin (CLI or admin page), and sign-in with a
growing wait after repeated failures and a lock-out, each lock-out logged.

Throttling (settings `login_*`, docs/DECISIONS.md): from the `login_slowdown_after`-th
consecutive failure, the next attempt is accepted only `login_slowdown_seconds` later, doubling
with each further failure; the `login_lockout_after`-th failure locks the account for
`login_lockout_minutes`. Judged with the context clock: the server never sleeps. A refused
attempt is not counted and its password is not even checked.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from rectify.auth import passwords, sessions
from rectify.auth.models import Principal
from rectify.auth.scope import Caller
from rectify.auth.service import (
    caller_of,
    check_principal,
    clean_certificate,
    end_sessions,
    invalid_field,
    list_principals,
    principal_query,
    revoke,
)
from rectify.config import Settings
from rectify.context import Context
from rectify.exceptions import NotFound, SignInRefused

__all__ = [
    "WRONG",
    "SignedIn",
    "create_user",
    "disable_user",
    "find_user",
    "list_users",
    "normalise_username",
    "reset_password",
    "sign_in",
]

log = logging.getLogger(__name__)

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}")
WRONG = "用户名或密码不正确"
DISABLED = "该账户已停用，请联系系统管理员"


def normalise_username(value: str) -> str:
    """How a username is stored and looked up: NFKC, trimmed, lower case."""
    return unicodedata.normalize("NFKC", value).strip().lower()


def _cost(settings: Settings) -> dict[str, int]:
    return {"memory_kib": settings.argon2_memory_kib, "time_cost": settings.argon2_time_cost}


# -- accounts ---------------------------------------------------------------------------------


def create_user(
    *,
    session: Session,
    settings: Settings,
    role: str,
    username: str,
    display_name: str,
    password: str,
    region_code: str | None = None,
    enterprise_id: int | None = None,
    certificate_no: str | None = None,
    now: datetime,
) -> Principal:
    """Create a person who signs in with a username and password (InvalidInput names a field)."""
    name = normalise_username(username)
    if not USERNAME.fullmatch(name):
        raise invalid_field(
            "username", "用户名为 3 到 64 个字母、数字或 . _ @ -，以字母或数字开头（不区分大小写）"
        )
    display = " ".join(display_name.split())
    if not display or len(display) > 100:
        raise invalid_field("display_name", "姓名不能为空，最多 100 个字符")
    check_principal(session, role, region_code, enterprise_id)
    passwords.check_rule(password, username=name)
    if session.exec(select(Principal.id).where(Principal.username == name)).first():
        raise invalid_field("username", f"用户名 {name} 已被使用")
    principal = Principal(
        kind="user",
        name=display,
        display_name=display,
        username=name,
        password_hash=passwords.hash_password(password, **_cost(settings)),
        role=role,
        region_code=region_code or None,
        enterprise_id=enterprise_id,
        certificate_no=clean_certificate(certificate_no),
        created_at=now,
    )
    session.add(principal)
    try:
        session.flush()
    except IntegrityError:  # the same username, created at the same moment elsewhere
        raise invalid_field("username", f"用户名 {name} 已被使用") from None
    log.info("user created", extra={"principal_id": principal.id, "username": name, "role": role})
    return principal


def find_user(*, session: Session, username: str) -> Principal:
    """The person with this username, or NotFound."""
    name = normalise_username(username)
    principal = session.exec(select(Principal).where(Principal.username == name)).first()
    if principal is None:
        raise NotFound(f"没有用户名为 {name} 的人员")
    return principal


def list_users(*, session: Session, limit: int, offset: int) -> tuple[list[Principal], int]:
    """People (not tokens), oldest first, with the total count."""
    return list_principals(session=session, limit=limit, offset=offset, kind="user")


def disable_user(
    *, session: Session, username: str, now: datetime, by: Caller | None = None
) -> Principal:
    """Disable a person: they can no longer sign in, and their sessions end."""
    principal = find_user(session=session, username=username)
    assert principal.id is not None
    return revoke(session=session, principal_id=principal.id, now=now, by=by)


def reset_password(
    *, session: Session, settings: Settings, username: str, password: str, now: datetime
) -> Principal:
    """Set a new password; the lock-out is lifted and every session of the person ends."""
    principal = find_user(session=session, username=username)
    passwords.check_rule(password, username=principal.username)
    principal.password_hash = passwords.hash_password(password, **_cost(settings))
    principal.failed_logins = 0
    principal.locked_until = None
    session.add(principal)
    assert principal.id is not None
    end_sessions(session=session, principal_id=principal.id)
    log.info("password reset", extra={"principal_id": principal.id, "username": principal.username})
    return principal


# -- signing in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    caller: Caller
    session_token: str  # the cookie value (shown once; the database keeps its hash)


@dataclass(frozen=True)
class _Claim:
    principal_id: int
    password_hash: str | None
    disabled: bool
    previous_failure: datetime | None


def sign_in(*, ctx: Context, username: str, password: str) -> SignedIn:
    """A new session for a username and password, or SignInRefused (wrong, wait, locked).

    Three short transactions rather than one: the attempt is claimed (counted as a failure in
    advance, so parallel guesses cannot slip past the wait), the password is checked outside any
    transaction (argon2id takes a tenth of a second; SQLite's writer lock is not held meanwhile),
    then the outcome is settled."""
    now, settings = ctx.now(), ctx.settings
    name = normalise_username(username)
    with ctx.db.write() as session:
        claim = _claim(session, settings, name, now)
    matches, rehashed = passwords.verify(
        password, claim.password_hash if claim else None, **_cost(settings)
    )
    if claim is None:
        # Not the typed name: people type their password into the username field by mistake.
        log.info("sign-in failed", extra={"reason": "unknown username"})
        raise SignInRefused(WRONG)
    with ctx.db.write() as session:
        principal = session.get(Principal, claim.principal_id, with_for_update=True)
        assert principal is not None
        if not matches:
            _settle_failure(principal, settings, now)
            session.add(principal)
        elif not claim.disabled:
            principal.failed_logins = 0
            principal.locked_until = None
            principal.last_failed_at = claim.previous_failure
            principal.last_used_at = now
            if rehashed:
                principal.password_hash = rehashed
            session.add(principal)
            token = sessions.start(
                session=session,
                principal_id=claim.principal_id,
                now=now,
                idle=sessions.idle_limit(settings),
            )
            row = session.exec(principal_query().where(col(Principal.id) == principal.id)).one()
            log.info("signed in", extra={"principal_id": principal.id, "username": name})
            return SignedIn(caller_of(row), token)
    if not matches:
        raise SignInRefused(WRONG)
    log.info("sign-in refused", extra={"username": name, "reason": "disabled"})
    raise SignInRefused(DISABLED)


def _claim(session: Session, settings: Settings, name: str, now: datetime) -> _Claim | None:
    """Check the wait and the lock, then count this attempt as a failure until it succeeds."""
    principal = session.exec(
        select(Principal)
        .where(Principal.username == name, Principal.kind == "user")
        .with_for_update()
    ).first()
    if principal is None:
        return None
    if principal.locked_until is not None and principal.locked_until <= now:
        principal.failed_logins, principal.locked_until = 0, None  # the lock has run out
    _check_wait(principal, settings, now)
    assert principal.id is not None
    claim = _Claim(
        principal.id,
        principal.password_hash,
        principal.revoked_at is not None,
        principal.last_failed_at,
    )
    principal.failed_logins += 1
    principal.last_failed_at = now
    session.add(principal)
    return claim


def _check_wait(principal: Principal, settings: Settings, now: datetime) -> None:
    if principal.locked_until is not None:
        minutes = math.ceil((principal.locked_until - now).total_seconds() / 60)
        raise SignInRefused(
            f"登录失败次数过多，账户已暂时锁定，请稍后再试（约 {minutes} 分钟后）",
            retry_after=minutes * 60,
        )
    wait = _wait_after(principal.failed_logins, settings)
    if wait and principal.last_failed_at is not None:
        ready = principal.last_failed_at + wait
        if ready > now:
            seconds = math.ceil((ready - now).total_seconds())
            raise SignInRefused(
                f"登录失败次数过多，请稍后再试（{seconds} 秒后）", retry_after=seconds
            )


def _wait_after(failures: int, settings: Settings) -> timedelta | None:
    """How long after the last failure the next attempt is accepted (None: at once)."""
    beyond = failures - settings.login_slowdown_after
    if beyond < 0:
        return None
    seconds = settings.login_slowdown_seconds * 2 ** min(beyond, 20)
    return timedelta(seconds=seconds)


def _settle_failure(principal: Principal, settings: Settings, now: datetime) -> None:
    """A failure was counted in advance; at the lock-out threshold the account is locked."""
    if principal.failed_logins >= settings.login_lockout_after and principal.locked_until is None:
        principal.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
        log.warning(
            "account locked after repeated sign-in failures",
            extra={
                "username": principal.username,
                "principal_id": principal.id,
                "failed_logins": principal.failed_logins,
                "locked_until": principal.locked_until.isoformat(),
            },
        )
    else:
        log.info(
            "sign-in failed",
            extra={"username": principal.username, "failed_logins": principal.failed_logins},
        )
