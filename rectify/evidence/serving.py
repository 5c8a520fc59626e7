"""How an evidence file is served: the response headers that keep a browser from ever treating
it as a page (images inline, everything else as a download, never sniffed, sandboxed), under
the uploader's cleaned file name. For the API's download and any page that serves a file."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from rectify.evidence.storage import SUPPORTED_TYPES
from rectify.inputs import clean_filename

__all__ = ["FILE_CSP", "download_name", "file_headers"]

# A stored file opened in a browser tab may load nothing but itself (an image document needs
# img-src 'self' and the browser's inline styles), run nothing (sandbox) and not be framed. The
# security-headers middleware keeps what an endpoint set, so this replaces its default policy.
FILE_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"
)


def file_headers(row: dict[str, Any]) -> dict[str, str]:
    """Headers for serving one evidence row's file: never sniffed, never a page, and private."""
    # Shown in the page: the images every browser draws (HEIC only Safari does: downloaded).
    inline = row["content_type"] in INLINE
    name = download_name(row)
    fallback = name if _plain_ascii(name) else _hash_name(row)
    disposition = (
        f'{"inline" if inline else "attachment"}; filename="{fallback}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"  # RFC 5987/6266: the real name, any script
    )
    return {
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
        "Cache-Control": "private",  # behind authorisation: no shared cache may keep it
    }


INLINE = frozenset({"image/jpeg", "image/png", "image/webp"})


def download_name(row: dict[str, Any]) -> str:
    """The uploader's file name, cleaned, with an extension that matches the stored type (a
    PDF uploaded as report.jpg is saved as report.jpg.pdf, never opened by the wrong program)."""
    name = clean_filename(row.get("filename"))
    if name is None:
        return _hash_name(row)
    extensions = SUPPORTED_TYPES[row["content_type"]]
    return name if name.lower().endswith(extensions) else name + extensions[0]


def _hash_name(row: dict[str, Any]) -> str:
    return f"evidence-{row['sha256'][:12]}{SUPPORTED_TYPES[row['content_type']][0]}"


def _plain_ascii(name: str) -> bool:
    """Fit for a quoted `filename=`: printable ASCII without quote or backslash."""
    return all(" " <= c <= "~" and c not in '"\\' for c in name)
