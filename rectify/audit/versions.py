"""Workflow version pinning: record each definition version run, refuse silent edits.

A deployed version's file may change only by additions that replay every existing history the
same way (a new trigger that no history holds yet, a comment): such an edit is listed in
ACCEPTED_EDITS with the hash of the file it replaces, and the stored hash moves on to the new
file. Anything else under an old version number is refused at start-up.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from rectify.audit.models import WorkflowVersion
from rectify.exceptions import ConfigurationError
from rectify.workflow.definition import Registry

__all__ = ["ACCEPTED_EDITS", "record"]

ACCEPTED_EDITS: dict[tuple[str, int], dict[str, str]] = {
    ("hazard", 1): {
        # The file shipped until 2026-12. The edit adds, and changes no existing trigger:
        # `evidence_added` (internal: recorded by each upload), `deadline_recomputed` (system),
        # `withdraw_extension` (the dispatcher withdraws a granted extension), and the 执法文书
        # events `document_issued` (system) and `serve_document` (internal, rectify.documents).
        "5b7aaca16b52db15af5e8829b128de9701f86a8fd4afcbc82a929d4cc51109aa": "2026-12 additions",
        # The file with the additions above. This edit adds `resolve_accountability` (internal:
        # the 追责问责 entry's handling, rectify.accountability; no history holds it yet) and a
        # comment at `dismiss`: a duplicate names its original (payload only; issue 12).
        "17329629aeebd55aa0e4c8d3cd1fdb9f987c61ff85d2a21125517f5d68526fe9": "2026-12 ledgers",
    },
    ("hazard", 2): {
        # The same two additions to v2 as to v1 (issue 12); no existing trigger changed.
        "3fe1b9d55e9f25e49a23ad82018e188163a491fd0dbaba516c29352971503e64": "2026-12 ledgers",
    },
}
"""(name, version) → {hash of an earlier file of that version: what the edit added}."""


def record(*, session: Session, registry: Registry, now: datetime) -> None:
    """Remember every deployed version; a changed file under an old version is an error unless
    it is an accepted additive edit of the stored one."""
    for d in registry.all():
        known = session.get(WorkflowVersion, (d.name, d.version))
        if known is None:
            session.add(
                WorkflowVersion(
                    name=d.name, version=d.version, content_hash=d.content_hash, first_seen=now
                )
            )
        elif known.content_hash != d.content_hash:
            if known.content_hash in ACCEPTED_EDITS.get(d.key, {}):
                known.content_hash = d.content_hash
                session.add(known)
                continue
            raise ConfigurationError(
                f"workflow {d.name} v{d.version} changed since {known.first_seen:%Y-%m-%d} "
                f"(content hash {known.content_hash[:12]} → {d.content_hash[:12]}): hazards "
                "pinned to it would replay differently; give the change a new version"
            )
