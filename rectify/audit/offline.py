"""Offline verification of an export file (JSON Lines or CSV), with no database: its trailer
(required: the event count and the SHA-256 of every byte before it, so a file cut short is
broken) and its chains, through the same Encoder and ChainWalker as the database's verify."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from rectify.audit import export
from rectify.audit.chain import ChainWalker, Encoder, canonical_json

__all__ = ["verify_file"]

_ENCODER = Encoder()


def _public_hash(doc: dict[str, Any]) -> str | None:
    """An exported event's hash recomputed from its public fields (None: unreadable)."""
    try:
        at = doc["at"]
        if not isinstance(at, str) or not at.endswith("Z"):
            return None
        return _ENCODER.hash(
            hazard_id=doc["hazard_id"],
            hazard_seq=doc["hazard_seq"],
            trigger=doc["trigger"],
            from_state=doc["from"],
            to_state=doc["to"],
            actor=doc["actor"],
            actor_id=doc.get("actor_id"),
            role=doc["role"],
            at=datetime.fromisoformat(at),
            payload=canonical_json(doc["payload"]),
            workflow_name=doc["workflow"]["name"],
            workflow_version=doc["workflow"]["version"],
            prev_hash=doc["prev_hash"],
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


class _Reader:
    """The lines of an export file, decoded, with the SHA-256 of the bytes read so far; `mark`
    keeps the digest as it stands before the next line read (where a record starts)."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self.lines, self.digest, self.number = lines, hashlib.sha256(), 0
        self.marking, self.before = False, self.digest.copy()

    def mark(self) -> None:
        self.marking = True

    def __iter__(self) -> Iterator[str]:
        for raw in self.lines:
            if self.marking:
                self.before, self.marking = self.digest.copy(), False
            self.digest.update(raw)
            self.number += 1
            yield raw.decode("utf-8", "replace")


def _records(reader: _Reader, csv_file: bool) -> Iterator[tuple[int, Any]]:
    """(line number, record) of an export: a JSON document, or a CSV row as a public event (a
    trailer row as {"trailer": ...}); None when the line cannot be read."""
    if not csv_file:
        for line in reader:
            if line.strip():
                yield reader.number, _json_line(line)
            reader.mark()
        return
    rows = csv.reader(reader)
    next(rows, None)  # the header
    reader.mark()
    for row in rows:
        yield reader.number, _csv_record(row)
        reader.mark()


def _json_line(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _csv_record(row: list[str]) -> Any:
    if row and row[0] == export.TRAILER_LABEL:
        fields = dict(cell.partition("=")[::2] for cell in row[1:])
        return {"trailer": {"events": _int(fields.get("events")), "sha256": fields.get("sha256")}}
    keys = [key for _, key in export.CSV_COLUMNS]
    if len(row) != len(keys):
        return None
    doc: dict[str, Any] = dict(zip(keys, row, strict=True))
    try:
        for key in ("seq", "hazard_id", "hazard_seq"):
            doc[key] = int(doc[key])
        doc["actor_id"] = int(doc["actor_id"]) if doc["actor_id"] else None
        for key in ("from", "to", "payload", "workflow"):
            doc[key] = json.loads(doc[key]) if doc[key] else None
    except ValueError:
        return None
    return doc


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() else None


def _trailer(doc: Any) -> dict[str, Any] | None:
    if isinstance(doc, dict) and set(doc) == {"trailer"} and isinstance(doc["trailer"], dict):
        return doc["trailer"]
    return None


def verify_file(*, path: Path, limit: int = 1000) -> dict[str, Any]:
    """Check an export file (JSON Lines or CSV, told apart by the CSV header), without a
    database: its trailer and its chains. A chain whose first event in the file is not
    hazard_seq 1 is checked from that event's prev_hash."""
    walker = ChainWalker(limit, trust_start=True)
    found: dict[str, Any] | None = None
    with path.open("rb") as lines:
        csv_file = lines.read(len(_CSV_START)) == _CSV_START
        lines.seek(0)
        reader = _Reader(iter(lines))
        for number, doc in _records(reader, csv_file):
            if found is not None:
                walker.fail(None, None, f"line {number} follows the trailer")
                continue
            if (trailer := _trailer(doc)) is not None:
                found = {**trailer, "line": number}
                _check_trailer(walker, trailer, reader.before.hexdigest())
                continue
            try:
                hazard_id, seq = int(doc["hazard_id"]), int(doc["hazard_seq"])
                prev, stored = str(doc["prev_hash"]), str(doc["hash"])
            except (ValueError, KeyError, TypeError):
                walker.fail(None, None, f"line {number} is not an exported event")
                continue
            if hazard_id != walker.hazard_id:
                walker.start(hazard_id)
            walker.feed(seq, prev, stored, _public_hash(doc))
    if found is None:
        walker.fail(
            None,
            None,
            f"no trailer after {walker.events} events: the file is cut short or is not a "
            "whole export (export again)",
        )
    return walker.result(file=str(path), format="csv" if csv_file else "jsonl", trailer=found)


_CSV_START = export.csv_header().encode("utf-8")[:12]  # the BOM and "序号 seq"


def _check_trailer(walker: ChainWalker, trailer: dict[str, Any], digest: str) -> None:
    if trailer.get("events") != walker.events:
        walker.fail(
            None,
            None,
            f"the trailer counts {trailer.get('events')} events, the file holds "
            f"{walker.events}: lines were removed or added",
        )
    if trailer.get("sha256") != digest:
        walker.fail(
            None, None, "the trailer's sha256 does not match the file: it was changed or cut"
        )
