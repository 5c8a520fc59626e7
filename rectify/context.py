"""Everything a request or a timer needs, built once per process: settings, database,
workflow definitions, deadline policy, holiday calendar, evidence store, the clock and the
name resolver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rectify.calendar.store import CalendarStore
from rectify.config import Settings
from rectify.database.core import Database, utcnow
from rectify.documents.config import DocumentsConfig, load_documents
from rectify.evidence.storage import EvidenceStore
from rectify.exceptions import ConfigurationError
from rectify.hazards.triggers import check_registry
from rectify.notifications.egress import Resolver, system_resolve
from rectify.timers.policy import Policy, load_policy
from rectify.workflow.definition import Registry, load_registry


@dataclass
class Context:
    settings: Settings
    db: Database
    registry: Registry
    policy: Policy
    evidence: EvidenceStore
    calendar: CalendarStore
    clock: Callable[[], datetime] = field(default=utcnow)
    resolve: Resolver = field(default=system_resolve)  # host → addresses, for webhook targets
    documents: DocumentsConfig | None = None  # 执法文书 (None: no step issues documents)

    def now(self) -> datetime:
        return self.clock()


def build_context(
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    resolve: Resolver = system_resolve,
) -> Context:
    """Open the database and load the definitions, policy and holiday calendar named by the
    settings (the shipped calendar years are stored first where the database lacks them);
    every trigger the workflow files name must have its definition (rectify.hazards.triggers)."""
    from rectify.calendar.service import open_calendar

    registry = load_registry(settings.workflows_dir)
    documents = load_documents(settings.documents_path)
    problems = check_registry(registry)
    if problems:
        raise ConfigurationError("; ".join(problems))
    db = Database(settings.db_url)
    calendar = open_calendar(db=db, settings=settings)
    return Context(
        settings=settings,
        db=db,
        registry=registry,
        policy=load_policy(settings.policy_path).use_calendar(calendar),
        evidence=EvidenceStore(settings.evidence_dir, settings.evidence_max_bytes),
        calendar=calendar,
        clock=clock,
        resolve=resolve,
        documents=documents,
    )
