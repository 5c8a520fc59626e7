"""The per-hazard hash chain: canonical JSON of an event and its SHA-256 link to the previous.

hash = SHA-256( prev_hash (64 hex chars, ASCII) || canonical JSON of the event, UTF-8 )
The first event of a chain links to GENESIS. `rectify audit verify` recomputes exactly this;
docs/CANONICAL.md spells the bytes out for auditors who write their own verifier.

The canonical JSON is `canonical_json` of the event document (sorted keys, no spaces). It is
written out here piece by piece in that fixed key order rather than dumped as a dict, so that the
stored payload text (already canonical JSON) is spliced in as it is instead of being parsed and
dumped again: the bytes are the same for every event the service writes. `SPLICED` and
`pieces` let `verify` rebuild them from stored text without building any document at all.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses for str
from typing import Any

GENESIS = "0" * 64
AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# The canonical event around its pieces, in sorted key order:
#   head = {"actor":…,"at":"      mid = ","from":…,"hazard_id":      tail = ,"role":… to the end
# SPLICED % (prev_hash, head, at, mid, IDS % hazard_id, hazard_seq, payload, prev_hash, tail)
# is prev_hash || the canonical event, `at` being format_at's text without its final Z.
SPLICED = b'%s%s%sZ%s%s%d,"payload":%s,"prev_hash":"%s"%s'
IDS = b'%d,"hazard_seq":'


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text as is: the same value always gives the same bytes.
    NaN and Infinity are not JSON: ValueError (the last line of defence; inputs refuse them)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def format_at(at: datetime) -> str:
    """Event time as hashed and shown: UTC, microseconds, `Z`."""
    utc = at.astimezone(UTC)
    if utc.year < 1000:  # strftime's %Y does not pad the year to four digits, isoformat does
        return utc.strftime(AT_FORMAT)
    return utc.isoformat(timespec="microseconds")[:26] + "Z"  # 3× cheaper than strftime


def _string(value: Any) -> str:
    """A str field as canonical JSON (anything else exactly as the whole-document dump gave it)."""
    return encode_basestring(value) if type(value) is str else canonical_json(value)


def _number(value: Any) -> str:
    return str(value) if type(value) is int else canonical_json(value)


def pieces(
    *,
    trigger: Any,
    from_state: Any,
    to_state: Any,
    actor: Any,
    role: Any,
    workflow_name: Any,
    workflow_version: Any,
) -> tuple[str, str, str]:
    """(head, mid, tail) of the canonical event: every field but the time, ids, payload and
    prev_hash, which few events differ in (so callers may cache them)."""
    head = f'{{"actor":{_string(actor)},"at":"'
    mid = f'","from":{canonical_json(from_state)},"hazard_id":'
    tail = (
        f',"role":{_string(role)},"to":{canonical_json(to_state)},"trigger":{_string(trigger)},'
        f'"workflow":{{"name":{_string(workflow_name)},"version":{_number(workflow_version)}}}}}'
    )
    return head, mid, tail


class PieceCache:
    """`pieces` as UTF-8 by the stored form of their fields: (trigger, from and to as stored JSON
    text, actor, role, workflow name, workflow version), str or bytes. Few distinct keys exist,
    so a history's events mostly cost one dict lookup here instead of two JSON dumps."""

    LIMIT = 100_000  # bounded, whatever the data

    def __init__(self) -> None:
        self.known: dict[tuple[Any, ...], tuple[bytes, bytes, bytes] | None] = {}

    def get(self, key: tuple[Any, ...]) -> tuple[bytes, bytes, bytes] | None:
        """The pieces (None: a field cannot be read, leave the event to the exact path)."""
        found = self.known.get(key, self)
        return self.miss(key) if found is self else found  # type: ignore[return-value]

    def miss(self, key: tuple[Any, ...]) -> tuple[bytes, bytes, bytes] | None:
        """Build and remember the pieces of a key not seen yet."""
        if len(self.known) >= self.LIMIT:
            self.known.clear()
        try:
            trigger, from_text, to_text, actor, role, name, version = map(_decoded, key)
            if type(version) is not int:
                raise TypeError(version)
            parts = pieces(
                trigger=trigger,
                from_state=None if from_text is None else json.loads(from_text),
                to_state=None if to_text is None else json.loads(to_text),
                actor=actor,
                role=role,
                workflow_name=name,
                workflow_version=version,
            )
            found: tuple[bytes, bytes, bytes] | None = tuple(  # type: ignore[assignment]
                p.encode("utf-8") for p in parts
            )
        except (ValueError, TypeError):
            found = None
        self.known[key] = found
        return found


def _decoded(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value


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
    """The bytes an event's hash covers. `payload` must be canonical JSON text (as the service
    stores it): it is spliced in as is, which gives exactly canonical_json of the whole event."""
    if type(payload) is not str:
        raise TypeError(f"payload must be canonical JSON text, not {type(payload).__name__}")
    head, mid, tail = pieces(
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        role=role,
        workflow_name=workflow_name,
        workflow_version=workflow_version,
    )
    ids = f'{_number(hazard_id)},"hazard_seq":{_number(hazard_seq)}'
    text = f'{head}{format_at(at)}{mid}{ids},"payload":{payload},"prev_hash":{_string(prev_hash)}'
    return (text + tail).encode("utf-8")


def spliced_link(
    parts: tuple[bytes, bytes, bytes],
    *,
    hazard_id: int,
    hazard_seq: int,
    at: datetime,
    payload: str,
    prev_hash: str,
) -> str:
    """link(prev_hash, canonical_event(...)) from the event's cached pieces (PieceCache)."""
    head, mid, tail = parts
    prev = prev_hash.encode("ascii")
    at_text = format_at(at)[:-1].encode("ascii")
    ids = IDS % hazard_id
    data = SPLICED % (prev, head, at_text, mid, ids, hazard_seq, payload.encode(), prev, tail)
    return hashlib.sha256(data).hexdigest()


def link(prev_hash: str, canonical: bytes) -> str:
    """The hash of one event given its predecessor's hash."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()
