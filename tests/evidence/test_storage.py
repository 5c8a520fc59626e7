"""EvidenceStore on a real directory: sniffing, limits, atomic content-addressed writes."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from rectify.evidence.storage import SUPPORTED_TYPES, EvidenceStore, StoredBlob, sniff
from rectify.exceptions import PayloadTooLarge, UnsupportedMediaType

LIMIT = 4096


def png_1x1() -> bytes:
    """A valid 1x1 greyscale PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_minimal() -> bytes:
    """A real 1x1 JPEG (the magic bytes alone are refused now: the image must decode)."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def webp_minimal() -> bytes:
    """A RIFF/WEBP container holding one (tiny) VP8L chunk."""
    vp8l = b"\x2f\x00\x00\x00\x00\x00"
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pdf_minimal() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def zip_empty() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    return buf.getvalue()


SAMPLES = {
    "image/jpeg": jpeg_minimal(),
    "image/png": png_1x1(),
    "image/webp": webp_minimal(),
    "application/pdf": pdf_minimal(),
}


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if not p.is_dir()] if root.exists() else []


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "evidence"


@pytest.fixture
def store(root: Path) -> EvidenceStore:
    return EvidenceStore(root, max_bytes=LIMIT)


def padded(content: bytes, size: int) -> bytes:
    return content + b"\x00" * (size - len(content))


@pytest.mark.parametrize("content_type", sorted(SAMPLES))
def test_each_type_is_sniffed_and_stored(store: EvidenceStore, content_type: str) -> None:
    data = SAMPLES[content_type]
    assert sniff(data[:16]) == content_type
    assert content_type in SUPPORTED_TYPES

    blob = store.put(io.BytesIO(data))

    assert blob.content_type == content_type
    assert blob.size == len(data)
    assert blob.created is True
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    assert blob.path == store.path(blob.sha256)


def test_sniff_ignores_everything_else() -> None:
    assert sniff(b"") is None
    assert sniff(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert sniff(b"\xff\xd8") is None
    assert sniff(b"GIF89a") is None


def test_stored_file_hashes_to_its_name(store: EvidenceStore, root: Path) -> None:
    blob = store.put(io.BytesIO(SAMPLES["image/png"]))

    stored = blob.path.read_bytes()
    assert hashlib.sha256(stored).hexdigest() == blob.path.name == blob.sha256
    assert blob.path.relative_to(root).parts == (blob.sha256[:2], blob.sha256[2:4], blob.sha256)
    with store.open(blob.sha256) as f:
        assert f.read() == SAMPLES["image/png"]
    assert files_under(root) == [blob.path]


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (b"hello, this is plain text\n" * 10, "text file"),
        (zip_empty(), "ZIP"),
        (b"", "empty"),
        (b"\x00\x01\x02\x03\xfe\xfe\xfe\xfe" * 4, "unknown"),
    ],
    ids=["text", "zip", "empty", "binary"],
)
def test_unsupported_content_is_refused_and_leaves_nothing(
    store: EvidenceStore, root: Path, data: bytes, hint: str
) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        store.put(io.BytesIO(data))

    assert caught.value.status == 415
    assert "JPEG, PNG, WebP or PDF" in caught.value.detail
    assert hint in caught.value.detail
    assert files_under(root) == []


def test_client_claims_do_not_matter(store: EvidenceStore) -> None:
    """A text file named photo.jpg is still text: only the bytes count."""
    stream = io.BytesIO(b"not really a jpeg")
    stream.name = "photo.jpg"  # type: ignore[attr-defined]
    with pytest.raises(UnsupportedMediaType):
        store.put(stream)


def test_one_byte_over_the_limit_is_refused_and_leaves_nothing(
    store: EvidenceStore, root: Path
) -> None:
    data = padded(SAMPLES["image/png"], LIMIT + 1)

    with pytest.raises(PayloadTooLarge) as caught:
        store.put(io.BytesIO(data), chunk_size=1000)

    assert caught.value.status == 413
    assert "4 KiB" in caught.value.detail
    assert files_under(root) == []


def test_reading_stops_at_the_limit(root: Path) -> None:
    store = EvidenceStore(root, max_bytes=LIMIT)
    stream = io.BytesIO(padded(SAMPLES["application/pdf"], LIMIT * 100))

    with pytest.raises(PayloadTooLarge):
        store.put(stream, chunk_size=1024)

    assert stream.tell() <= LIMIT + 1024


def test_default_limit_message_speaks_mib(root: Path) -> None:
    store = EvidenceStore(root, max_bytes=20 * 1024 * 1024)
    data = padded(SAMPLES["image/jpeg"], 20 * 1024 * 1024 + 1)

    with pytest.raises(PayloadTooLarge) as caught:
        store.put(io.BytesIO(data))

    assert "20 MiB" in caught.value.detail
    assert files_under(root) == []


def test_exactly_max_bytes_is_accepted(store: EvidenceStore) -> None:
    data = padded(SAMPLES["image/webp"], LIMIT)

    blob = store.put(io.BytesIO(data), chunk_size=1000)

    assert blob.size == LIMIT
    assert blob.path.stat().st_size == LIMIT


def test_same_content_twice_is_stored_once(store: EvidenceStore, root: Path) -> None:
    first = store.put(io.BytesIO(SAMPLES["image/jpeg"]))
    second = store.put(io.BytesIO(SAMPLES["image/jpeg"]))

    assert first.created is True
    assert second.created is False
    assert second.path == first.path
    assert second.sha256 == first.sha256
    assert files_under(root) == [first.path]


def test_discard_removes_only_created_files(store: EvidenceStore, root: Path) -> None:
    first = store.put(io.BytesIO(SAMPLES["application/pdf"]))
    again = store.put(io.BytesIO(SAMPLES["application/pdf"]))

    store.discard(again)
    assert first.path.exists()

    store.discard(first)
    assert not first.path.exists()
    assert files_under(root) == []


class BrokenStream(io.RawIOBase):
    """Yields a valid PNG start, then fails like a dropped connection."""

    def __init__(self, good: bytes) -> None:
        self.good = good
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 2:
            raise ConnectionResetError("client went away")
        return self.good


def test_a_stream_failing_mid_read_leaves_nothing(store: EvidenceStore, root: Path) -> None:
    with pytest.raises(ConnectionResetError):
        store.put(BrokenStream(SAMPLES["image/png"]), chunk_size=64)  # type: ignore[arg-type]

    assert files_under(root) == []


def test_open_missing_or_malformed_raises_file_not_found(store: EvidenceStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.open("0" * 64)
    with pytest.raises(FileNotFoundError):
        store.open("../../etc/passwd")


def test_blob_is_frozen(store: EvidenceStore) -> None:
    blob = store.put(io.BytesIO(SAMPLES["image/png"]))
    assert isinstance(blob, StoredBlob)
    with pytest.raises(AttributeError):
        blob.size = 0  # type: ignore[misc]
