"""`rectify serve` as a separate process, driven over real HTTP with tokens from the CLI.

Nothing is shared with the server but the database: tokens come from `rectify token create`
subprocesses, every call goes through a socket, and the server runs its timers as in
production. Runs on SQLite and, where RECTIFY_TEST_POSTGRES_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from rectify.audit.chain import GENESIS
from rectify.auth.service import TOKEN_PREFIX
from rectify.config import Settings
from rectify.startup import prepare
from rectify.timers.policy import CHINA_TZ
from tests.support import HOME, credit_code, png

ROOT = Path(__file__).resolve().parents[1]
START_DEADLINE = 45.0  # seconds for a server to answer /healthz
ROLES = {"dispatcher", "inspector", "enterprise", "auditor", "admin"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(data_dir: Path, database_url: str | None, demo: str | None) -> dict[str, str]:
    """The caller's environment without any RECTIFY_* setting, plus the ones given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECTIFY_")}
    env["RECTIFY_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    if database_url:
        env["RECTIFY_DATABASE_URL"] = database_url
    if demo is not None:
        env["RECTIFY_DEMO"] = demo
    return env


def launch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """A `rectify ...` command in its own process (the console script's module)."""
    return subprocess.Popen(
        [sys.executable, "-m", "rectify.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def token(proc: subprocess.Popen[str]) -> str:
    """The token a `rectify token create` printed as its last line."""
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=15)
    assert proc.returncode == 0, f"token create failed: {out}\n{err}"
    return out.strip().splitlines()[-1].strip()


def token_args(
    role: str, name: str, region: str | None = None, firm: int | None = None
) -> list[str]:
    args = ["token", "create", "--role", role, "--name", name]
    if region:
        args += ["--region", region]
    if firm is not None:
        args += ["--enterprise-id", str(firm)]
    return args


class Server:
    """One `rectify serve` process with its output in files (never a full pipe)."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out_path, self.err_path = workdir / "serve.out", workdir / "serve.err"
        self._out, self._err = self.out_path.open("wb"), self.err_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rectify.cli", "serve", "--port", str(self.port)],
            env=env,
            cwd=workdir,
            stdout=self._out,
            stderr=self._err,
        )

    def output(self) -> str:
        self._out.flush()
        self._err.flush()
        out = self.out_path.read_text(errors="replace")
        err = self.err_path.read_text(errors="replace")
        return f"--- stdout ---\n{out}\n--- stderr ---\n{err}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"rectify serve exited with {self.proc.returncode}\n{self.output()}")
            try:
                r = httpx.get(f"{self.base}/healthz", timeout=1)
                if r.status_code == 200 and r.json() == {"status": "ok"}:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"rectify serve did not answer /healthz in {START_DEADLINE}s\n{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._out.close()
        self._err.close()


@pytest.fixture
def server_env(backend: str, tmp_path: Path) -> dict[str, str]:
    """A migrated database as an earlier start left it, and the environment to serve it."""
    ctx = prepare(Settings(database_url=backend, data_dir=tmp_path / "data", demo=False))
    ctx.db.dispose()
    # The journeys below follow SPEC 2's payloads, which name no officers (tests/documents
    # checks the rule that they must, as shipped).
    env = clean_env(tmp_path / "data", backend, demo="0")
    return env | {"RECTIFY_DOCUMENTS_REQUIRE_OFFICERS": "0"}


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    servers: list[Server] = []

    def start(env: dict[str, str]) -> Server:
        workdir = tmp_path / f"serve{len(servers)}"
        workdir.mkdir()
        server = Server(env, workdir)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# -- the main track and the branches over HTTP -------------------------------------------


@dataclass
class Api:
    http: httpx.Client
    tokens: dict[str, str]
    fired: dict[int, list[str]] = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def report(self, firm: int, title: str, **extra: Any) -> int:
        body = {
            "enterprise_id": firm,
            "title": title,
            "description": "现场检查发现",
            "grade": "general",
            "industry": "危险化学品",
            "source": "inspection",
            "location": "罐区",
            "violation": False,
            **extra,
        }
        r = self.http.post("/api/v1/hazards", json=body, headers=self.h("inspector"))
        assert r.status_code == 201, r.text
        hid = r.json()["id"]
        self.fired[hid] = ["report"]
        return hid

    def fire(self, hid: int, who: str, trigger: str, expect: int = 200, **payload: Any) -> dict:
        r = self.http.post(
            f"/api/v1/hazards/{hid}/transitions",
            json={"trigger": trigger, "payload": payload},
            headers=self.h(who),
        )
        assert r.status_code == expect, f"{trigger}: {r.status_code} {r.text}"
        if expect == 200:
            self.fired[hid].append(trigger)
            # The server binds each step's 执法文书 into the chain once rendered, in the
            # background (document_issued): those events count towards the version too.
            version = int(r.headers["ETag"].strip('"'))
            history = self.http.get(f"/api/v1/hazards/{hid}/history", headers=self.h(who))
            issued = [
                e
                for e in history.json()
                if e["trigger"] == "document_issued" and e["hazard_seq"] <= version
            ]
            assert version == len(self.fired[hid]) + len(issued)
        else:
            assert r.headers["content-type"].startswith("application/problem+json")
        return r.json()

    def upload(self, hid: int, who: str, seed: int) -> str:
        files = {"file": ("现场照片.png", io.BytesIO(png(seed)), "image/png")}
        r = self.http.post(f"/api/v1/hazards/{hid}/evidence", files=files, headers=self.h(who))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["content_type"] == "image/png" and body["size"] == len(png(seed))
        self.fired[hid].append("evidence_added")  # the upload is an event of its own
        return body["sha256"]

    def get(self, hid: int) -> dict[str, Any]:
        r = self.http.get(f"/api/v1/hazards/{hid}", headers=self.h("dispatcher"))
        assert r.status_code == 200, r.text
        return r.json()

    def check_history(self, hid: int) -> list[dict[str, Any]]:
        r = self.http.get(f"/api/v1/hazards/{hid}/history", headers=self.h("dispatcher"))
        assert r.status_code == 200, r.text
        events = r.json()
        steps = [e["trigger"] for e in events if e["trigger"] != "document_issued"]
        assert steps == self.fired[hid]
        assert [e["hazard_seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["prev_hash"] == GENESIS and events[0]["from"] is None
        for prev, event in zip(events, events[1:], strict=False):
            assert event["prev_hash"] == prev["hash"]
            assert event["from"] == prev["to"]
        # A document rendered since the history was read may have added its event.
        assert self.get(hid)["version"] >= len(events)
        return events


def plan() -> dict[str, Any]:
    deadline = datetime.now(UTC) + timedelta(days=5)
    return {
        "measures": "更换报警探头并联动切断阀",
        "responsible_person": "王敏",
        "deadline": deadline.astimezone().isoformat(),
    }


def to_rectifying(api: Api, firm: int, title: str, **extra: Any) -> int:
    hid = api.report(firm, title, **extra)
    api.fire(hid, "dispatcher", "assign", assignee="设备部")
    api.fire(hid, "enterprise", "accept", plan=plan())
    return hid


def confirm(api: Api, hid: int, seed: int, **extra: Any) -> None:
    sha = api.upload(hid, "enterprise", seed)
    api.fire(hid, "enterprise", "confirm_rectified", summary="已整改", evidence=[sha], **extra)


def test_serve_drives_every_track_over_http(server_env: dict[str, str], start_server: Any) -> None:
    env = server_env
    # Tokens are created while the server starts: they share nothing but the database.
    server = start_server(env)
    making = [
        launch(env, *token_args("dispatcher", "江岸区应急管理局", HOME)),
        launch(env, *token_args("inspector", "执法员张伟", HOME)),
    ]
    dispatcher, inspector = (token(p) for p in making)
    tokens = {"dispatcher": dispatcher, "inspector": inspector}
    server.wait_ready()
    with httpx.Client(base_url=server.base, timeout=30) as http:
        r = http.get("/api/v1/hazards", headers={"Authorization": f"Bearer {dispatcher}"})
        assert r.status_code == 200 and r.json()["total"] == 0, r.text
        r = http.post(
            "/api/v1/enterprises",
            json={
                "name": "武汉江岸化工有限公司",
                "credit_code": credit_code(HOME, 1),
                "industry": "危险化学品",
                "region_code": HOME,
            },
            headers={"Authorization": f"Bearer {dispatcher}"},
        )
        assert r.status_code == 201, r.text
        firm = r.json()["id"]
        # The enterprise's token is made while the dispatcher works on a hazard of its own.
        making_firm = launch(env, *token_args("enterprise", "安全部", firm=firm))
        api = Api(http, tokens)
        try:
            # Production: closure (关闭取缔) ends the hazard with the enterprise's operation.
            shut = api.report(firm, "违法储存危险化学品")
            api.fire(shut, "dispatcher", "assign", assignee="总经理")
            api.fire(
                shut, "dispatcher", "order_suspension", order_no="停〔2026〕3号", reason="拒不整改"
            )
            body = api.fire(
                shut, "dispatcher", "order_closure", decision_no="关〔2026〕1号", reason="整顿无望"
            )
            # Workflow v2: the office asks; the people's government decides (art. 113).
            assert (body["state"], body["production"]) == ("assigned", "closure_requested")
            body = api.fire(
                shut,
                "dispatcher",
                "decide_closure",
                decision="approved",
                decided_on=datetime.now(CHINA_TZ).date().isoformat(),
                decision_no="岸政〔2026〕7号",
                deciding_body="武汉市江岸区人民政府",
            )
            assert (body["state"], body["production"], body["resolution"]) == (
                "closed",
                "shut_down",
                "shut_down",
            )
            api.check_history(shut)
        finally:
            tokens["enterprise"] = token(making_firm)

        # Main track: report → assign → accept → progress → evidence → confirm → pass → close.
        main = to_rectifying(api, firm, "储罐区可燃气体报警器失效")
        api.fire(main, "enterprise", "report_progress", note="探头已到货", percent=40)
        confirm(api, main, seed=1)
        api.fire(main, "inspector", "verify_pass", note="现场复查合格")
        body = api.fire(main, "dispatcher", "close", note="销号")
        assert body["state"] == "closed" and body["resolution"] == "rectified"
        assert body["pending_timers"] == []
        [sha] = [e["sha256"] for e in body["evidence"]]
        r = http.get(f"/api/v1/hazards/{main}/evidence/{sha}", headers=api.h("inspector"))
        assert r.status_code == 200 and r.content == png(1)
        api.check_history(main)

        # Supervision: listed, and a pass delists it (摘牌).
        listed = to_rectifying(api, firm, "重大危险源未设紧急切断")
        body = api.fire(
            listed,
            "dispatcher",
            "list_for_supervision",
            level="county",
            document_no="督〔2026〕1号",
        )
        assert body["supervision"] == "listed"
        confirm(api, listed, seed=2)
        api.fire(listed, "dispatcher", "close", expect=409)  # not verified yet
        body = api.fire(listed, "inspector", "verify_pass", note="复查合格，摘牌")
        assert body["supervision"] == "delisted" and body["state"] == "verified"
        api.fire(listed, "dispatcher", "close", note="销号")
        api.check_history(listed)

        # Production: suspended; confirmation needs the evaluation report; a pass resumes.
        suspended = to_rectifying(api, firm, "装置区联锁被摘除")
        body = api.fire(
            suspended,
            "dispatcher",
            "order_suspension",
            order_no="停〔2026〕2号",
            reason="无法保证安全",
        )
        assert body["production"] == "suspended"
        evidence = api.upload(suspended, "enterprise", seed=3)
        refused = api.fire(
            suspended,
            "enterprise",
            "confirm_rectified",
            expect=422,
            summary="已整改",
            evidence=[evidence],
        )
        assert "evaluation_report" in refused["detail"]
        report = api.upload(suspended, "enterprise", seed=4)
        api.fire(
            suspended,
            "enterprise",
            "confirm_rectified",
            summary="已整改",
            evidence=[evidence],
            evaluation_report=report,
        )
        body = api.fire(suspended, "inspector", "verify_pass", note="复产验收合格")
        assert body["production"] == "resumed" and body["state"] == "verified"
        api.fire(suspended, "dispatcher", "close", note="销号")
        api.check_history(suspended)

        # Judicial: transferred with attachments; not filed; closing then needs a penalty or
        # a waiver (不得以整改代替处罚).
        judicial = to_rectifying(api, firm, "擅自关闭报警联锁")
        attachment = api.upload(judicial, "dispatcher", seed=5)
        body = api.fire(
            judicial,
            "dispatcher",
            "transfer_to_judicial",
            receiving_organ="武汉市公安局江岸区分局",
            case_summary="涉嫌危险作业罪",
            officers=["张伟", "刘洋"],
            attachments=[attachment],
        )
        assert body["judicial"] == "transferred" and body["state"] == "rectifying"
        confirm(api, judicial, seed=6)
        api.fire(judicial, "inspector", "verify_pass", note="复查合格")
        pending = api.fire(judicial, "dispatcher", "close", expect=409, note="销号")
        assert "transferred" in pending["detail"]
        body = api.fire(
            judicial,
            "dispatcher",
            "record_judicial_decision",
            decision="not_filed",
            reason="不够刑事",
        )
        assert body["judicial"] == "not_filed"
        guard = api.fire(judicial, "dispatcher", "close", expect=409, note="销号")
        assert "penalty_waiver_reason" in guard["detail"]
        body = api.fire(
            judicial, "dispatcher", "close", note="销号", penalty_waiver_reason="已另案处罚"
        )
        assert body["state"] == "closed"
        api.check_history(judicial)

        r = http.get("/api/v1/hazards?state=closed", headers=api.h("dispatcher"))
        assert r.status_code == 200 and r.json()["total"] == 5, r.text
    assert server.proc.poll() is None, server.output()


# -- `make run` on an empty database -----------------------------------------------------


def test_first_start_loads_the_demo_and_prints_a_token_per_role(
    backend: str, start_server: Any, tmp_path: Path
) -> None:
    # SQLite: no URL at all, the default file under an empty data folder (as `make run`);
    # PostgreSQL: an empty database. RECTIFY_DEMO is not set.
    url = None if backend.startswith("sqlite") else backend
    data_dir = tmp_path / "fresh"
    server = start_server(clean_env(data_dir, url, demo=None))
    server.wait_ready()
    if url is None:
        assert (data_dir / "rectify.db").exists()

    out = server.output()
    printed = {}
    for line in out.splitlines():
        words = line.split()  # a token line (the people's lines below them name passwords)
        if len(words) >= 3 and words[0] in ROLES and words[-1].startswith(TOKEN_PREFIX):
            assert words[0] not in printed, out
            printed[words[0]] = words[-1]
    assert set(printed) == ROLES, out

    with httpx.Client(base_url=server.base, timeout=30) as http:

        def hazards(role: str, **filters: str) -> dict[str, Any]:
            r = http.get(
                "/api/v1/hazards",
                params=filters,
                headers={"Authorization": f"Bearer {printed[role]}"},
            )
            assert r.status_code == 200, r.text
            return r.json()

        # 9 along the tracks, 5 for the worklists (overdue, listed, due soon, late verification,
        # an extension request), whose overdue timers the scheduler may fire as it starts.
        everything = hazards("dispatcher", limit="100")
        assert everything["total"] == 14 and len(everything["items"]) == 14
        assert hazards("dispatcher", supervision="listed")["total"] >= 4
        assert hazards("dispatcher", production="suspended")["total"] >= 2
        assert hazards("dispatcher", judicial="transferred")["total"] == 1
        assert {h["state"] for h in everything["items"]} >= {
            "reported",
            "assigned",
            "rectifying",
            "awaiting_verification",
            "closed",
            "dismissed",
        }
        assert hazards("auditor")["total"] == 14
        assert hazards("inspector")["total"] == 14
        assert 0 < hazards("enterprise")["total"] < 14
        r = http.get("/api/v1/hazards", headers={"Authorization": "Bearer rt_not_a_token"})
        assert r.status_code == 401
