"""Workflow version pinning: record each definition version run, refuse silent edits."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from rectify.audit.models import WorkflowVersion
from rectify.exceptions import ConfigurationError
from rectify.workflow.definition import Registry


def record(*, session: Session, registry: Registry, now: datetime) -> None:
    """Remember every deployed version; a changed file under an old version is an error."""
    for d in registry.all():
        known = session.get(WorkflowVersion, (d.name, d.version))
        if known is None:
            session.add(
                WorkflowVersion(
                    name=d.name, version=d.version, content_hash=d.content_hash, first_seen=now
                )
            )
        elif known.content_hash != d.content_hash:
            raise ConfigurationError(
                f"workflow {d.name} v{d.version} changed since {known.first_seen:%Y-%m-%d} "
                f"(content hash {known.content_hash[:12]} → {d.content_hash[:12]}): hazards "
                "pinned to it would replay differently; give the change a new version"
            )
