"""Evidence whose header lies is refused (415) before it is published: images must decode to
sane dimensions, PDFs must carry their end-of-file marker (issue 9, item 7)."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from rectify.demo import tiny_png
from rectify.evidence.storage import EvidenceStore
from rectify.exceptions import UnsupportedMediaType

LIMIT = 1 << 20


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG (every CRC right) whose header declares width × height pixels and
    whose data holds one row: a decompression bomb's shape, without the bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00\x00\x00" * min(width, 16))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    picture = Image.new("RGB", size, (40, 90, 160))
    if fmt == "HEIF":  # as an iPhone writes it: HEVC in a HEIF container
        pillow_heif.from_pillow(picture).save(out, format="HEIF", quality=60)
    else:
        picture.save(out, fmt)
    return out.getvalue()


PNG_HEAD = tiny_png(1)[:33]  # signature and a valid IHDR chunk (1x1)
PDF_BODY = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n"

LIES = [
    ("3-byte jpeg", b"\xff\xd8\xff", "cannot be read as an image"),
    ("jpeg magic then text", b"\xff\xd8\xff\xe0" + b"not a photo at all " * 20, "truncated"),
    ("jpeg cut in half", image("JPEG")[: len(image("JPEG")) // 2], "truncated"),
    ("png header then garbage", PNG_HEAD + b"garbage!" * 64, "cannot be read as an image"),
    ("png without its end", tiny_png(1)[:-12], "truncated"),
    ("png 0x0", png_declaring(0, 0), "cannot be read as an image"),
    ("png 20001 px wide", png_declaring(20_001, 1), "20001×1 pixels, over the limit"),
    ("png 101 megapixels", png_declaring(10_050, 10_050), "over the limit"),
    ("webp cut short", image("WEBP")[:-8], "damaged"),
    ("heic cut short", image("HEIF")[: len(image("HEIF")) // 2], "HEIC"),
    ("pdf without %%EOF", PDF_BODY, "no %%EOF"),
    ("pdf with %%EOF far from its end", PDF_BODY + b"%%EOF\n" + b" " * 2048, "no %%EOF"),
]


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# Pillow warns of a bomb before our own limit refuses it; the refusal is what is tested here.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(("what", "data", "says"), LIES, ids=[lie[0] for lie in LIES])
def test_a_file_whose_header_lies_is_refused_and_leaves_nothing(
    tmp_path: Path, what: str, data: bytes, says: str
) -> None:
    store = EvidenceStore(tmp_path / "evidence", max_bytes=LIMIT)
    with pytest.raises(UnsupportedMediaType) as caught:
        store.put(io.BytesIO(data), name="现场照片.jpg")
    assert caught.value.status == 415
    assert says in caught.value.detail, caught.value.detail
    assert caught.value.detail.startswith('"现场照片.jpg" starts like a '), caught.value.detail
    assert files_under(tmp_path / "evidence") == []


GOOD = [
    ("png", tiny_png(2)),
    ("jpeg", image("JPEG")),
    ("webp", image("WEBP")),
    ("png padded after IEND", tiny_png(3) + b"\x00" * 100),
    ("pdf with a newline after %%EOF", PDF_BODY + b"%%EOF\r\n"),
    ("large but sane jpeg", image("JPEG", (4000, 3000))),
    ("heic from a phone", image("HEIF", (640, 480))),
]


@pytest.mark.parametrize(("what", "data"), GOOD, ids=[g[0] for g in GOOD])
def test_real_files_are_kept(tmp_path: Path, what: str, data: bytes) -> None:
    store = EvidenceStore(tmp_path / "evidence", max_bytes=LIMIT)
    blob = store.put(io.BytesIO(data), name="a.bin")
    assert blob.path.read_bytes() == data
    assert (blob.content_type == "image/heic") == (what == "heic from a phone")


BOMB_PROBE = """
import io, json, sys
from rectify.evidence.storage import EvidenceStore
from rectify.exceptions import UnsupportedMediaType

def peak_kib():  # this process's own peak (ru_maxrss may carry the parent's across exec)
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])

data = sys.stdin.buffer.read()
store = EvidenceStore(sys.argv[1], max_bytes=1 << 20)
before = peak_kib()
try:
    store.put(io.BytesIO(data))
    status = 201
except UnsupportedMediaType as exc:
    status = exc.status
print(json.dumps({"status": status, "grew_kib": peak_kib() - before}))
"""


def png_bomb(side: int) -> bytes:
    """A real bomb: side × side 8-bit grey pixels (side² bytes decoded) in ~1/1000 of that."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x07" * side
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_a_decompression_bomb_is_refused_without_decoding_it(tmp_path: Path) -> None:
    """11000 × 11000 pixels in 140 KB: decoding it would take 121 MB. A fresh process
    measures its own peak memory around the refusal."""
    bomb = png_bomb(11_000)
    assert len(bomb) < LIMIT
    probe = subprocess.run(
        [sys.executable, "-c", BOMB_PROBE, str(tmp_path / "evidence")],
        input=bomb,
        capture_output=True,
        check=True,
        timeout=60,
    )
    result = json.loads(probe.stdout)
    assert result["status"] == 415
    assert result["grew_kib"] < 16 * 1024, result  # far below the 121 MB a decode would take
    assert files_under(tmp_path / "evidence") == []
