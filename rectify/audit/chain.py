"""The per-hazard hash chain: the one encoder of an event's canonical bytes and the one walker
that checks chains. Append, verify, replay and offline verification all use both.

hash = SHA-256( prev_hash (64 hex chars, ASCII) || canonical JSON of the event, UTF-8 )
The first event of a chain links to GENESIS. `rectify audit verify` recomputes exactly this;
docs/CANONICAL.md spells the bytes out for auditors who write their own verifier.

The canonical JSON is `canonical_json` of the event document (sorted keys, no spaces). It is
written out piece by piece in that fixed key order rather than dumped as a dict, so that the
stored payload text (already canonical JSON) is spliced in as it is: the fields few events
differ in (trigger, states, actor, role, workflow) become three cached pieces, and an event costs
one string format and one SHA-256. `Encoder` takes those fields as values (appending), as stored
text (verify, replay) or as exported JSON (offline verification) and gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses for str
from typing import Any

__all__ = [
    "GENESIS",
    "ChainWalker",
    "Encoder",
    "canonical_event",
    "canonical_json",
    "format_at",
    "link",
]

GENESIS = "0" * 64
AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# The canonical event around its pieces, in sorted key order:
#   head = {"actor":…[,"actor_id":…],"at":"      mid = ","from":…,"hazard_id":
#   tail = ,"role":… to the end
# _SPLICED % (prev, head, at, mid, hazard_id, hazard_seq, payload, prev, tail) is
# prev_hash || the canonical event, `at` being format_at's text without its final Z.
_SPLICED = b'%s%s%sZ%s%d,"hazard_seq":%d,"payload":%s,"prev_hash":"%s"%s'


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


def link(prev_hash: str, canonical: bytes) -> str:
    """The hash of one event given its predecessor's hash."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def _string(value: Any) -> str:
    """A str field as canonical JSON (anything else exactly as the whole-document dump gave it)."""
    return encode_basestring(value) if type(value) is str else canonical_json(value)


def _number(value: Any) -> str:
    return str(value) if type(value) is int else canonical_json(value)


def _keyed(state: Any) -> Any:
    return canonical_json(state) if isinstance(state, dict) else state


def _text(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _state(value: Any) -> Any:
    """A from/to state as a value: parsed from stored JSON text, a dict from its key's items
    (`Encoder.pieces`), or as given."""
    value = _text(value)
    if isinstance(value, tuple):
        return dict(value)
    return json.loads(value) if isinstance(value, str) else value


class Encoder:
    """Canonical event bytes. The fields few events differ in become three cached pieces, keyed by
    their values as given (a state as stored text, or its canonical JSON when given as a dict);
    a key whose fields cannot be read gives None (the caller then reports the event)."""

    LIMIT = 100_000  # pieces remembered, whatever the data

    def __init__(self) -> None:
        self.known: dict[tuple[Any, ...], tuple[bytes, bytes, bytes] | None] = {}

    def pieces(
        self,
        trigger: Any,
        from_state: Any,
        to_state: Any,
        actor: Any,
        actor_id: Any,
        role: Any,
        workflow_name: Any,
        workflow_version: Any,
    ) -> tuple[bytes, bytes, bytes] | None:
        """(head, mid, tail) of the canonical event, UTF-8."""
        # A state given as a dict is keyed by its items (cheaper than dumping it; the same
        # state in another key order is only a second entry with the same pieces).
        key = (
            trigger,
            tuple(from_state.items()) if isinstance(from_state, dict) else from_state,
            tuple(to_state.items()) if isinstance(to_state, dict) else to_state,
            actor,
            actor_id,
            role,
            workflow_name,
            workflow_version,
        )
        try:
            found = self.known.get(key, self)
        except TypeError:  # a state holding unhashable values (a damaged row): by its JSON
            key = (key[0], _keyed(from_state), _keyed(to_state), *key[3:])
            found = self.known.get(key, self)
        if found is self:
            if len(self.known) >= self.LIMIT:
                self.known.clear()
            found = self.known[key] = _pieces(key)
        return found  # type: ignore[return-value]

    @staticmethod
    def spliced(
        parts: tuple[bytes, bytes, bytes],
        *,
        at: bytes,
        hazard_id: int,
        hazard_seq: int,
        payload: bytes,
        prev_hash: bytes,
    ) -> bytes:
        """prev_hash || the canonical event; `at` is format_at's text without its `Z`, `payload`
        canonical JSON text, both UTF-8."""
        head, mid, tail = parts
        return _SPLICED % (
            prev_hash,
            head,
            at,
            mid,
            hazard_id,
            hazard_seq,
            payload,
            prev_hash,
            tail,
        )

    def hash(
        self,
        *,
        hazard_id: int,
        hazard_seq: int,
        trigger: Any,
        from_state: Any,
        to_state: Any,
        actor: Any,
        actor_id: Any = None,
        role: Any,
        at: datetime,
        payload: str,
        workflow_name: Any,
        workflow_version: Any,
        prev_hash: str,
    ) -> str | None:
        """The event's hash from its fields (payload as canonical JSON text); None when a field
        cannot be encoded."""
        parts = self.pieces(
            trigger, from_state, to_state, actor, actor_id, role, workflow_name, workflow_version
        )
        if parts is None or type(hazard_id) is not int or type(hazard_seq) is not int:
            return None
        data = self.spliced(
            parts,
            at=format_at(at)[:-1].encode("ascii"),
            hazard_id=hazard_id,
            hazard_seq=hazard_seq,
            payload=payload.encode("utf-8"),
            prev_hash=prev_hash.encode("ascii"),
        )
        return hashlib.sha256(data).hexdigest()


def _pieces(key: tuple[Any, ...]) -> tuple[bytes, bytes, bytes] | None:
    try:
        trigger, from_state, to_state, actor, actor_id, role, name, version = key
        if type(_text(version)) is not int or (actor_id is not None and type(actor_id) is not int):
            return None
        actor_part = f'{{"actor":{_string(_text(actor))},'
        if actor_id is not None:
            actor_part += f'"actor_id":{actor_id},'
        head = actor_part + '"at":"'
        mid = f'","from":{canonical_json(_state(from_state))},"hazard_id":'
        tail = (
            f',"role":{_string(_text(role))},"to":{canonical_json(_state(to_state))},'
            f'"trigger":{_string(_text(trigger))},"workflow":{{"name":{_string(_text(name))},'
            f'"version":{_number(version)}}}}}'
        )
        return head.encode(), mid.encode(), tail.encode()
    except (ValueError, TypeError, AttributeError):
        return None


_ENCODER = Encoder()


def canonical_event(
    *,
    hazard_id: int,
    hazard_seq: int,
    trigger: str,
    from_state: dict[str, str] | None,
    to_state: dict[str, str],
    actor: str,
    actor_id: int | None = None,
    role: str,
    at: datetime,
    payload: str,
    workflow_name: str,
    workflow_version: int,
    prev_hash: str,
) -> bytes:
    """The bytes an event's hash covers (without the leading prev_hash). `payload` must be
    canonical JSON text (as the service stores it): it is spliced in as is."""
    if type(payload) is not str:
        raise TypeError(f"payload must be canonical JSON text, not {type(payload).__name__}")
    parts = _ENCODER.pieces(
        trigger, from_state, to_state, actor, actor_id, role, workflow_name, workflow_version
    )
    if parts is None:
        raise ValueError("the event's fields cannot be encoded")
    prev = prev_hash.encode("ascii")
    data = Encoder.spliced(
        parts,
        at=format_at(at)[:-1].encode("ascii"),
        hazard_id=hazard_id,
        hazard_seq=hazard_seq,
        payload=payload.encode("utf-8"),
        prev_hash=prev,
    )
    return data[len(prev) :]


class ChainWalker:
    """Fed events in (hazard_id, hazard_seq) order, with the hash recomputed by the caller from
    the event's bytes (Encoder), it checks each chain: gapless hazard_seq from 1, each
    prev_hash the hash before it, each stored hash the recomputed one; and, told a hazard row's
    version and head, that the chain ends there. It keeps the first `limit` breaks."""

    def __init__(self, limit: int = 1000, *, trust_start: bool = False) -> None:
        self.limit = limit
        self.trust_start = trust_start  # an export may start a chain past its first event
        self.broken: list[dict[str, Any]] = []
        self.total_broken = 0
        self.events = 0
        self.chains = 0
        self.hazard_id: Any = None
        self.seq = 0
        self.hash: Any = GENESIS

    def fail(
        self, hazard_id: Any, hazard_seq: Any, reason: str, checkpoint: int | None = None
    ) -> None:
        """Record one break."""
        self.total_broken += 1
        if len(self.broken) < self.limit:
            entry = {"hazard_id": hazard_id, "hazard_seq": hazard_seq, "checkpoint": checkpoint}
            self.broken.append({**entry, "reason": reason})

    def start(self, hazard_id: Any, genesis: Any = GENESIS) -> None:
        """Begin the chain of a hazard (`genesis` in the type the hashes are fed in)."""
        self.hazard_id, self.chains, self.seq, self.hash = hazard_id, self.chains + 1, 0, genesis

    def feed(self, hazard_seq: Any, prev_hash: Any, stored: Any, recomputed: Any) -> bool:
        """Check the next event of the current chain; True when it holds."""
        self.events += 1
        want_seq, want_prev = self.seq + 1, self.hash
        if self.seq == 0 and self.trust_start and hazard_seq != 1:
            want_seq, want_prev = hazard_seq, prev_hash
        if hazard_seq == want_seq and prev_hash == want_prev and stored == recomputed:
            self.seq, self.hash = hazard_seq, stored
            return True
        reasons = []
        if hazard_seq != want_seq:
            reasons.append(
                f"hazard_seq {want_seq}–{hazard_seq - 1} missing (deleted?)"
                if isinstance(hazard_seq, int) and hazard_seq > want_seq
                else f"hazard_seq {hazard_seq} where {want_seq} was due"
            )
        if prev_hash != want_prev:
            reasons.append(
                f"prev_hash {_text(prev_hash)[:16]}… does not link to {_text(want_prev)[:16]}…"
            )
        if recomputed is None:
            reasons.append("the event's content cannot be read")
        elif stored != recomputed:
            reasons.append("hash mismatch: the event was changed after it was written")
        self.fail(self.hazard_id, hazard_seq, "; ".join(reasons))
        self.seq, self.hash = hazard_seq, stored
        return False

    def end(self, version: Any, head_hash: Any) -> None:
        """The hazard row says its chain has `version` events ending at `head_hash`."""
        if version == self.seq and head_hash == self.hash:
            return
        hid, last = self.hazard_id, self.seq
        if version is None:
            self.fail(hid, last, "events of a hazard that has no row")
        elif version > last:
            self.fail(
                hid,
                last + 1,
                f"hazard {hid} is at version {version} but its chain ends at hazard_seq {last}: "
                "the chain is shorter than the hazard's version (newest events deleted)",
            )
        else:
            self.fail(
                hid,
                last,
                f"hazard {hid} is at version {version}, head {_text(head_hash)[:16]}…; its chain "
                f"ends at hazard_seq {last}, hash {_text(self.hash)[:16]}… "
                "(newest events deleted or altered)",
            )

    def missing(self, hazard_id: Any, version: Any) -> None:
        """A hazard row whose chain has no events at all."""
        self.chains += 1
        self.fail(
            hazard_id,
            1,
            f"hazard {hazard_id} has no events although it is at version {version}: its chain "
            f"of {version} events is gone (missing: deleted)",
        )

    def result(self, **extra: Any) -> dict[str, Any]:
        return {
            "ok": self.total_broken == 0,
            "hazards_checked": self.chains,
            "events_checked": self.events,
            **extra,
            "broken_total": self.total_broken,
            "broken": self.broken,
        }
