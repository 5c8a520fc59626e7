"""Content-addressed evidence files: sniffed by their bytes, size-limited, checked to hold what
their header claims (`content.py`), written atomically.

Files live at root/ab/cd/<sha256>; uploads are staged in root/tmp and never left behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rectify.evidence import content
from rectify.exceptions import PayloadTooLarge, UnsupportedMediaType

__all__ = ["SUPPORTED_TYPES", "EvidenceStore", "StoredBlob", "sniff"]

SUPPORTED_TYPES: dict[str, tuple[str, ...]] = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    "image/heic": (".heic", ".heif"),  # the iPhone camera's default (HEIF with HEVC)
    "application/pdf": (".pdf",),
}
"""The content types kept, each with its file name extensions (the first is the usual one)."""

HEAD_BYTES = 16
"""How many leading bytes are kept for sniffing (WebP needs 12)."""

_SHA256 = re.compile(r"[0-9a-f]{64}")

_HINTS: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or a Word/Excel file)"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)


def sniff(head: bytes) -> str | None:
    """The content type the first bytes prove, or None (the client's claim is never used)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "image/heic"
    return None


_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
"""Major brands of an ISO base media file that are HEIF still images (ISO/IEC 23008-12)."""


def _describe(head: bytes) -> str:
    """A human hint at what an unsupported file is, from its first bytes."""
    if not head:
        return "an empty file"
    if head[4:8] == b"ftyp":
        return "a HEIC/HEIF photo or a video" if head[8:12] != b"qt  " else "a QuickTime video"
    for magic, name in _HINTS:
        if head.startswith(magic):
            return name
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return f"unknown (starts with {head[:8].hex(' ')})"
    return "a text file"


def _size(n: int) -> str:
    """Bytes for people: '512 bytes', '300 KiB', '20 MiB', '25.3 MiB'."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _fsync_dir(directory: Path) -> None:
    """Make a rename into `directory` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    content_type: str
    path: Path
    created: bool  # False when identical content was already stored


class EvidenceStore:
    """Evidence files under `root` (<data_dir>/evidence), at most `max_bytes` each."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        """Where content with this hash is stored; ValueError for anything but 64 hex digits."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes; FileNotFoundError when absent (or the hash is malformed)."""
        try:
            path = self.path(sha256)
        except ValueError as exc:
            raise FileNotFoundError(str(exc)) from None
        return path.open("rb")

    def put(
        self, stream: BinaryIO, chunk_size: int = 1 << 20, name: str | None = None
    ) -> StoredBlob:
        """Copy the stream in, refusing oversize files, unknown types and content that is not
        what its header claims (`name`, the cleaned client file name, only for messages);
        nothing is left on error."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                sha, size, content_type = self._copy(stream, out, chunk_size, name)
                out.flush()
                content.check(tmp, content_type, name)  # the staged bytes, before publishing
                os.fsync(out.fileno())
            return self._commit(tmp, sha, size, content_type)
        finally:
            tmp.unlink(missing_ok=True)

    def discard(self, blob: StoredBlob) -> None:
        """Undo a put whose database transaction failed (only a file this put created)."""
        if blob.created:
            blob.path.unlink(missing_ok=True)

    def _copy(
        self, stream: BinaryIO, out: BinaryIO, chunk_size: int, name: str | None
    ) -> tuple[str, int, str]:
        """Stream into `out`, hashing and counting; stop at the first byte over the limit."""
        digest, size, head = hashlib.sha256(), 0, b""
        while chunk := stream.read(chunk_size):
            size += len(chunk)
            if size > self.max_bytes:
                raise PayloadTooLarge(
                    f"evidence is over {_size(self.max_bytes)}, the limit; "
                    "send a smaller file (reduce the photo's resolution or split the PDF)",
                    limit=self.max_bytes,
                )
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
                if len(head) >= HEAD_BYTES:
                    self._check_type(head, name)  # refuse early, before reading the rest
            digest.update(chunk)
            out.write(chunk)
        return digest.hexdigest(), size, self._check_type(head, name)

    @staticmethod
    def _check_type(head: bytes, name: str | None) -> str:
        content_type = sniff(head)
        if content_type is None:
            shown = f'"{name}" looks like' if name else "this looks like"
            raise UnsupportedMediaType(
                f"evidence must be a JPEG, PNG, WebP or PDF file; {shown} {_describe(head)}"
            )
        return content_type

    def _commit(self, tmp: Path, sha: str, size: int, content_type: str) -> StoredBlob:
        """Move the finished temp file to its content address (or keep the existing copy)."""
        final = self.path(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            # link, not replace: it fails when another upload published the same bytes first,
            # so exactly one upload owns (and may discard) a newly created file.
            os.link(tmp, final)
        except FileExistsError:
            return StoredBlob(sha, size, content_type, final, created=False)
        try:
            _fsync_dir(final.parent)
        except BaseException:
            final.unlink(missing_ok=True)  # the caller never learns of it, so cannot discard it
            raise
        return StoredBlob(sha, size, content_type, final, created=True)
