"""Export: scoped, streamed JSON Lines and CSV; a JSON Lines file verifies with no database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from rectify.audit.export import CSV_COLUMNS
from rectify.audit.verify import verify_file
from tests.audit.helpers import several
from tests.support import World


def _export(world: World, who: str = "auditor", **params: str) -> str:
    r = world.client.get("/api/v1/audit/export", params=params, headers=world.h(who))
    assert r.status_code == 200, r.text
    return r.text


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


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
    assert len(rows) == 1 + 3
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
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in window))
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
    ]
    assert "hash mismatch" in result["broken"][0]["reason"]
    assert "hazard_seq 4–4 missing" in result["broken"][1]["reason"]


def test_export_refusals(world: World) -> None:
    url = "/api/v1/audit/export"
    for who in ("dispatcher", "inspector", "enterprise"):
        assert world.client.get(url, headers=world.h(who)).status_code == 403
    r = world.client.get(url, params={"format": "xml"}, headers=world.h("auditor"))
    assert r.status_code == 422
    later, earlier = "2026-03-03T00:00:00+08:00", "2026-03-02T00:00:00+08:00"
    r = world.client.get(url, params={"from": later, "to": earlier}, headers=world.h("auditor"))
    assert r.status_code == 422 and "later than from" in r.text
