"""Evidence through the API: POST /hazards/{id}/evidence and GET .../evidence/{sha256}.

Types are sniffed from the bytes (the declared filename and Content-Type are ignored), the size
limit is the configured one (256 KiB in tests), a refusal leaves no file behind and no record,
and identical bytes are stored once."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pillow_heif
from PIL import Image

from tests.support import World, png

API = "/api/v1"
LIMIT = 256 * 1024


def jpeg() -> bytes:
    """A real 1x1 JPEG: an image must decode, not only start with the right bytes."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1), (30, 200, 30)).save(out, "JPEG")
    return out.getvalue()


def webp() -> bytes:
    vp8l = b"\x2f\x00\x00\x00\x00\x00"
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def gif() -> bytes:
    return b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00"


def post(
    world: World,
    hid: int,
    data: bytes,
    name: str = "photo.png",
    ctype: str = "image/png",
    who="enterprise",
) -> httpx.Response:
    files = {"file": (name, io.BytesIO(data), ctype)}
    return world.client.post(f"{API}/hazards/{hid}/evidence", files=files, headers=world.h(who))


def evidence_files(world: World) -> list[Path]:
    """Every file under <data_dir>/evidence, the staging directory included."""
    root = world.ctx.settings.evidence_dir
    return sorted(Path(d) / f for d, _, names in os.walk(root) for f in names)


def listed(world: World, hid: int) -> list[dict[str, Any]]:
    return world.get(hid)["evidence"]


# Declared as something else on purpose: the bytes decide.
ACCEPTED = [
    ("jpeg", jpeg(), "scan.pdf", "application/pdf", "image/jpeg"),
    ("png", png(1), "photo.jpg", "image/jpeg", "image/png"),
    ("webp", webp(), "photo.png", "image/png", "image/webp"),
    ("pdf", pdf(), "report.jpg", "application/octet-stream", "application/pdf"),
]


def test_jpeg_png_webp_pdf_are_accepted_by_content_and_downloaded(world: World) -> None:
    hid = world.to("rectifying")
    for kind, data, name, declared, sniffed in ACCEPTED:
        r = post(world, hid, data, name, declared)
        assert r.status_code == 201, f"{kind}: {r.text}"
        assert r.json() == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "content_type": sniffed,
        }, kind
    assert sorted(e["content_type"] for e in listed(world, hid)) == sorted(a[4] for a in ACCEPTED)
    stored = [p for p in evidence_files(world) if p.parent.name != "tmp"]
    assert sorted(p.name for p in stored) == sorted(
        hashlib.sha256(a[1]).hexdigest() for a in ACCEPTED
    )
    # Download returns the very bytes, with the sniffed type.
    for kind, data, _, _, sniffed in ACCEPTED:
        sha = hashlib.sha256(data).hexdigest()
        r = world.client.get(f"{API}/hazards/{hid}/evidence/{sha}", headers=world.h("inspector"))
        assert r.status_code == 200, f"{kind}: {r.text}"
        assert r.content == data, kind
        assert r.headers["content-type"].startswith(sniffed), kind
    for sha in ("0" * 64, "not-a-hash", "..%2F..%2Frectify.db"):
        r = world.client.get(f"{API}/hazards/{hid}/evidence/{sha}", headers=world.h("inspector"))
        assert r.status_code == 404, f"{sha}: {r.status_code} {r.text}"


def wav() -> bytes:
    """A RIFF container, but audio (WAVE), not WebP."""
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + b"\x00" * 4
    return b"RIFF" + struct.pack("<I", len(body)) + body


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


REFUSED = [
    ("text named .png", b"these are not the photos you are looking for\n" * 3, 415),
    ("gif named .png", gif(), 415),
    ("wav named .png", wav(), 415),
    ("docx named .png", docx(), 415),
    ("empty file", b"", 415),
    ("one byte over the limit", png(2) + b"\x00" * (LIMIT + 1 - len(png(2))), 413),
    ("far over the limit", png(3) + b"\x00" * (2 * LIMIT), 413),
]


def test_a_refused_upload_leaves_nothing(world: World) -> None:
    hid = world.to("rectifying")
    before = world.get(hid)
    for what, data, status in REFUSED:
        r = post(world, hid, data, "photo.png", "image/png")
        assert r.status_code == status, f"{what}: {r.status_code} {r.text}"
        assert r.headers["content-type"].startswith("application/problem+json"), what
        assert r.json()["status"] == status and r.json()["detail"], what
        assert evidence_files(world) == [], f"{what}: a refused upload left a file behind"
        assert world.get(hid) == before, what
    # The limit itself is allowed.
    data = png(4) + b"\x00" * (LIMIT - len(png(4)))
    r = post(world, hid, data)
    assert r.status_code == 201, r.text
    assert r.json()["size"] == LIMIT


def test_the_same_bytes_are_stored_once_and_refusals_leave_only_them(world: World) -> None:
    first, second = world.to("rectifying"), world.to("rectifying")
    data = png(6)
    shas = {post(world, hid, data).json()["sha256"] for hid in (first, first, second)}
    assert shas == {hashlib.sha256(data).hexdigest()}
    stored = [p for p in evidence_files(world) if p.parent.name != "tmp"]
    assert [p.name for p in stored] == list(shas)
    assert [e["sha256"] for e in listed(world, first)] == list(shas)
    assert [e["sha256"] for e in listed(world, second)] == list(shas)
    kept = evidence_files(world)
    for what, refused, status in REFUSED:
        assert post(world, first, refused).status_code == status, what
    assert evidence_files(world) == kept
    assert [e["sha256"] for e in listed(world, first)] == list(shas)


def test_who_may_upload(world: World) -> None:
    hid = world.to("rectifying")
    assert post(world, hid, png(7), who="enterprise").status_code == 201
    assert post(world, hid, png(8), who="inspector").status_code == 201
    assert post(world, hid, png(9), who="dispatcher").status_code == 201
    refused = {who: post(world, hid, png(10), who=who) for who in ("auditor", "enterprise_other")}
    assert refused["auditor"].status_code == 403, refused["auditor"].text
    assert refused["enterprise_other"].status_code == 404, refused["enterprise_other"].text
    assert len(listed(world, hid)) == 3
    assert hashlib.sha256(png(10)).hexdigest() not in {p.name for p in evidence_files(world)}


def test_confirm_with_evidence_of_another_hazard_is_422(world: World) -> None:
    mine, other = world.to("rectifying"), world.to("rectifying")
    foreign = world.upload(other, seed=11)
    own = world.upload(mine, seed=12)
    before = world.get(mine)
    r = world.client.post(
        f"{API}/hazards/{mine}/transitions",
        json={
            "trigger": "confirm_rectified",
            "payload": {"summary": "完成", "evidence": [own, foreign]},
        },
        headers=world.h("enterprise"),
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["payload.evidence.1"]
    assert world.get(mine) == before
    # Nor can it be fetched through a hazard it was not uploaded to.
    r = world.client.get(f"{API}/hazards/{mine}/evidence/{foreign}", headers=world.h("enterprise"))
    assert r.status_code == 404, r.text
    body = world.fire(mine, "enterprise", "confirm_rectified", summary="完成", evidence=[own])
    assert body["state"] == "awaiting_verification"


def test_the_413_detail_states_the_configured_limit(world: World) -> None:
    hid = world.report()["id"]
    r = post(world, hid, png(3) + b"\x00" * (2 * LIMIT))
    assert r.status_code == 413
    detail = r.json()["detail"]
    assert "256 KiB" in detail or "0.25 MiB" in detail, detail


def test_a_file_whose_header_lies_is_415_naming_it_and_leaves_nothing(world: World) -> None:
    """Issue 9 item 7: the first bytes name a type; the content must be one."""
    hid = world.to("rectifying")
    before = world.get(hid)
    lies = {
        "现场照片.jpg": (b"\xff\xd8\xff", "cannot be read as an image"),
        "整改前.png": (png(20)[:33] + b"garbage!" * 40, "cannot be read as an image"),
        "巨幅.png": (_png_declaring(100_000, 100_000), "more pixels than the limit"),
        "验收报告.pdf": (pdf().replace(b"%%EOF", b""), "no %%EOF"),
    }
    for name, (data, says) in lies.items():
        r = post(world, hid, data, name, "application/octet-stream")
        assert r.status_code == 415, f"{name}: {r.status_code} {r.text}"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert f'"{name}"' in r.json()["detail"] and says in r.json()["detail"], r.json()
    assert evidence_files(world) == []
    assert world.get(hid) == before  # no evidence row, no evidence_added event


def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_files_are_served_so_that_a_browser_never_runs_them(world: World) -> None:
    """Images inline, PDFs as a download under the uploader's Chinese name; never sniffed, and
    under a policy that lets the file load nothing and run nothing."""
    hid = world.to("rectifying")
    photo = post(world, hid, png(21), "整改后.png").json()["sha256"]
    report = post(world, hid, pdf(), "验收报告.jpg", "image/jpeg").json()["sha256"]

    def get(sha: str) -> httpx.Response:
        r = world.client.get(f"{API}/hazards/{hid}/evidence/{sha}", headers=world.h("inspector"))
        assert r.status_code == 200, r.text
        return r

    image, document = get(photo), get(report)
    for r in (image, document):
        assert r.headers["x-content-type-options"] == "nosniff"
        csp = [d.strip() for d in r.headers["content-security-policy"].split(";")]
        assert {"default-src 'none'", "sandbox"} <= set(csp), csp
        assert not any("script" in d for d in csp), csp
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"] == (
        f"inline; filename=\"evidence-{photo[:12]}.png\"; filename*=UTF-8''" + quote("整改后.png")
    )
    # A PDF uploaded as .jpg is saved as .jpg.pdf: no program but a PDF reader opens it.
    assert document.headers["content-type"] == "application/pdf"
    assert document.headers["content-disposition"] == (
        f"attachment; filename=\"evidence-{report[:12]}.pdf\"; filename*=UTF-8''"
        + "%E9%AA%8C%E6%94%B6%E6%8A%A5%E5%91%8A.jpg.pdf"
    )
    assert unquote(document.headers["content-disposition"].split("''")[1]) == "验收报告.jpg.pdf"
    plain = post(world, hid, png(22), "site photo 1.png").json()["sha256"]
    assert get(plain).headers["content-disposition"] == (
        "inline; filename=\"site photo 1.png\"; filename*=UTF-8''site%20photo%201.png"
    )


def test_a_heic_photo_from_a_phone_is_evidence_and_downloads(world: World) -> None:
    """iPhones write HEIC by default: it is accepted (decoded by pillow-heif), recorded, and
    served as a download (browsers other than Safari cannot draw it)."""
    picture = Image.new("RGB", (320, 240), (10, 120, 60))
    out = io.BytesIO()
    pillow_heif.from_pillow(picture).save(out, format="HEIF", quality=60)
    hid = world.to("rectifying")
    r = post(world, hid, out.getvalue(), "IMG_0001.HEIC", "image/heic")
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "image/heic"
    got = world.client.get(
        f"{API}/hazards/{hid}/evidence/{r.json()['sha256']}", headers=world.h("inspector")
    )
    assert got.headers["content-type"] == "image/heic"
    assert got.headers["content-disposition"].startswith('attachment; filename="IMG_0001.HEIC"')
