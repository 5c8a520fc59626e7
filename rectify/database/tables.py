"""Imports every table model so that SQLModel.metadata (and so Alembic) knows them all."""

from sqlmodel import SQLModel

from rectify.accountability.models import Accountability
from rectify.audit.models import Checkpoint, CheckpointHead, Event, WorkflowVersion
from rectify.auth.models import LoginSession, Principal
from rectify.calendar.models import CalendarYear
from rectify.documents.models import Document, DocumentCounter
from rectify.enterprises.models import Enterprise
from rectify.evidence.models import Evidence
from rectify.hazards.models import Hazard, IdempotencyRecord, Penalty
from rectify.notifications.models import Delivery, Webhook
from rectify.timers.models import Timer

metadata = SQLModel.metadata

__all__ = [
    "Accountability",
    "CalendarYear",
    "Checkpoint",
    "CheckpointHead",
    "Delivery",
    "Document",
    "DocumentCounter",
    "Enterprise",
    "Event",
    "Evidence",
    "Hazard",
    "IdempotencyRecord",
    "LoginSession",
    "Penalty",
    "Principal",
    "Timer",
    "Webhook",
    "WorkflowVersion",
    "metadata",
]
