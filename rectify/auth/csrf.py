"""CSRF tokens: a synchroniser token bound to the sign-in session (derived from its cookie value
with HMAC, never stored), and a double-submit token for the sign-in form (before any session)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["FIELD", "HEADER", "LOGIN_COOKIE", "for_session", "matches", "new_login_token"]

FIELD = "csrf_token"
"""The hidden form field every console POST carries."""
HEADER = "X-CSRF-Token"
"""The header a script (htmx) may send instead of the field."""
LOGIN_COOKIE = "rectify_login_csrf"
"""The pre-session cookie of the sign-in form's double-submit token."""

_PURPOSE = b"rectify console csrf v1"


def for_session(session_token: str) -> str:
    """The CSRF token of a session: only the holder of the session cookie can compute it."""
    mac = hmac.new(session_token.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def new_login_token() -> str:
    """A fresh double-submit token for the sign-in form (cookie and field carry the same)."""
    return secrets.token_urlsafe(32)


def matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an absent or non-ASCII token never matches."""
    if not expected or not given or not given.isascii():
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))
