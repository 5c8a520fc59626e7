"""Webhook subscriptions and the outbox: deliveries written in the event's (or checkpoint's)
own transaction, then claimed in small leased batches and POSTed, signed, outside any
transaction, to the address `egress` checked. The log keeps a status code and an error class."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets as secrets_
import ssl
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, false, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from rectify.audit.chain import canonical_json
from rectify.audit.models import Event
from rectify.audit.service import to_public
from rectify.auth.scope import Caller, region_prefix
from rectify.context import Context
from rectify.database.uow import UnitOfWork
from rectify.exceptions import FieldError, InvalidInput, NotFound
from rectify.notifications.egress import Egress, Refused, Target
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
CHECKPOINT = "checkpoint"  # the event type of a new audit checkpoint's line
# What the delivery log may say about a failed attempt: a fixed word, never free text.
ERROR_CLASSES = (
    "forbidden_address",  # the host now resolves to an address webhooks may not go to
    "dns",  # the host does not resolve
    "invalid_url",
    "connect_refused",
    "connect_failed",  # unreachable network or host
    "timeout",
    "tls",  # handshake or certificate
    "connection_lost",  # reset or closed while sending or reading
    "protocol",  # not HTTP, or broken HTTP
    "http_3xx",  # redirects are not followed
    "http_4xx",
    "http_5xx",
    "error",  # anything else
)


def egress(ctx: Context) -> Egress:
    """Where this process's webhooks may go: public addresses and the allow-listed networks."""
    return Egress.of(ctx.settings.webhook_allow_networks, ctx.resolve)


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


def enqueue_checkpoint(*, session: Session, checkpoint: dict[str, Any], at: datetime) -> None:
    """Offer a new checkpoint (as `checkpoints.to_public` shows it) to every subscription of
    `checkpoint` or `*`, in the caller's transaction: a copy of the line outside the database.
    Not limited by region: the line names no hazard, and it is made to be published."""
    wanted = [h for h in session.connection().execute(_ACTIVE) if _wants(h, CHECKPOINT)]
    for hook in wanted:
        key = str(uuid.uuid4())
        body = {"id": key, "type": CHECKPOINT, "line": checkpoint["line"], "checkpoint": checkpoint}
        session.add(
            Delivery(
                webhook_id=hook.id,
                idempotency_id=key,
                event_type=CHECKPOINT,
                body=canonical_json(body),
                next_attempt_at=at,
                created_at=at,
            )
        )


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


def _wants(hook: Any, event_type: str) -> bool:
    return event_type in hook.event_types or ALL in hook.event_types


def _matches(hook: Any, trigger: str, region_code: str) -> bool:
    if not _wants(hook, trigger):
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
    """What a subscription may name: every trigger and timer event of the given workflow
    definitions, and `checkpoint`."""
    return {name for d in definitions for name in d.triggers} | {CHECKPOINT}


def create_webhook(
    *,
    session: Session,
    caller: Caller,
    url: str,
    event_types: list[str],
    egress: Egress,
    secret: str | None = None,
    known: Collection[str] | None = None,
    now: datetime | None = None,
) -> tuple[Webhook, str]:
    """Subscribe `url` for the caller, in the caller's region; the secret (generated if
    absent) is returned.

    Checked here, not only at the HTTP edge: an http or https URL whose host resolves only to
    public addresses or to allow-listed networks (`egress`; docs/DECISIONS.md)."""
    errors = _url_errors(url, egress)
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
        principal_id=caller.principal_id,
    )
    if now is not None:
        hook.created_at = now
    session.add(hook)
    session.flush()
    return hook, secret


def _url_errors(url: str, egress: Egress) -> list[FieldError]:
    """The `url` field's error: not an http(s) URL with a plain host, a host that does not
    resolve, or one that is or resolves to an address webhooks may not go to."""
    try:
        egress.check(url)
    except Refused as refused:
        return [{"field": "url", "message": refused.message}]
    return []


def _visible(caller: Caller) -> list[Any]:
    # Admins see every subscription; anyone else only the ones their own principal made (a
    # same-named principal of the same role is someone else).
    if caller.role == "admin":
        return []
    if caller.principal_id is None:  # not a principal (the CLI): owns no subscription
        return [false()]
    return [col(Webhook.principal_id) == caller.principal_id]


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
        .values(status="cancelled")
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
    rule = egress(ctx)
    targets: dict[str, Target | Refused] = {}  # each URL resolved and checked once per pass
    attempted = 0
    try:
        for item in claimed:
            if item.url not in targets:
                targets[item.url] = _target(rule, item.url)
            if ctx.now() + SEND_MARGIN >= item.lease_until:  # (after a possibly slow lookup)
                break  # the rest wait for their lease to lapse; nothing is sent unleased
            status_code, error = _post(http, item, targets[item.url])
            _record(ctx=ctx, item=item, status_code=status_code, error=error)
            attempted += 1
    finally:
        if own:
            http.close()
    return attempted


def _target(rule: Egress, url: str) -> Target | Refused:
    try:
        return rule.check(url)
    except Refused as refused:
        return refused


def _post(
    http: httpx.Client, item: Claimed, target: Target | Refused
) -> tuple[int | None, str | None]:
    """POST one delivery to the checked address; (status code, error class or None)."""
    if isinstance(target, Refused):  # not contacted at all
        return None, target.error_class
    body = item.body.encode("utf-8")
    headers = {
        **target.headers(),
        "Content-Type": "application/json",
        "X-Rectify-Signature": sign(item.secret, body),
        "X-Rectify-Delivery": item.idempotency_id,
        "Idempotency-Key": item.idempotency_id,
        "X-Rectify-Event": item.event_type,
        "User-Agent": "rectify-webhooks/1",
    }
    if target.extensions():
        # A pooled TLS connection is keyed by address, not by name: one verified for another
        # name on the same address must not carry this request.
        headers["Connection"] = "close"
    request = http.build_request(
        "POST", target.request_url(), content=body, headers=headers, extensions=target.extensions()
    )
    try:
        # The body is never read: nothing the receiver says is kept beyond its status code.
        response = http.send(request, stream=True)
        response.close()
    except Exception as exc:  # network, TLS, protocol: all are a failed attempt to retry
        return None, error_class(exc)
    code = response.status_code
    if 200 <= code < 300:
        return code, None
    return code, f"http_{code // 100}xx" if 300 <= code < 600 else "protocol"


def error_class(exc: BaseException) -> str:
    """The fixed word for a failed attempt's exception (see ERROR_CLASSES)."""
    causes, seen = [], exc
    while seen is not None and len(causes) < 10:
        causes.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return "tls"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        refused = any(isinstance(c, ConnectionRefusedError) for c in causes)
        return "connect_refused" if refused else "connect_failed"
    if isinstance(exc, httpx.ProtocolError | httpx.UnsupportedProtocol | httpx.DecodingError):
        return "protocol"
    if isinstance(exc, httpx.NetworkError):
        return "connection_lost"
    return "error"


def _record(*, ctx: Context, item: Claimed, status_code: int | None, error: str | None) -> None:
    if error is not None:
        metrics.record_webhook_failure(status_code)
    now = ctx.now()
    attempts = item.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_status_code": status_code}
    if error is None:
        values |= {"status": "delivered", "delivered_at": now, "last_error_class": None}
    elif attempts >= MAX_ATTEMPTS:
        values |= {"status": "failed", "last_error_class": error}
    else:
        values |= {"last_error_class": error, "next_attempt_at": now + backoff(attempts)}
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
