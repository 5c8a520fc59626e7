"""Export: scoped, streamed JSON Lines and CSV, each ending with a trailer (event count and the
SHA-256 of every byte before it); a file verifies with no database, and only when whole."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from rectify.audit.export import CSV_COLUMNS
from rectify.audit.offline import verify_file
from tests.audit.helpers import several
from tests.support import World


def _export(world: World, who: str = "auditor", **params: str) -> str:
    r = world.client.get("/api/v1/audit/export", params=params, headers=world.h(who))
    assert r.status_code == 200, r.text
    return r.text


def _lines(text: str) -> list[dict]:
    """The events of a JSON Lines export (its trailer checked and left off)."""
    *events, last = text.splitlines(keepends=True)
    body = "".join(events).encode("utf-8")
    trailer = {"events": len(events), "sha256": hashlib.sha256(body).hexdigest()}
    assert last == json.dumps({"trailer": trailer}, separators=(",", ":")) + "\n"
    return [json.loads(line) for line in events]


def test_jsonl_is_scoped_ordered_and_verifies_without_a_database(
    world: World, tmp_path: Path
) -> None:
    ids = several(world)
    home, other = ids[:3], ids[3]
    r = world.client.get("/api/v1/audit/export", headers=world.h("auditor"))
    assert r.headers["content-type"].startswith("application/x-ndjson")
    mine = _lines(r.text)
    assert {e["hazard_id"] for e in mine} == set(home)
    assert [(e["hazard_id"], e["hazard_seq"]) for e in mine] == sorted(
        (e["hazard_id"], e["hazard_seq"]) for e in mine
    )
    assert mine == [e for h in home for e in world.history(h)]
    everything = _export(world, who="admin")
    assert {e["hazard_id"] for e in _lines(everything)} == set(ids)
    assert {e["hazard_id"] for e in _lines(_export(world, who="auditor_elsewhere"))} == {other}
    path = tmp_path / "export.jsonl"
    path.write_text(everything, encoding="utf-8")
    result = verify_file(path=path)
    assert result["ok"] is True, result["broken"]
    assert (result["hazards_checked"], result["events_checked"]) == (4, 7 + 3 + 1 + 2)


def test_csv_has_chinese_headers_and_one_row_per_event(world: World) -> None:
    hid = world.to("rectifying")
    text = _export(world, format="csv")
    assert text.startswith("\ufeff序号 seq,隐患编号 hazard_id,链内序号 hazard_seq")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == [label for label, _ in CSV_COLUMNS]
    assert len(rows) == 1 + 3 + 1
    before = text[: text.rindex("尾行")].encode("utf-8")
    assert rows[-1] == ["尾行 trailer", "events=3", f"sha256={hashlib.sha256(before).hexdigest()}"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["隐患编号 hazard_id"] == str(hid) and first["触发事件 trigger"] == "report"
    assert first["原状态 from"] == ""
    assert json.loads(first["新状态 to"])["state"] == "reported"
    assert json.loads(first["内容 payload"])["title"] == "消防通道堵塞"


def test_a_time_window_and_a_tampered_file(world: World, tmp_path: Path) -> None:
    hid = world.to("assigned")
    world.clock.advance(days=1)
    cut = world.clock.now.isoformat()
    world._step(hid, "rectifying", "general")
    world._step(hid, "awaiting_verification", "general")
    world.clock.advance(days=1)
    world._step(hid, "verified", "general")
    window = _lines(_export(world, **{"from": cut, "to": world.clock.now.isoformat()}))
    assert [e["hazard_seq"] for e in window] == [3, 4, 5]  # accept, the upload, confirm
    path = tmp_path / "window.jsonl"
    path.write_text(_export(world, **{"from": cut, "to": world.clock.now.isoformat()}))
    assert verify_file(path=path)["ok"] is True  # checked from event 3's prev_hash
    everything = _lines(_export(world))
    everything[2]["actor"] = "enterprise:impostor"
    del everything[3]
    path.write_text("".join(json.dumps(e) + "\n" for e in everything) + "not json\n")
    result = verify_file(path=path)
    assert result["ok"] is False
    assert [(b["hazard_id"], b["hazard_seq"]) for b in result["broken"]] == [
        (hid, 3),
        (hid, 5),
        (None, None),
        (None, None),
    ]
    assert "hash mismatch" in result["broken"][0]["reason"]
    assert "hazard_seq 4–4 missing" in result["broken"][1]["reason"]
    assert "line 6 is not an exported event" in result["broken"][2]["reason"]
    assert "no trailer" in result["broken"][3]["reason"]


def test_export_refusals(world: World) -> None:
    url = "/api/v1/audit/export"
    for who in ("dispatcher", "inspector", "enterprise"):
        assert world.client.get(url, headers=world.h(who)).status_code == 403
    r = world.client.get(url, params={"format": "xml"}, headers=world.h("auditor"))
    assert r.status_code == 422
    later, earlier = "2026-03-03T00:00:00+08:00", "2026-03-02T00:00:00+08:00"
    r = world.client.get(url, params={"from": later, "to": earlier}, headers=world.h("auditor"))
    assert r.status_code == 422 and "later than from" in r.text


BAD_PARAMETERS = {
    "from beyond year 1 in UTC": ("from", "0001-01-01T00:00:00+14:00"),
    "to beyond year 9999 in UTC": ("to", "9999-12-31T23:00:00-14:00"),
    "from as a number": ("from", "1893456000"),
    "from without an offset": ("from", "2026-03-02T09:00:00"),
    "to not a time": ("to", "2026-02-30T09:00:00Z"),
    "format": ("format", "xml"),
}


@pytest.mark.parametrize("case", list(BAD_PARAMETERS))
def test_export_parameters_are_refused_before_the_200(world: World, case: str) -> None:
    """Today `from=0001-01-01T00:00:00+14:00` answers 200 and the stream dies after the headers."""
    world.to("assigned")
    name, value = BAD_PARAMETERS[case]
    r = world.client.get("/api/v1/audit/export", params={name: value}, headers=world.h("auditor"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [name]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_file_cut_short_anywhere_or_changed_is_broken(
    world: World, tmp_path: Path, fmt: str
) -> None:
    """The trailer is required: no part of an export passes for the whole (issue 9, item 3)."""
    world.to("verified")
    world.to("assigned")
    data = _export(world, format=fmt).encode("utf-8")
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(data)
    whole = verify_file(path=path)
    assert whole["ok"] is True, whole["broken"]
    assert (whole["events_checked"], whole["trailer"]["events"]) == (8, 8)  # 6 + 2
    lines = data.splitlines(keepends=True)
    first = 1 if fmt == "csv" else 0  # the first event's line
    # The global seq is outside the hash chain: only the trailer's digest sees it changed.
    old, new = (b"1,", b"9,") if fmt == "csv" else (b'"seq":1,', b'"seq":9,')
    assert old in lines[first]
    reseq = lines[first].replace(old, new, 1)
    cuts = {f"first {n} lines": b"".join(lines[:n]) for n in range(len(lines))}
    cuts |= {
        "mid-trailer": data[:-20],
        "mid-event": b"".join(lines[:3]) + lines[3][:40],
        "wrong count": b"".join(lines[:-1]) + lines[-1].replace(b"8", b"7", 1),
        "an event dropped": b"".join(lines[:-2] + lines[-1:]),
        "a line after the trailer": data + lines[-2],
        "seq changed": b"".join([*lines[:first], reseq, *lines[first + 1 :]]),
    }
    assert cuts["seq changed"] != data
    for what, cut in cuts.items():
        path.write_bytes(cut)
        result = verify_file(path=path)
        assert result["ok"] is False, what
        if what == "seq changed":
            assert [b["reason"] for b in result["broken"]] == [
                "the trailer's sha256 does not match the file: it was changed or cut"
            ]
