"""Request ids and JSON logs: `X-Request-ID` is taken from the request (when it is a plain
token) or generated, returned in the response, and carried by every log line written while
the request is served; `rectify serve` writes one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from rectify.observability import request_id
from rectify.observability.logging import configure_logging
from tests.processes import Server
from tests.support import World

FIELDS = ["time", "level", "logger", "message", "request_id"]


def test_the_client_id_comes_back_on_every_answer(world: World) -> None:
    hid = world.report()["id"]
    for method, path, headers in (
        ("GET", "/healthz", {}),
        ("GET", f"/api/v1/hazards/{hid}", world.h("dispatcher")),
        ("GET", f"/api/v1/hazards/{hid}", {}),  # 401
        ("GET", "/api/v1/hazards/999999", world.h("dispatcher")),  # 404
        ("POST", f"/api/v1/hazards/{hid}/transitions", world.h("dispatcher")),  # 422
    ):
        for rid in ("req-42", "0f8fad5b-d9cb-469f-a165-70867728950e", "Root=1-5759e988;Sampled=1"):
            r = world.client.request(method, path, headers={**headers, "X-Request-ID": rid})
            assert r.headers["x-request-id"] == rid, (method, path, r.status_code)


def test_an_unexpected_error_still_returns_the_request_id(world: World) -> None:
    app = world.client.app
    assert isinstance(app, FastAPI)

    @app.get("/_test/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    r = world.client.get("/_test/boom", headers={"X-Request-ID": "req-500"})
    assert r.status_code == 500
    assert r.headers.get("x-request-id") == "req-500"


def test_an_id_is_generated_when_none_or_an_unfit_one_is_sent(world: World) -> None:
    seen = set()
    for sent in (None, "", "two words", "line\tbreak", "x" * 129, "中文"):
        headers = {} if sent is None else {"X-Request-ID": sent.encode()}
        r = world.client.get("/healthz", headers=headers)
        got = r.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", got), (sent, got)
        seen.add(got)
    assert len(seen) == 6  # a new one each time
    assert request_id.acceptable("a" * 128) and not request_id.acceptable("a" * 129)


@pytest.fixture
def json_logging() -> Iterator[io.StringIO]:
    """`rectify serve`'s logging configuration, writing to a buffer instead of stderr, and
    undone afterwards (pytest has its own)."""
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler"]
    saved = [
        (logger, logger.level, list(logger.handlers), logger.propagate)
        for logger in (logging.getLogger(name) for name in names)
    ]
    configure_logging()
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield buffer
    for logger, level, handlers, propagate in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_log_line_written_during_a_request_carries_its_id(
    world: World, json_logging: io.StringIO
) -> None:
    app = world.client.app
    assert isinstance(app, FastAPI)

    @app.get("/_test/log")
    def log_something() -> dict[str, str]:  # a sync view: runs in a worker thread
        logging.getLogger("rectify.test").warning("隐患 %s 已记录", 7, extra={"hazard_id": 7})
        return {"request_id": request_id.current() or ""}

    r = world.client.get("/_test/log", headers={"X-Request-ID": "req-log-1"})
    assert r.json() == {"request_id": "req-log-1"}
    logging.getLogger("rectify.test").warning("outside any request")

    lines = [ln for ln in _json_lines(json_logging.getvalue()) if ln["logger"] == "rectify.test"]
    inside, outside = lines
    assert list(inside)[:5] == FIELDS
    assert inside["message"] == "隐患 7 已记录" and inside["level"] == "WARNING"
    assert inside["request_id"] == "req-log-1" and inside["hazard_id"] == 7
    assert inside["time"].endswith("+00:00")
    assert outside["request_id"] is None


def test_rectify_serve_logs_json_lines_with_the_request_id(tmp_path: Path) -> None:
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'rectify.db'}")
    with server:
        r = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "req-serve-1"})
        assert r.headers["x-request-id"] == "req-serve-1"
    lines = _json_lines(server.output())
    assert lines and all(list(line)[:5] == FIELDS for line in lines), server.output()
    # One access line per request: the readiness probes' (generated ids) and ours.
    access = {line["request_id"]: line for line in lines if line["logger"] == "uvicorn.access"}
    assert None not in access and "req-serve-1" in access, access
    assert '"GET /healthz HTTP/1.1" 200' in access["req-serve-1"]["message"]
    assert "color_message" not in access["req-serve-1"]
    assert not [line for line in lines if line["logger"].startswith("apscheduler")]
