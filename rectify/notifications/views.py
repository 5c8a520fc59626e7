"""HTTP for webhook subscriptions and their delivery log (dispatchers and admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rectify.api.deps import (
    ContextDep,
    CurrentCaller,
    Limit,
    Offset,
    RowId,
    RowIdFilter,
    SessionDep,
    page,
)
from rectify.api.permissions import Roles
from rectify.notifications import service
from rectify.notifications.models import Delivery, Webhook

# Every route here is for dispatchers and admins, declared once for the router: the role is
# checked before anything else, which reveals nothing (a role without webhooks has none at all).
router = APIRouter(
    prefix="/webhooks",
    tags=["notifications"],
    dependencies=[Depends(Roles("dispatcher", "admin"))],
)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000,
        description="http or https URL that receives the POSTs; its host must resolve to public "
        "addresses only (or to networks in the setting webhook_allow_networks)",
    )
    event_types: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1,
        description='triggers or timer events of the workflow, "checkpoint" for each new audit '
        'checkpoint line, or "*" for all',
    )
    secret: str | None = Field(
        default=None, min_length=16, max_length=256, description="HMAC key; generated if absent"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http or https URL")
        return value.strip()


class WebhookPublic(BaseModel):
    id: int
    url: str
    event_types: list[str]
    region_code: str | None
    created_by: str
    principal_id: int | None = Field(description="the principal that subscribed (its owner)")
    active: bool
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="shown only in this response; sign-check with it")


class DeliveryPublic(BaseModel):
    id: int
    webhook_id: int
    idempotency_id: str
    event_type: str
    event_seq: int | None
    hazard_id: int | None
    status: str
    attempts: int
    last_status_code: int | None
    last_error_class: str | None = Field(
        description="why the last attempt failed, one fixed word: timeout, connect_refused, "
        "connect_failed, dns, tls, forbidden_address, http_3xx, http_4xx, http_5xx, protocol, "
        "connection_lost, invalid_url, error"
    )
    next_attempt_at: datetime
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    total: int
    limit: int
    offset: int


def _webhook(hook: Webhook) -> dict[str, Any]:
    return hook.model_dump(exclude={"secret"})


def _delivery(row: Delivery) -> dict[str, Any]:
    return row.model_dump(exclude={"body"})


@router.post("", status_code=201, response_model=WebhookCreated)
def create_webhook(
    data: WebhookCreate, ctx: ContextDep, caller: CurrentCaller, response: Response
) -> dict[str, Any]:
    """Subscribe a URL to events of hazards in your region; the secret is shown only here."""
    known = service.event_names(definitions=ctx.registry.all())
    with ctx.db.write() as session:
        hook, secret = service.create_webhook(
            session=session,
            caller=caller,
            url=data.url,
            event_types=data.event_types,
            egress=service.egress(ctx),
            secret=data.secret,
            known=known,
            now=ctx.now(),
        )
        body = _webhook(hook) | {"secret": secret}
    response.headers["Location"] = f"/api/v1/webhooks/{body['id']}"
    return body


@router.get("", response_model=list[WebhookPublic])
def list_webhooks(session: SessionDep, caller: CurrentCaller) -> list[dict[str, Any]]:
    """Your subscriptions (an admin sees all), active and deactivated."""
    return [_webhook(h) for h in service.list_webhooks(session=session, caller=caller)]


@router.get("/deliveries", response_model=DeliveryPage)
def list_deliveries(
    session: SessionDep,
    caller: CurrentCaller,
    webhook_id: RowIdFilter = None,
    status: Literal["pending", "delivered", "failed", "cancelled"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The delivery log of your subscriptions, newest first: attempts, status, the last
    status code and error class (never what the receiver answered)."""
    rows, total = service.list_deliveries(
        session=session,
        caller=caller,
        webhook_id=webhook_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return page([_delivery(r) for r in rows], total, limit, offset)


@router.get("/{webhook_id}", response_model=WebhookPublic)
def get_webhook(webhook_id: RowId, session: SessionDep, caller: CurrentCaller) -> dict[str, Any]:
    """One of your subscriptions."""
    return _webhook(service.get_webhook(session=session, caller=caller, webhook_id=webhook_id))


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: RowId, ctx: ContextDep, caller: CurrentCaller) -> Response:
    """Deactivate a subscription; its undelivered entries are cancelled."""
    with ctx.db.write() as session:
        service.deactivate_webhook(session=session, caller=caller, webhook_id=webhook_id)
    return Response(status_code=204)
