"""Bodies are bounded before they are read, and strangers are turned away before their body is
read (issue 9 item 2), against a real `rectify serve` over a socket.

What the server did is read from /proc: its resident memory (VmRSS), the bytes it wrote through
write() (`wchar` in /proc/<pid>/io: a body spooled to a temporary file shows there even when the
file has no name, as Python's TemporaryFile has none on Linux), and the files it held open
while the request streamed (/proc/<pid>/fd). Its TMPDIR is a folder of its own.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from rectify.auth import service as auth
from rectify.database.core import Database
from tests.processes import Server
from tests.support import HOME, credit_code, png

MiB = 1 << 20
UPLOAD_LIMIT = 1 * MiB  # the server's evidence_max_bytes here (default JSON limit: 1 MiB)
BOUNDARY = "rectifyboundary"


@dataclass
class Serve:
    server: Server
    url: str
    data_dir: Path
    tmpdir: Path
    tokens: dict[str, str]
    hazard: int

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid

    def h(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def temp_files(self) -> list[Path]:
        """Every file in the server's TMPDIR and the evidence store's staging folder."""
        folders = (self.tmpdir, self.data_dir / "evidence" / "tmp")
        return sorted(Path(d) / f for root in folders for d, _, fs in os.walk(root) for f in fs)

    def rss(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kib) * 1024

    def written(self) -> int:
        io = Path(f"/proc/{self.pid}/io").read_text()
        return int(next(line.split()[1] for line in io.splitlines() if line.startswith("wchar:")))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def serve(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Serve]:
    root = tmp_path_factory.mktemp("serve")
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'rectify.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    tmpdir = root / "tmp"
    tmpdir.mkdir()
    server = Server(
        root / "data",
        url,
        TMPDIR=str(tmpdir),
        RECTIFY_EVIDENCE_MAX_BYTES=str(UPLOAD_LIMIT),
        RECTIFY_SCHEDULER="0",
    ).start()
    try:
        db = Database(url)
        with db.write() as session:
            tokens = {
                role: auth.create_token(session=session, role=role, name=f"{role}-{n}", **scope)[1]
                for n, (role, scope) in enumerate(
                    (
                        ("dispatcher", {"region_code": HOME}),
                        ("auditor", {}),
                        ("admin", {}),
                    )
                )
            }
        db.dispose()
        d = {"Authorization": f"Bearer {tokens['dispatcher']}"}
        firm = {
            "name": "测试化工",
            "credit_code": credit_code(HOME, secrets.randbelow(90000) + 10000),
            "industry": "危险化学品",
            "region_code": HOME,
        }
        r = httpx.post(f"{server.url}/api/v1/enterprises", json=firm, headers=d)
        assert r.status_code == 201, r.text
        hazard = {
            "enterprise_id": r.json()["id"],
            "title": "储罐区无防火堤",
            "grade": "general",
            "industry": "危险化学品",
            "source": "inspection",
        }
        r = httpx.post(f"{server.url}/api/v1/hazards", json=hazard, headers=d)
        assert r.status_code == 201, r.text
        yield Serve(server, server.url, root / "data", tmpdir, tokens, r.json()["id"])
    finally:
        server.stop()


def multipart(size: int, chunk: int = MiB) -> Iterator[bytes]:
    """A multipart body with one file of `size` bytes (a PNG header, then zeros), chunk by chunk:
    sent without a Content-Length (chunked transfer encoding)."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + png(7)
    left = size - len(png(7))
    while left > 0:
        n = min(chunk, left)
        yield b"\x00" * n
        left -= n
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def upload(serve: Serve, who: str | None, body: object) -> httpx.Response:
    return httpx.post(
        f"{serve.url}/api/v1/hazards/{serve.hazard}/evidence",
        content=body,  # type: ignore[arg-type]
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **serve.h(who)},
        timeout=60,
    )


class OpenFiles:
    """Watch, while a request runs, for any file the server holds open under the given folders
    (a file without a name shows as '/folder/#123 (deleted)')."""

    def __init__(self, pid: int, *folders: Path) -> None:
        self.pid, self.folders = pid, [str(f) for f in folders]
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        fd_dir = Path(f"/proc/{self.pid}/fd")
        while not self._stop.is_set():
            for fd in fd_dir.iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if any(target.startswith(folder) for folder in self.folders):
                    self.seen.add(target)
            self._stop.wait(0.005)

    def __enter__(self) -> OpenFiles:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def assert_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, f"want {status}, got {r.status_code}: {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["detail"]
    return body


def test_a_60_mb_chunked_upload_without_a_token_is_401_and_nothing_is_spooled(
    serve: Serve,
) -> None:
    before, wrote = serve.temp_files(), serve.written()
    with OpenFiles(serve.pid, serve.tmpdir, serve.data_dir / "evidence") as files:
        r = upload(serve, None, multipart(60 * MiB))
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    assert serve.temp_files() == before == []
    assert files.seen == set(), f"the server opened {files.seen}"
    assert serve.written() - wrote < MiB, "the server wrote the body somewhere"


def test_a_50_mb_json_body_without_a_token_is_401_and_the_memory_stays_put(serve: Serve) -> None:
    body = b'{"title": "' + b"x" * (50 * MiB) + b'"}'
    for _ in range(2):  # the second round shows no growth from buffers kept for reuse either
        rss = serve.rss()
        r = httpx.post(
            f"{serve.url}/api/v1/hazards",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        assert_problem(r, 401)
        assert serve.rss() - rss < 5 * MiB, f"RSS grew by {(serve.rss() - rss) / MiB:.1f} MiB"


def test_a_2_mib_json_body_with_a_token_is_413(serve: Serve) -> None:
    body = b'{"title": "' + b"x" * (2 * MiB) + b'"}'
    url = f"{serve.url}/api/v1/hazards"
    total = httpx.get(url, headers=serve.h("dispatcher")).json()["total"]
    headers = {"Content-Type": "application/json", **serve.h("dispatcher")}
    declared = assert_problem(httpx.post(url, content=body, headers=headers, timeout=60), 413)
    assert "2 MiB" in declared["detail"] and "1 MiB" in declared["detail"], declared

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    streamed = assert_problem(httpx.post(url, content=chunked(), headers=headers, timeout=60), 413)
    assert "1 MiB" in streamed["detail"], streamed
    assert httpx.get(url, headers=serve.h("dispatcher")).json()["total"] == total


def test_an_over_limit_chunked_upload_with_a_token_is_413_and_leaves_nothing(serve: Serve) -> None:
    evidence = f"{serve.url}/api/v1/hazards/{serve.hazard}"
    wrote = serve.written()
    with OpenFiles(serve.pid, serve.tmpdir) as files:
        r = upload(serve, "dispatcher", multipart(8 * MiB))
    body = assert_problem(r, 413)
    assert "1 MiB" in body["detail"], body
    assert serve.temp_files() == []
    assert files.seen == set()  # the staging file lives in the evidence store, not in /tmp
    assert serve.written() - wrote < 3 * MiB  # the staging file stopped at the limit
    assert httpx.get(evidence, headers=serve.h("auditor")).json()["evidence"] == []

    # Within the limit, the file streams straight into the store.
    r = upload(serve, "dispatcher", multipart(UPLOAD_LIMIT - 1024))
    assert r.status_code == 201, r.text
    assert r.json()["size"] == UPLOAD_LIMIT - 1024
    assert serve.temp_files() == []
    assert len(httpx.get(evidence, headers=serve.h("auditor")).json()["evidence"]) == 1


def test_other_parts_cannot_carry_an_upload_past_the_limit(serve: Serve) -> None:
    """A 2 MiB text part before a small file: the body limit (not the file's) cuts it off."""

    def body() -> Iterator[bytes]:
        yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'.encode()
        for _ in range(32):
            yield b"x" * (64 * 1024)
        yield b"\r\n"
        yield from multipart(1024)

    r = upload(serve, "dispatcher", body())
    assert "1 MiB" in assert_problem(r, 413)["detail"]
    assert serve.temp_files() == []
    assert "Traceback" not in serve.server.output()


def test_a_revoke_by_another_process_holds_at_once(serve: Serve) -> None:
    db = Database(serve.server.env["RECTIFY_DATABASE_URL"])
    with db.write() as session:
        principal, token = auth.create_token(session=session, role="auditor", name="外部审计")
    db.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{serve.url}/api/v1/workflows", headers=headers).status_code == 200
    revoke = subprocess.run(
        [sys.executable, "-m", "rectify.cli", "token", "revoke", str(principal.id)],
        env=serve.server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert revoke.returncode == 0, revoke.stderr
    r = httpx.get(f"{serve.url}/api/v1/workflows", headers=headers)
    assert_problem(r, 401)
    assert token not in serve.server.output()  # nor did the token reach the server's log
