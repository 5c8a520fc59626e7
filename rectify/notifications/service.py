"""Webhook subscriptions and the outbox: deliveries written in the event's own transaction,
then claimed in small leased batches and POSTed, signed, outside any transaction."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets as secrets_
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from rectify.audit.chain import canonical_json
from rectify.audit.models import Event
from rectify.audit.service import to_public
from rectify.auth.scope import Caller, region_prefix
from rectify.context import Context
from rectify.database.uow import UnitOfWork
from rectify.exceptions import FieldError, InvalidInput, NotFound
from rectify.notifications.models import Delivery, Webhook
from rectify.observability import metrics
from rectify.workflow.definition import Definition

log = logging.getLogger(__name__)

ALL = "*"
LEASE = timedelta(seconds=60)  # a claimed delivery is invisible to other workers this long
TIMEOUT = httpx.Timeout(10.0, connect=5.0)  # per request; well inside the lease
SEND_MARGIN = timedelta(seconds=15)  # no send starts this close to the end of its lease
FIRST_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)
MAX_ATTEMPTS = 12  # then the delivery is `failed`
WEBHOOK_SCHEMES = ("http", "https")


# -- the outbox ----------------------------------------------------------------------------
def enqueue(*, uow: UnitOfWork, event: dict[str, Any], region_code: str) -> None:
    """Queue the event (as `append_event` returned it) for every matching subscription, in the
    event's own transaction."""
    wanted = [h for h in _active(uow) if _matches(h, event["trigger"], region_code)]
    if not wanted:
        return
    key = {"hazard_id": event["hazard_id"], "hazard_seq": event["hazard_seq"]}
    stored = uow.execute(_STORED, key).one()  # the event as written, with its global seq
    public = to_public(stored)
    for hook in wanted:
        key = str(uuid.uuid4())
        body = {
            "id": key,
            "type": stored.trigger,
            "hazard_id": stored.hazard_id,
            "region_code": region_code,
            "event": public,
        }
        row = {"webhook_id": hook.id, "idempotency_id": key, "event_seq": stored.seq}
        row |= {"hazard_id": stored.hazard_id, "event_type": stored.trigger}
        row |= {"body": canonical_json(body), "status": "pending", "attempts": 0}
        row |= {"next_attempt_at": stored.at, "created_at": stored.at}
        uow.add(_DELIVERIES, row)


_events = Event.__table__  # type: ignore[attr-defined]
_STORED = sa_select(_events).where(
    _events.c.hazard_id == bindparam("hazard_id"), _events.c.hazard_seq == bindparam("hazard_seq")
)
_DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]


def _active(uow: UnitOfWork) -> list[Any]:
    # Read once per transaction: a timer batch appends hundreds of events. Subscriptions change
    # in their own transaction.
    if "active_webhooks" not in uow.info:
        uow.info["active_webhooks"] = list(uow.execute(_ACTIVE))
    return uow.info["active_webhooks"]


_hooks = Webhook.__table__  # type: ignore[attr-defined]
_ACTIVE = sa_select(_hooks.c.id, _hooks.c.event_types, _hooks.c.region_code).where(
    _hooks.c.active.is_(True)
)


def _matches(hook: Any, trigger: str, region_code: str) -> bool:
    if trigger not in hook.event_types and ALL not in hook.event_types:
        return False
    return hook.region_code is None or region_code.startswith(region_prefix(hook.region_code))


def sign(secret: str, body: bytes) -> str:
    """The X-Rectify-Signature value: `sha256=` and the hex HMAC-SHA256 of the body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 5 s, 10 s, 20 s, ... at most one hour."""
    return min(FIRST_BACKOFF * 2 ** min(attempts - 1, 20), MAX_BACKOFF)


# -- subscriptions -------------------------------------------------------------------------
def event_names(*, definitions: Iterable[Definition]) -> set[str]:
    """Every trigger and timer event name of the given workflow definitions."""
    return {name for d in definitions for name in d.triggers}


def create_webhook(
    *,
    session: Session,
    caller: Caller,
    url: str,
    event_types: list[str],
    secret: str | None = None,
    known: Collection[str] | None = None,
    now: datetime | None = None,
) -> tuple[Webhook, str]:
    """Subscribe `url` in the caller's region; the secret (generated if absent) is returned.

    Only http and https URLs: the worker must never be pointed at file:, gopher: or the like,
    whoever calls this. Private and loopback hosts are allowed (docs/DECISIONS.md)."""
    errors = _url_errors(url)
    if known is not None:
        errors += [
            {"field": f"event_types.{i}", "message": f"unknown event type {name!r}"}
            for i, name in enumerate(event_types)
            if name != ALL and name not in known
        ]
    if errors:
        raise InvalidInput.fields(errors)
    secret = secret or secrets_.token_urlsafe(32)
    hook = Webhook(
        url=url,
        secret=secret,
        event_types=list(dict.fromkeys(event_types)),
        region_code=caller.region_code,
        created_by=caller.actor,
    )
    if now is not None:
        hook.created_at = now
    session.add(hook)
    session.flush()
    return hook, secret


def _url_errors(url: str) -> list[FieldError]:
    """The `url` field's error, if the URL is not an absolute http or https URL with a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. a malformed IPv6 literal or port
        parts, host = None, None
    if parts is None or parts.scheme.lower() not in WEBHOOK_SCHEMES or not host:
        return [{"field": "url", "message": "must be an absolute http or https URL"}]
    return []


def _visible(caller: Caller) -> list[Any]:
    # Admins see every subscription; a dispatcher only the ones they made in their region.
    if caller.role == "admin":
        return []
    return [Webhook.created_by == caller.actor, Webhook.region_code == caller.region_code]


def list_webhooks(*, session: Session, caller: Caller) -> list[Webhook]:
    """The subscriptions the caller may see, by id."""
    stmt = select(Webhook).where(*_visible(caller)).order_by(col(Webhook.id))
    return list(session.exec(stmt))


def get_webhook(*, session: Session, caller: Caller, webhook_id: int) -> Webhook:
    """One subscription, or NotFound when it does not exist for this caller."""
    stmt = select(Webhook).where(Webhook.id == webhook_id, *_visible(caller))
    hook = session.exec(stmt).first()
    if hook is None:
        raise NotFound(f"no webhook {webhook_id}")
    return hook


def deactivate_webhook(*, session: Session, caller: Caller, webhook_id: int) -> None:
    """Stop a subscription; its undelivered entries are cancelled (idempotent)."""
    hook = get_webhook(session=session, caller=caller, webhook_id=webhook_id)
    hook.active = False
    session.add(hook)
    session.exec(
        update(Delivery)
        .where(col(Delivery.webhook_id) == hook.id, col(Delivery.status) == "pending")
        .values(status="cancelled", last_error="subscription deactivated")
    )


def list_deliveries(
    *,
    session: Session,
    caller: Caller,
    webhook_id: int | None = None,
    status: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[Delivery], int]:
    """The delivery log of the caller's subscriptions, newest first, with the total count."""
    where: list[Any] = []
    if webhook_id is not None:
        get_webhook(session=session, caller=caller, webhook_id=webhook_id)
        where.append(Delivery.webhook_id == webhook_id)
    elif caller.role != "admin":
        mine = select(Webhook.id).where(*_visible(caller))
        where.append(col(Delivery.webhook_id).in_(mine))
    if status is not None:
        where.append(Delivery.status == status)
    total = session.exec(select(func.count()).select_from(Delivery).where(*where)).one()
    stmt = (
        select(Delivery).where(*where).order_by(col(Delivery.id).desc()).limit(limit).offset(offset)
    )
    return list(session.exec(stmt)), total


# -- delivery ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    """A delivery leased to one worker until `lease_until`, with what is needed to send it."""

    id: int
    url: str
    secret: str
    body: str
    idempotency_id: str
    event_type: str
    attempts: int
    lease_until: datetime


def claim(*, ctx: Context, worker: str, batch: int = 50) -> list[Claimed]:
    """Lease up to `batch` due pending deliveries in one short transaction."""
    now = ctx.now()
    lease_until = now + LEASE
    stmt = (
        select(Delivery, Webhook)
        .join(Webhook, col(Webhook.id) == col(Delivery.webhook_id))
        .where(
            col(Delivery.status) == "pending",
            col(Delivery.next_attempt_at) <= now,
            col(Webhook.active).is_(True),
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(batch)
    )
    if not ctx.db.is_sqlite:  # rows another worker holds are skipped, not waited for
        stmt = stmt.with_for_update(skip_locked=True, of=Delivery)
    claimed: list[Claimed] = []
    with ctx.db.write() as session:
        for delivery, hook in session.exec(stmt).all():
            # Conditional on the due time read: a row another process leased is not ours.
            result = session.exec(
                update(Delivery)
                .where(
                    col(Delivery.id) == delivery.id,
                    col(Delivery.status) == "pending",
                    col(Delivery.next_attempt_at) == delivery.next_attempt_at,
                )
                .values(next_attempt_at=lease_until)
            )
            if result.rowcount != 1:
                continue
            claimed.append(
                Claimed(
                    id=delivery.id or 0,
                    url=hook.url,
                    secret=hook.secret,
                    body=delivery.body,
                    idempotency_id=delivery.idempotency_id,
                    event_type=delivery.event_type,
                    attempts=delivery.attempts,
                    lease_until=lease_until,
                )
            )
    if claimed:
        log.info("worker %s claimed %d deliveries", worker, len(claimed))
    return claimed


def deliver_due(
    *, ctx: Context, worker: str, batch: int = 50, client: httpx.Client | None = None
) -> int:
    """Claim due deliveries, POST each outside any transaction, record the outcome."""
    claimed = claim(ctx=ctx, worker=worker, batch=batch)
    if not claimed:
        return 0
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    attempted = 0
    try:
        for item in claimed:
            if ctx.now() + SEND_MARGIN >= item.lease_until:
                break  # the rest wait for their lease to lapse; nothing is sent unleased
            status_code, error = _post(http, item)
            _record(ctx=ctx, item=item, status_code=status_code, error=error)
            attempted += 1
    finally:
        if own:
            http.close()
    return attempted


def _post(http: httpx.Client, item: Claimed) -> tuple[int | None, str | None]:
    body = item.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "X-Rectify-Signature": sign(item.secret, body),
        "X-Rectify-Delivery": item.idempotency_id,
        "Idempotency-Key": item.idempotency_id,
        "X-Rectify-Event": item.event_type,
        "User-Agent": "rectify-webhooks/1",
    }
    try:
        with http.stream("POST", item.url, content=body, headers=headers) as response:
            if 200 <= response.status_code < 300:
                return response.status_code, None
            text = _head(response).decode("utf-8", "replace")
            return response.status_code, f"HTTP {response.status_code}: {text}"
    except Exception as exc:  # network, TLS, bad URL: all are a failed attempt to retry
        return None, f"{type(exc).__name__}: {exc}"[:500]


def _head(response: httpx.Response, limit: int = 200) -> bytes:
    # A receiver's error page is kept for the log, but never read beyond `limit` bytes.
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return data[:limit]


def _record(*, ctx: Context, item: Claimed, status_code: int | None, error: str | None) -> None:
    if error is not None:
        metrics.record_webhook_failure(status_code)
    now = ctx.now()
    attempts = item.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_status_code": status_code}
    if error is None:
        values |= {"status": "delivered", "delivered_at": now, "last_error": None}
    elif attempts >= MAX_ATTEMPTS:
        values |= {"status": "failed", "last_error": error}
    else:
        values |= {"last_error": error, "next_attempt_at": now + backoff(attempts)}
    with ctx.db.write() as session:
        # Only while the lease is still ours; otherwise another worker owns the retry.
        result = session.exec(
            update(Delivery)
            .where(
                col(Delivery.id) == item.id,
                col(Delivery.status) == "pending",
                col(Delivery.next_attempt_at) == item.lease_until,
            )
            .values(**values)
        )
    if result.rowcount != 1:
        log.warning("delivery %s: lease lost before its outcome was recorded", item.id)
