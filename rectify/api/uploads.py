"""One file of a multipart/form-data body, read as the body streams: nothing is spooled to a
temporary file, the bytes go straight to whoever reads the stream (the evidence store's staging
file). Starlette's `request.form()` would first copy every file part to /tmp.

`MultipartFile` is a blocking, file-like reader for code running in a worker thread (a sync
FastAPI view): each read pulls the next body chunk from the event loop.
"""

from __future__ import annotations

import io
from collections import deque

import anyio.from_thread
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from rectify.exceptions import InvalidInput

__all__ = ["MultipartFile"]

MAX_HEADER_BYTES = 8 * 1024
"""The headers of one part (a name and a file name) never need more."""


class _Part:
    """One file part as it arrives."""

    __slots__ = ("chunks", "complete", "filename")

    def __init__(self, filename: str | None) -> None:
        self.filename = filename
        self.chunks: deque[bytes] = deque()
        self.complete = False


MAX_FIELD_BYTES = 1024
"""A small text field read beside the file (a CSRF token, a choice) never needs more."""


class MultipartFile(io.RawIOBase):
    """The first part named `field` of a multipart body, readable while the body arrives;
    `next_file()` moves on to the next part of that name (a form's `multiple` file input).
    Small text parts named in `fields` that come before a file are kept in `self.fields`."""

    def __init__(self, request: Request, field: str = "file", fields: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.field = field
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self._wanted = fields
        self._text: tuple[str, bytearray] | None = None
        content_type, params = parse_options_header(request.headers.get("content-type"))
        boundary = params.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise self._invalid(f"send multipart/form-data with the file in the field `{field}`")
        try:
            self._parser = MultipartParser(boundary, self._callbacks())
        except MultipartParseError as exc:
            raise self._invalid(f"the multipart body is malformed: {exc}") from None
        self._body = request.stream()
        # Each part named `field`: its file name, its bytes not yet read, whether it ended. One
        # body chunk may end a file and begin the next, so parts are kept apart as they come.
        self._parts: list[_Part] = []
        self._current = 0  # the part being read
        self._headers: list[tuple[bytes, bytes]] = []
        self._header = [b"", b""]
        self._header_bytes = 0
        self._in_field = False
        self._ended = False  # the body ended

    # -- the file-like side (worker thread) ------------------------------------------------

    def open(self) -> MultipartFile:
        """Read up to the file part's data (its headers give the file name); 422 if none."""
        if not self._reach(self._current):
            raise self._invalid(f"the multipart body has no field `{self.field}`")
        return self

    def next_file(self) -> bool:
        """Move on to the next part named `field` (the rest of this one is skipped); False
        when the body holds no more."""
        if self._current < len(self._parts):
            self._parts[self._current].chunks.clear()
        self._current += 1
        return self._reach(self._current)

    def _reach(self, index: int) -> bool:
        while len(self._parts) <= index:
            if not self._pull():
                return False
        self.filename = self._parts[index].filename
        return True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        part = self._parts[self._current]
        while not part.chunks and not part.complete:
            if not self._pull():
                raise self._invalid("the multipart body ended before the file did")
        if not part.chunks:
            return 0
        chunk = part.chunks.popleft()
        n = min(len(buffer), len(chunk))
        buffer[:n] = chunk[:n]
        if n < len(chunk):
            part.chunks.appendleft(chunk[n:])
        return n

    def _pull(self) -> bool:
        """Feed the next body chunk to the parser; False when the body has ended."""
        if self._ended:
            return False
        chunk = anyio.from_thread.run(self._next_chunk)
        try:
            if chunk is None:
                self._ended = True
                self._parser.finalize()
                return False
            self._parser.write(chunk)
        except MultipartParseError as exc:
            raise self._invalid(f"the multipart body is malformed: {exc}") from None
        return True

    async def _next_chunk(self) -> bytes | None:
        try:
            return await self._body.__anext__()
        except StopAsyncIteration:
            return None
        except ClientDisconnect:
            # The client went away, or the body limit cut it off (which then answers 413):
            # a 4xx that unwinds the upload (its staging file is removed), not a server error.
            raise self._invalid("the upload ended early: the connection was closed") from None

    def _invalid(self, message: str) -> InvalidInput:
        return InvalidInput.fields([{"field": self.field, "message": message}])

    # -- the parser's callbacks ------------------------------------------------------------

    def _callbacks(self) -> dict:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }

    def _on_part_begin(self) -> None:
        self._headers, self._header, self._header_bytes = [], [b"", b""], 0

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._grow_header(end - start)
        self._header[0] += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._grow_header(end - start)
        self._header[1] += data[start:end]

    def _grow_header(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > MAX_HEADER_BYTES:
            raise MultipartParseError("a part's headers are too long")

    def _on_header_end(self) -> None:
        self._headers.append((self._header[0].strip().lower(), self._header[1].strip()))
        self._header = [b"", b""]

    def _on_headers_finished(self) -> None:
        disposition = dict(self._headers).get(b"content-disposition")
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._in_field = name == self.field
        if self._in_field:
            filename = options.get(b"filename")
            self._parts.append(_Part(filename.decode("utf-8", "replace") if filename else None))
        elif name in self._wanted and b"filename" not in options and not self._parts:
            self._text = (name, bytearray())

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_field and end > start:
            self._parts[-1].chunks.append(bytes(data[start:end]))
        elif self._text is not None:
            self._text[1].extend(data[start:end])
            if len(self._text[1]) > MAX_FIELD_BYTES:
                raise MultipartParseError(f"the field {self._text[0]} is too long")

    def _on_part_end(self) -> None:
        if self._in_field:
            self._in_field = False
            self._parts[-1].complete = True
        elif self._text is not None:
            name, value = self._text
            self.fields.setdefault(name, value.decode("utf-8", "replace"))
            self._text = None
