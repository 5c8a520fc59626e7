"""The domain errors of rectify, and the one place that maps each to an HTTP status.

    RectifyError                       500  base of everything below
    ├── NotFound                       404  no such object, or outside the caller's scope
    ├── Unauthenticated                401  no, unknown, revoked or expired token or session
    │   └── SignInRefused              401  wrong username or password, wait, or locked out
    ├── Forbidden                      403  the caller's role may not do this
    ├── Conflict                       409  the hazard's state or version does not allow it
    │   ├── TriggerNotAllowed          409  trigger not allowed in the current state
    │   ├── GuardFailed                409  a guard (close rules, deadline, plan) refused it
    │   └── StaleVersion               409  If-Match names an old version
    ├── InvalidInput                   422  payload or field rules; names every bad field
    │   └── IdempotencyKeyReused       422  same Idempotency-Key, different request
    ├── PayloadTooLarge                413  evidence above the configured limit
    ├── UnsupportedMediaType           415  evidence that is not a real JPEG, PNG, WebP or PDF
    └── ConfigurationError             (start-up only) bad settings, policy or workflow file

Services raise these; `rectify.api.problems` turns them into application/problem+json.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigurationError",
    "Conflict",
    "FieldError",
    "Forbidden",
    "GuardFailed",
    "IdempotencyKeyReused",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "RectifyError",
    "SignInRefused",
    "StaleVersion",
    "TriggerNotAllowed",
    "Unauthenticated",
    "UnsupportedMediaType",
]


class RectifyError(Exception):
    """Base of every domain error; `status` and `title` shape the problem document."""

    status: int = 500
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(RectifyError):
    status = 404
    title = "Not found"


class Unauthenticated(RectifyError):
    status = 401
    title = "Unauthenticated"


class SignInRefused(Unauthenticated):
    """A sign-in refused; `retry_after` (seconds) when the account must wait or is locked."""

    title = "Sign-in refused"

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Forbidden(RectifyError):
    status = 403
    title = "Forbidden"


class Conflict(RectifyError):
    status = 409
    title = "Conflict"


class TriggerNotAllowed(Conflict):
    title = "Trigger not allowed in the current state"


class GuardFailed(Conflict):
    title = "Refused by a workflow guard"


class StaleVersion(Conflict):
    title = "Stale version"


FieldError = dict[str, Any]
"""One entry of `errors`: {"field": "payload.plan.goals", "message": "..."}."""


class InvalidInput(RectifyError):
    status = 422
    title = "Invalid input"

    def __init__(self, detail: str, errors: list[FieldError] | None = None, **extra: Any):
        super().__init__(detail, **extra)
        self.errors = errors or []

    @classmethod
    def fields(cls, errors: list[FieldError]) -> InvalidInput:
        """Build one error that names every bad field."""
        names = ", ".join(e["field"] for e in errors)
        return cls(f"Invalid or missing fields: {names}", errors=errors)


class IdempotencyKeyReused(InvalidInput):
    title = "Idempotency-Key reused with a different request"


class PayloadTooLarge(RectifyError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(RectifyError):
    status = 415
    title = "Unsupported media type"


class ConfigurationError(RectifyError):
    title = "Configuration error"
