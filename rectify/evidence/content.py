"""Whether a staged evidence file holds what its first bytes claim: an image that Pillow can
read to sane dimensions, or a PDF with its header and end-of-file marker.

The first bytes only name a type (`storage.sniff`); a file whose header lies (a 3-byte "JPEG",
a PNG signature before garbage, an image declaring 100000×100000 pixels) is refused here,
before the file is published. Images are read as far as that is cheap: the header and the
dimensions, every PNG chunk's checksum, and a JPEG's whole compressed data decoded at 1/8 scale
(so a cut-off photo is caught). No image is decoded at full size: a small file may declare a
huge image, and decoding it would be the very memory bomb this refuses.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from pillow_heif import register_heif_opener

from rectify.exceptions import UnsupportedMediaType

register_heif_opener()  # HEIC/HEIF photos (the iPhone default) through the maintained decoder

__all__ = ["MAX_PIXELS", "MAX_SIDE", "PDF_EOF_WINDOW", "check"]

MAX_SIDE = 20_000
"""Pixels a side: more than any phone, camera or A3 scan at 600 dpi (≈ 7000 × 9900) produces."""
MAX_PIXELS = 100_000_000
"""Pixels in all (100 megapixels): beyond this an image is refused as a decompression bomb."""

# Pillow refuses by itself above twice this (DecompressionBombError) and warns above it; our own
# check refuses above MAX_PIXELS before anything is decoded. Process-wide, on purpose: nothing in
# rectify has a reason to open a larger image.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

PDF_EOF_WINDOW = 1024
"""Where the `%%EOF` marker must be: within the last KiB (what PDF readers search; writers may
add a newline or padding after it)."""

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "HEIF"}
_NAMES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WebP",
    "image/heic": "HEIC",
    "application/pdf": "PDF",
}


def check(path: Path, content_type: str, name: str | None = None) -> None:
    """Refuse (415, naming the file and what is wrong) a staged file that is not a usable
    `content_type`; `name` is the client's (cleaned) file name, for the message."""
    problem = _pdf(path) if content_type == "application/pdf" else _image(path, content_type)
    if problem:
        shown = f'"{name}"' if name else "the file"
        kind = _NAMES[content_type]
        raise UnsupportedMediaType(
            f"{shown} starts like a {kind} file but {problem}; "
            f"send the original {kind} (or export it again)"
        )


def _image(path: Path, content_type: str) -> str | None:
    """What is wrong with the image, or None. Pillow opens only the sniffed format."""
    formats = [_FORMATS[content_type]]
    try:
        with Image.open(path, formats=formats) as image:
            image.verify()  # PNG: every chunk and its CRC up to IEND; others: the structure
        with Image.open(path, formats=formats) as image:  # verify() leaves it unusable
            width, height = image.size
            problem = _dimensions(width, height)
            if problem is None and image.format == "JPEG":
                # Every byte of the compressed data is decoded, at 1/8 of the size.
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
            elif problem is None and image.format == "HEIF":
                image.load()  # no reduced decode for HEVC: within the pixel limit, decode it
            return problem
    except Image.DecompressionBombError:
        return "declares more pixels than the limit (a decompression bomb?)"
    except OSError as exc:
        if "truncated" in str(exc).lower():
            return "ends before the image does (it is truncated: was a copy interrupted?)"
        if isinstance(exc, Image.UnidentifiedImageError):
            return "its content cannot be read as an image"
        return "its content is damaged and cannot be decoded"
    except Exception:  # Pillow's parsers raise many kinds; whatever the client sent, a 415
        return "its content is damaged and cannot be decoded"


def _dimensions(width: int, height: int) -> str | None:
    if width < 1 or height < 1:
        return f"declares an image of {width}×{height} pixels"
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        return (
            f"declares {width}×{height} pixels, over the limit of {MAX_SIDE} a side and "
            f"{MAX_PIXELS // 1_000_000} million in all (a decompression bomb, or a scan to "
            "make smaller)"
        )
    return None


def _pdf(path: Path) -> str | None:
    """What is wrong with the PDF's frame (its header was sniffed), or None."""
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - PDF_EOF_WINDOW))
        tail = f.read()
    if b"%%EOF" not in tail:
        return "has no %%EOF end-of-file marker at its end (it is truncated or not a PDF)"
    return None
