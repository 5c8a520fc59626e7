"""The canonical bytes of an event are exactly what they always were: every stored hash holds.

`_old_canonical_event` and `_old_format_at` are the original implementation, kept verbatim as the
reference: the whole event document dumped with json.loads(payload) inside it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rectify.audit.chain import (
    GENESIS,
    Encoder,
    canonical_event,
    canonical_json,
    format_at,
    link,
)


def _old_format_at(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _old_canonical_event(**f: Any) -> bytes:
    doc = {
        "hazard_id": f["hazard_id"],
        "hazard_seq": f["hazard_seq"],
        "trigger": f["trigger"],
        "from": f["from_state"],
        "to": f["to_state"],
        "actor": f["actor"],
        "role": f["role"],
        "at": _old_format_at(f["at"]),
        "payload": json.loads(f["payload"]),
        "workflow": {"name": f["workflow_name"], "version": f["workflow_version"]},
        "prev_hash": f["prev_hash"],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


STATE = {"state": "rectifying", "supervision": "none", "production": "normal", "judicial": "none"}
T = datetime(2026, 3, 2, 1, 0, 0, 123456, tzinfo=UTC)


def _event(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "hazard_id": 7,
        "hazard_seq": 3,
        "trigger": "accept",
        "from_state": {**STATE, "state": "assigned"},
        "to_state": STATE,
        "actor": "enterprise:李强",
        "role": "enterprise",
        "at": T,
        "payload": canonical_json({"plan": {"measures": "清理", "deadline": T.isoformat()}}),
        "workflow_name": "hazard",
        "workflow_version": 1,
        "prev_hash": hashlib.sha256(b"x").hexdigest(),
    }
    return {**fields, **changes}


CASES = {
    "plain": _event(),
    "report, from None": _event(hazard_seq=1, trigger="report", from_state=None, prev_hash=GENESIS),
    "Chinese everywhere": _event(
        actor="企业:湖北省武汉市某某化工有限公司",
        payload=canonical_json(
            {"title": "隐患", "note": "第1次进展：完成一半（50%）", "人": "王工"}
        ),
    ),
    "nested payload": _event(
        payload=canonical_json(
            {"z": [1, 2.5, -0.0, None, True, {"b": [], "a": {}}], "a": {"y": {"x": [[1e300]]}}}
        )
    ),
    "escapes": _event(
        actor='a "quoted" \\ actor\n\t\x01\x7f\u2028',
        payload=canonical_json({"note": 'line\nbreak "q" \\ \x00 \ud7ff \U0001f600 </script>'}),
    ),
    "empty payload": _event(payload="{}"),
    "big numbers": _event(hazard_id=2**40, hazard_seq=10**6, workflow_version=12),
    "other offset": _event(at=datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))),
    "no microseconds": _event(at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
    "year 999": _event(at=datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)),
    "year 9999": _event(at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    "many regions": _event(from_state={"z": "1", "a": "2", "m": "中"}, to_state={"b": "x"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_canonical_event_is_byte_identical_to_the_old_way(case: str) -> None:
    fields = CASES[case]
    assert canonical_event(**fields) == _old_canonical_event(**fields)
    assert format_at(fields["at"]) == _old_format_at(fields["at"])


texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.dictionaries(texts, json_values, max_size=5),
    actor=texts,
    trigger=texts,
    states=st.one_of(st.none(), st.dictionaries(texts, texts, max_size=4)),
    at=st.datetimes(timezones=st.just(UTC)),
    seq=st.integers(1, 10**9),
)
def test_canonical_event_equals_the_old_way_for_any_event(
    payload: dict, actor: str, trigger: str, states: dict | None, at: datetime, seq: int
) -> None:
    fields = _event(
        payload=canonical_json(payload),
        actor=actor,
        trigger=trigger,
        from_state=states,
        to_state=states or {},
        at=at,
        hazard_seq=seq,
    )
    assert canonical_event(**fields) == _old_canonical_event(**fields)


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c]["at"].year >= 1000])
def test_the_spliced_layout_gives_the_same_bytes(case: str) -> None:
    """What verify builds from stored text (time as stored on SQLite) is prev || canonical."""
    f = CASES[case]
    stored = {k: json.dumps(f[k]).encode() for k in ("from_state", "to_state")}  # as stored
    parts = Encoder().pieces(
        f["trigger"].encode(),
        stored["from_state"],
        stored["to_state"],
        f["actor"].encode(),
        None,
        f["role"].encode(),
        f["workflow_name"].encode(),
        f["workflow_version"],
    )
    assert parts is not None
    stored_at = f["at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f").encode()  # SQLite's
    prev = f["prev_hash"].encode()
    data = Encoder.spliced(
        parts,
        at=stored_at.replace(b" ", b"T"),
        hazard_id=f["hazard_id"],
        hazard_seq=f["hazard_seq"],
        payload=f["payload"].encode(),
        prev_hash=prev,
    )
    assert data == prev + _old_canonical_event(**f)
    assert hashlib.sha256(data).hexdigest() == link(f["prev_hash"], canonical_event(**f))


def test_a_payload_that_is_not_text_is_refused() -> None:
    with pytest.raises(TypeError):
        canonical_event(**_event(payload={"a": 1}))


def test_the_actor_id_is_hashed_beside_the_actor_and_absent_when_none() -> None:
    """Events since migration 0007 carry the principal's id; earlier ones (and the system's)
    have none, and their bytes are exactly what they always were."""
    f = CASES["plain"]
    with_id = canonical_event(**f, actor_id=42)
    doc = json.loads(_old_canonical_event(**f))
    expected = json.dumps(
        {**doc, "actor_id": 42}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert with_id == expected.encode()
    assert canonical_event(**f, actor_id=None) == _old_canonical_event(**f)
    assert link(f["prev_hash"], with_id) != link(f["prev_hash"], _old_canonical_event(**f))


def test_nan_and_infinity_never_enter_the_canonical_form() -> None:
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError):
            canonical_json({"amount_yuan": bad})
