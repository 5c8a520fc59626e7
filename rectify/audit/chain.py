"""The per-hazard hash chain: canonical JSON of an event and its SHA-256 link to the previous.

hash = SHA-256( prev_hash (64 hex chars, ASCII) || canonical JSON of the event, UTF-8 )
The first event of a chain links to GENESIS. `rectify audit verify` recomputes exactly this.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text as is: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_at(at: datetime) -> str:
    """Event time as hashed and shown: UTC, microseconds, `Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_event(
    *,
    hazard_id: int,
    hazard_seq: int,
    trigger: str,
    from_state: dict[str, str] | None,
    to_state: dict[str, str],
    actor: str,
    role: str,
    at: datetime,
    payload: str,
    workflow_name: str,
    workflow_version: int,
    prev_hash: str,
) -> bytes:
    """The bytes an event's hash covers (payload is already canonical JSON text)."""
    doc = {
        "hazard_id": hazard_id,
        "hazard_seq": hazard_seq,
        "trigger": trigger,
        "from": from_state,
        "to": to_state,
        "actor": actor,
        "role": role,
        "at": format_at(at),
        "payload": json.loads(payload),
        "workflow": {"name": workflow_name, "version": workflow_version},
        "prev_hash": prev_hash,
    }
    return canonical_json(doc).encode("utf-8")


def link(prev_hash: str, canonical: bytes) -> str:
    """The hash of one event given its predecessor's hash."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()
