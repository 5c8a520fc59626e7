"""Everything a request or a timer needs, built once per process: settings, database,
workflow definitions, deadline policy, evidence store and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rectify.config import Settings
from rectify.database.core import Database, utcnow
from rectify.evidence.storage import EvidenceStore
from rectify.exceptions import ConfigurationError
from rectify.hazards.triggers import check_registry
from rectify.timers.policy import Policy, load_policy
from rectify.workflow.definition import Registry, load_registry


@dataclass
class Context:
    settings: Settings
    db: Database
    registry: Registry
    policy: Policy
    evidence: EvidenceStore
    clock: Callable[[], datetime] = field(default=utcnow)

    def now(self) -> datetime:
        return self.clock()


def build_context(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Context:
    """Open the database and load the definitions and policy named by the settings; every
    trigger the workflow files name must have its definition (rectify.hazards.triggers)."""
    registry = load_registry(settings.workflows_dir)
    problems = check_registry(registry)
    if problems:
        raise ConfigurationError("; ".join(problems))
    return Context(
        settings=settings,
        db=Database(settings.db_url),
        registry=registry,
        policy=load_policy(settings.policy_path),
        evidence=EvidenceStore(settings.evidence_dir, settings.evidence_max_bytes),
        clock=clock,
    )
