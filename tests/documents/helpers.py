"""Documents test helpers: officers, rendering what is pending, and reading a PDF the way an
auditor would (poppler's pdftotext, pdffonts and pdfinfo)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rectify.auth import people
from rectify.auth import service as auth
from rectify.documents import service as documents
from tests.support import HOME, World


@dataclass
class Officers:
    """Two inspectors with 执法证号 (tokens, by principal id) and one person (by username)."""

    a: int
    b: int
    a_token: str
    person: str  # username of an inspector who signs in

    def ids(self) -> list[int]:
        return [self.a, self.b]


def make_officers(world: World) -> Officers:
    ctx = world.ctx
    with ctx.db.write() as session:
        a, a_token = auth.create_token(
            session=session,
            role="inspector",
            name="王五",
            region_code=HOME,
            certificate_no="42010200001",
        )
        b, _ = auth.create_token(
            session=session,
            role="inspector",
            name="赵六",
            region_code=HOME,
            certificate_no="42010200002",
        )
        people.create_user(
            session=session,
            settings=ctx.settings,
            role="inspector",
            username="li.na",
            display_name="李娜",
            password="整改督办 correct horse",
            region_code=HOME,
            certificate_no="42010200003",
            now=ctx.now(),
        )
        # A colleague without a certificate number, and one in another district.
        auth.create_token(session=session, role="inspector", name="无证人员", region_code=HOME)
    world.tokens["officer_a"] = a_token
    assert a.id is not None and b.id is not None
    return Officers(a=a.id, b=b.id, a_token=a_token, person="li.na")


def render(world: World) -> int:
    """Render every pending document now (the worker's job in `rectify serve`)."""
    return documents.render_pending(ctx=world.ctx)


def listed(world: World, hid: int, who: str = "dispatcher") -> list[dict[str, Any]]:
    r = world.client.get(f"/api/v1/hazards/{hid}/documents", headers=world.h(who))
    assert r.status_code == 200, r.text
    return r.json()


def download(world: World, document_id: int, who: str = "dispatcher") -> bytes:
    r = world.client.get(f"/api/v1/documents/{document_id}", headers=world.h(who))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    return r.content


def issued_event(world: World, hid: int, document_id: int) -> dict[str, Any]:
    """The hazard's document_issued event for a document."""
    found = [
        e
        for e in world.history(hid)
        if e["trigger"] == "document_issued" and e["payload"]["document_id"] == document_id
    ]
    assert len(found) == 1, found
    return found[0]


def _poppler(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(
            [tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
            capture_output=True,
            check=True,
        )
    return done.stdout.decode()


def text_of(pdf: bytes) -> str:
    """The PDF's text as pdftotext extracts it, all whitespace removed (lines wrap anywhere)."""
    return re.sub(r"\s+", "", _poppler("pdftotext", pdf))


def fonts_of(pdf: bytes) -> list[dict[str, str]]:
    """pdffonts' table: name, type and the `emb` column of each font."""
    lines = _poppler("pdffonts", pdf).splitlines()[2:]
    rows = []
    for line in lines:
        parts = line.split()
        # name type... encoding emb sub uni object ID: the last 5 columns are fixed
        rows.append({"name": parts[0], "emb": parts[-5], "sub": parts[-4], "uni": parts[-3]})
    return rows


def info_of(pdf: bytes) -> str:
    return _poppler("pdfinfo", pdf)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def rectifying(world: World, officers: Officers, grade: str = "general") -> int:
    """A hazard assigned (with its officers) and accepted."""
    hid = world.report(grade=grade)["id"]
    world.fire(hid, "dispatcher", "assign", assignee="王工", officers=officers.ids())
    world.fire(hid, "enterprise", "accept", plan=world.plan(grade))
    return hid
