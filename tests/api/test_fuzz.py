"""Fuzzing the HTTP API from its own OpenAPI document (schemathesis on the in-process ASGI app,
SQLite, a real dispatcher token): whatever a client sends, the answer is never a 5xx, and every
error (status >= 400) is application/problem+json.

Each operation is driven three ways: positive cases with generated path ids (mostly unknown),
positive cases aimed at real objects in the dispatcher's scope, and negative cases (bodies and
parameters that break the schema). The transitions endpoint gets a fourth run whose bodies use
the workflow's own trigger and payload field names on hazards in several states, so that the
payload rules, not only the "unknown trigger" check, are exercised. Generation is derandomized
(a fixed seed) and needs no example database, so CI repeats the same requests.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case
from schemathesis.core import NotSet
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation

from rectify.hazards.triggers import REGISTRY
from rectify.hazards.triggers.track import Plan
from tests.support import World

MIN_REQUESTS = 1000
EXAMPLES = 24  # per operation and run; operations with few distinct inputs stop earlier
PROBLEM = "application/problem+json"
# Failures already reported, by operation and a signature of their message; each is reproduced
# by a test of its own below (xfail until fixed), so that the fuzzer stays strict about the rest.
KNOWN: dict[tuple[str, str], str] = {}


@pytest.fixture
def backend(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the fuzzer looks for request handling bugs, not database differences."""
    db = tmp_path / "rectify.db"
    db.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{db}"


@dataclass
class Tally:
    """Every request sent, and every answer that broke the contract."""

    requests: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, label: str, message: str) -> None:
        self.failures.setdefault(label, []).append(message)


def _describe(case: Case) -> str:
    if isinstance(case.body, NotSet):
        text = ""
    elif isinstance(case.body, bytes):
        text = f"<{len(case.body)} bytes>"
    else:
        text = json.dumps(case.body, ensure_ascii=False, default=str)[:300]
    query = f"?{case.query}" if case.query else ""
    return f"{case.method} {case.formatted_path}{query} {text}".strip()


def _where(exc: BaseException) -> str:
    """The innermost frame of rectify's own code (else the innermost one) of a traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/rectify/" in f.filename] or frames
    f = ours[-1]
    return f"{type(exc).__name__}: {exc} at {Path(f.filename).name}:{f.lineno} {f.name}"


def _send(case: Case, token: str, tally: Tally) -> None:
    label = f"{case.method} {case.path}"
    tally.requests += 1
    tally.by_operation[label] = tally.by_operation.get(label, 0) + 1
    try:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
    except Exception as exc:  # the app raised: a 500 the server would have sent
        tally.fail(label, f"{_describe(case)} -> 500, {_where(exc)}")
        return
    status = response.status_code
    content_type = response.headers.get("content-type", [""])[0]  # lowercase keys, lists
    if status >= 500:
        tally.fail(label, f"{_describe(case)} -> {status} {response.text[:200]}")
    elif status >= 400 and not content_type.startswith(PROBLEM):
        tally.fail(label, f"{_describe(case)} -> {status} with content-type {content_type!r}")


def _drive(strategy: st.SearchStrategy[Case], send: Callable[[Case], None]) -> None:
    # No shrinking (nothing raises inside: failures are tallied) and no example database, so a
    # run is the same requests every time.
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case) -> None:
        send(case)

    # Negative cases of an operation with nothing to break (no parameters, no body) cannot be.
    with suppress(Unsatisfiable):
        run()


# -- what the cases aim at ------------------------------------------------------------------


@dataclass
class Targets:
    """Real objects in the dispatcher's scope, by path parameter name."""

    ids: dict[str, Any]
    hazards: list[int]  # in several states, for the transitions run
    triggers: list[str]


def build_targets(world: World) -> Targets:
    hazards = [world.to(state) for state in ("reported", "assigned", "rectifying")]
    hazards.append(world.to("awaiting_verification"))
    sha = world.upload(hazards[0], who="dispatcher", seed=42)
    hook = world.client.post(
        "/api/v1/webhooks",
        json={"url": "https://example.org/hook", "event_types": ["*"]},
        headers=world.h("dispatcher"),
    )
    assert hook.status_code == 201, hook.text
    definition = world.ctx.registry.all()[0]
    return Targets(
        ids={
            "hazard_id": hazards[1],
            "enterprise_id": world.home_firm,
            "sha256": sha,
            "webhook_id": hook.json()["id"],
            "name": definition.name,
            "version": definition.version,
        },
        hazards=hazards,
        triggers=sorted(definition.triggers),
    )


# Payload values: JSON of any shape, plus the shapes the rules look for (times, hashes).
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
    | st.text(max_size=20)
    | st.datetimes(timezones=st.none() | st.just(UTC)).map(lambda d: d.isoformat())
    | st.sampled_from(["", " ", "county", "city", "province", "major", "filed", "fine", "a" * 64])
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
_FIELDS = sorted({name for model in (*REGISTRY.values(), Plan) for name in model.model_fields})


def _transition_bodies(targets: Targets) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "trigger": st.sampled_from(targets.triggers),
            "payload": st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=6)
            | st.dictionaries(
                st.sampled_from(_FIELDS), st.dictionaries(st.sampled_from(_FIELDS), _JSON)
            ),
        }
    )


def _strategies(
    operation: APIOperation, targets: Targets
) -> list[tuple[str, st.SearchStrategy[Case]]]:
    params = {p.name for p in operation.path_parameters}
    real = {name: value for name, value in targets.ids.items() if name in params}
    runs = [
        ("generated ids", operation.as_strategy(GenerationMode.POSITIVE)),
        ("negative", operation.as_strategy(GenerationMode.NEGATIVE)),
    ]
    if real or operation.path == "/api/v1/hazards":

        def own_firm(case: Case) -> Case:
            # A report for the dispatcher's own enterprise gets past the scope check.
            if isinstance(case.body, dict) and "enterprise_id" in case.body:
                case.body["enterprise_id"] = targets.ids["enterprise_id"]
            return case

        positive = operation.as_strategy(path_parameters=real or None)
        runs.append(("real ids", positive.map(own_firm)))
    if operation.path.endswith("/transitions"):
        bodies = _transition_bodies(targets)
        ids = st.sampled_from(targets.hazards)

        def aim(drawn: tuple[Case, int, dict[str, Any]]) -> Case:
            case, hazard_id, body = drawn
            case.path_parameters = {"hazard_id": hazard_id}
            case.body = body
            return case

        positive = operation.as_strategy(GenerationMode.POSITIVE)
        runs.append(("domain bodies", st.tuples(positive, ids, bodies).map(aim)))
    return runs


# -- the test -------------------------------------------------------------------------------


def _signatures(failure: str) -> list[str]:
    return [sig for _, sig in KNOWN if sig in failure]


def test_no_request_gets_a_5xx_and_every_error_is_a_problem_document(world: World) -> None:
    targets = build_targets(world)
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        # The dispatcher's token, but an auditor's where only auditors get past the role check.
        who = "auditor" if operation.path.startswith("/api/v1/audit/") else "dispatcher"
        send = partial(_send, token=world.tokens[who], tally=tally)
        for _, strategy in _strategies(operation, targets):
            _drive(strategy, send)
    print(f"fuzz: {tally.requests} requests over {len(tally.by_operation)} operations")
    assert tally.requests >= MIN_REQUESTS, tally.by_operation
    new = {
        label: [f for f in found if not any((label, sig) in KNOWN for sig in _signatures(f))]
        for label, found in sorted(tally.failures.items())
    }
    report = [
        f"{label}: {len(found)} failing, e.g.\n    " + "\n    ".join(found[:3])
        for label, found in new.items()
        if found
    ]
    assert not report, "\n".join(report)


# -- bodies that Python's json takes but JSON does not, and odd headers ------------------------

_NOT_JSON = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", '"\\ud800"', '"a\\udc00b"', "1" * 4500]
)
_HEADER = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=30).map(
    lambda text: text.strip().encode("latin-1")
)


def _body(where: str, field: str, bad: str) -> str:
    """An assignment (which the hazard's state allows) with `bad`, JSON text that Python's json
    takes and JSON does not, at `where`: in a named or an unknown field, nested, beside a lone
    surrogate key, or as the second value of a duplicate key."""
    key = bad if bad.startswith('"') else '"k"'
    given = '"assignee":"王工"'
    return {
        "trigger": f'{{"trigger":{bad},"payload":{{{given}}}}}',
        "payload": f'{{"trigger":"assign","payload":{{{given},"{field}":{bad}}}}}',
        "deep": f'{{"trigger":"assign","payload":{{{given},"{field}":[1,{{"x":{bad}}}]}}}}',
        "key": f'{{"trigger":"assign","payload":{{{given},{key}:1,"x":{bad}}}}}',
        "dup": f'{{"trigger":"assign","payload":{{{given},"{field}":1,"{field}":{bad}}}}}',
    }[where]


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(
    field=st.sampled_from(_FIELDS),
    bad=_NOT_JSON,
    where=st.sampled_from(["trigger", "payload", "deep", "key", "dup"]),
    if_match=_HEADER,
    key=_HEADER,
)
def _odd_requests(
    world: World, hid: int, field: str, bad: str, where: str, if_match: bytes, key: bytes
) -> None:
    body = _body(where, field, bad).encode("utf-8")
    headers = world.h("dispatcher", **{"content-type": "application/json"})
    odd = {"If-Match": if_match} | ({"Idempotency-Key": key} if key else {})
    for path in (f"/api/v1/hazards/{hid}/transitions", "/api/v1/hazards", "/api/v1/enterprises"):
        r = world.client.post(path, content=body, headers=headers)
        assert 400 <= r.status_code < 500, (path, body[:200], r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith(PROBLEM), (path, r.headers)
    # The odd headers on a body that is fine (a trigger the state refuses: nothing applies).
    fine = {"trigger": "close", "payload": {"note": "x"}}
    r = world.client.post(
        f"/api/v1/hazards/{hid}/transitions", json=fine, headers={**headers, **odd}
    )
    assert 400 <= r.status_code < 500, (odd, r.status_code, r.text[:200])


def test_non_json_numbers_lone_surrogates_duplicate_keys_and_odd_headers_are_4xx(
    world: World,
) -> None:
    """Python's json parses NaN, Infinity, 1e999 (as inf), lone surrogates and duplicate keys;
    none of them may reach a model, the chain or the database (issue 9, items 3 and 4)."""
    hid = world.to("reported")
    _odd_requests(world, hid)
    assert world.get(hid)["version"] == 1


# -- what the fuzzer found ------------------------------------------------------------------

BIG = 2**70  # an integer no 64-bit column holds

BIG_ID_REQUESTS = [
    ("GET", f"/hazards/{BIG}", {}),
    ("GET", f"/hazards/{BIG}/history", {}),
    ("GET", f"/hazards/{BIG}/evidence/{'a' * 64}", {}),
    ("POST", f"/hazards/{BIG}/evidence", {"files": {"file": ("a.png", b"x", "image/png")}}),
    ("POST", f"/hazards/{BIG}/transitions", {"json": {"trigger": "assign", "payload": {}}}),
    ("GET", f"/enterprises/{BIG}", {}),
    ("GET", f"/webhooks/{BIG}", {}),
    ("DELETE", f"/webhooks/{BIG}", {}),
    ("GET", f"/hazards?enterprise_id={BIG}", {}),
    ("GET", f"/hazards?offset={BIG}", {}),
    ("GET", f"/webhooks/deliveries?webhook_id={BIG}", {}),
    (
        "POST",
        "/hazards",
        {
            "json": {
                "enterprise_id": BIG,
                "title": "x",
                "grade": "general",
                "industry": "x",
                "source": "inspection",
            }
        },
    ),
]


def test_ids_beyond_64_bits_are_refused_not_a_server_error(world: World) -> None:
    """The fuzzer's first finding (fixed): such an id reached the driver, which overflowed."""
    for method, path, kwargs in BIG_ID_REQUESTS:
        r = world.client.request(method, f"/api/v1{path}", headers=world.h("dispatcher"), **kwargs)
        assert 400 <= r.status_code < 500, f"{method} {path}: {r.status_code}"
        assert r.headers["content-type"].startswith(PROBLEM), f"{method} {path}"


def test_replay_of_an_id_beyond_64_bits_is_not_a_server_error(world: World) -> None:
    r = world.client.get(f"/api/v1/hazards/{BIG}/replay", headers=world.h("dispatcher"))
    assert r.status_code < 500, r.text
