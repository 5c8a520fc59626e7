"""Across 2026/2027 with working-day deadlines: 2027 has no holiday data, so deadlines counted
over it are provisional, the engine still fires them, and loading a (fictional) 2027 notice
recounts them, recording an event only where the deadline moved."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rectify.audit.replay import replay
from rectify.audit.verify import verify
from rectify.auth.scope import SYSTEM, Caller
from rectify.calendar import service as calendar
from rectify.calendar.data import read_year_file
from rectify.cli import app
from rectify.config import Settings
from rectify.context import Context, build_context
from rectify.exceptions import Conflict, InvalidInput
from rectify.hazards import service as hazards
from rectify.timers.engine import catch_up
from rectify.timers.policy import CHINA_TZ, Policy
from tests.support import World
from tests.timers.fictional import DOCUMENT_NO, YEAR_2027, write_2027

SHIPPED_POLICY = Path(__file__).resolve().parents[2] / "config" / "policy.toml"
MONDAY = datetime(2026, 12, 28, 9, tzinfo=CHINA_TZ).astimezone(UTC)


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA_TZ).astimezone(UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def working_days(ctx: Context) -> None:
    """General: 7 working days to rectify, reminder 1 working day before; major: 10."""
    data = tomllib.loads(SHIPPED_POLICY.read_text(encoding="utf-8"))
    timers = data["grades"]["general"]["timers"]
    timers["rectification"] = {"duration": "P7D", "days": "working"}
    timers["reminder"] = {"duration": "P1D", "days": "working"}
    data["grades"]["major"]["timers"]["rectification"] = {"duration": "P10D", "days": "working"}
    ctx.policy = Policy.model_validate(data).use_calendar(ctx.calendar)


@pytest.fixture
def late(world: World) -> World:
    """The world on Monday 2026-12-28, 09:00 in Beijing, counting working days."""
    working_days(world.ctx)
    world.clock.now = MONDAY
    return world


def timers_of(world: World, hid: int) -> dict[str, dict]:
    return {t["kind"]: t for t in world.get(hid)["pending_timers"]}


def triggers(world: World, hid: int) -> list[str]:
    return [e["trigger"] for e in world.history(hid)]


def load_2027(ctx: Context, folder: Path) -> dict:
    data = read_year_file(write_2027(folder))
    return calendar.load(ctx=ctx, data=data, source="2027.toml", actor="test")


def test_a_deadline_counted_over_2027_is_provisional_and_still_fires(late: World) -> None:
    hid = late.to("assigned")
    body = late.get(hid)
    # Tue 29, Wed 30, Thu 31 Dec; then 2027 provisionally: Fri 1 Jan 元旦, Mon 4 .. Thu 7.
    assert at(body["deadline"]) == beijing(2027, 1, 7, 9)
    assert body["deadline_provisional"] is True
    timers = timers_of(late, hid)
    assert timers["rectification"]["provisional"] is True
    assert at(timers["reminder"]["due_at"]) == beijing(2027, 1, 6, 9)
    assert timers["reminder"]["provisional"] is True
    assert timers["plan_due"]["provisional"] is False  # one calendar day: no holiday counted
    [assign] = [e for e in late.history(hid) if e["trigger"] == "assign"]
    assert assign["payload"]["deadline_provisional"] is True
    listed = late.client.get("/api/v1/hazards", headers=late.h("dispatcher")).json()["items"]
    assert [h["deadline_provisional"] for h in listed if h["id"] == hid] == [True]

    late.clock.now = beijing(2027, 1, 7, 9) - timedelta(seconds=1)
    catch_up(ctx=late.ctx)
    assert "deadline_missed" not in triggers(late, hid)
    assert triggers(late, hid).count("deadline_reminder") == 1
    late.clock.advance(seconds=2)
    catch_up(ctx=late.ctx)
    [missed] = [e for e in late.history(hid) if e["trigger"] == "deadline_missed"]
    assert at(missed["payload"]["due_at"]) == beijing(2027, 1, 7, 9)
    assert late.get(hid)["overdue"] is True


def test_loading_2027_moves_only_the_deadlines_it_changes(late: World, tmp_path: Path) -> None:
    moved = late.to("assigned")  # general, P7D: 2027-01-07, provisional
    kept = late.to("assigned", grade="major")  # P10D: 2027-01-12, provisional
    assert at(late.get(kept)["deadline"]) == beijing(2027, 1, 12, 9)
    events_of_kept = len(late.history(kept))

    result = load_2027(late.ctx, tmp_path)

    assert result["status"] == "stored" and result["deadlines_moved"] == [moved]
    # 4 January is now a day off: the seventh working day is Friday 8 January.
    body = late.get(moved)
    assert at(body["deadline"]) == beijing(2027, 1, 8, 9)
    assert body["deadline_provisional"] is False
    recomputed = [e for e in late.history(moved) if e["trigger"] == "deadline_recomputed"]
    assert len(recomputed) == 1
    event = recomputed[0]
    assert event["actor"] == "system:scheduler" and event["role"] == "system"
    assert at(event["payload"]["previous_deadline"]) == beijing(2027, 1, 7, 9)
    assert at(event["payload"]["deadline"]) == beijing(2027, 1, 8, 9)
    assert event["payload"]["deadline_provisional"] is False
    assert [n["document_no"] for n in event["payload"]["notices"]] == [DOCUMENT_NO]
    timers = timers_of(late, moved)
    assert at(timers["reminder"]["due_at"]) == beijing(2027, 1, 7, 9)
    assert not timers["reminder"]["provisional"] and not timers["rectification"]["provisional"]

    # Major: 4 January off but Saturday 9 January worked: still Tuesday 12 January.
    body = late.get(kept)
    assert at(body["deadline"]) == beijing(2027, 1, 12, 9)
    assert body["deadline_provisional"] is False
    assert len(late.history(kept)) == events_of_kept  # no event where nothing moved
    assert not timers_of(late, kept)["rectification"]["provisional"]

    again = load_2027(late.ctx, tmp_path)  # the same file twice: nothing new
    assert again["status"] == "unchanged" and again["deadlines_moved"] == []
    assert triggers(late, moved).count("deadline_recomputed") == 1

    # The engine follows the new deadline: the reminder on the 7th, the miss on the 8th.
    late.clock.now = beijing(2027, 1, 7, 9, 1)
    catch_up(ctx=late.ctx)
    assert triggers(late, moved)[-1] == "deadline_reminder"
    late.clock.now = beijing(2027, 1, 8, 9, 1)
    catch_up(ctx=late.ctx)
    assert "deadline_missed" in triggers(late, moved)
    assert verify(ctx=late.ctx)["ok"]
    rebuilt = replay(ctx=late.ctx, caller=Caller(role="auditor", name="a"), hazard_id=moved)
    assert rebuilt["consistent"], rebuilt["divergences"]


def test_a_different_file_for_a_loaded_year_needs_a_higher_revision(
    late: World, tmp_path: Path
) -> None:
    load_2027(late.ctx, tmp_path)
    changed = YEAR_2027.replace("last = 2027-01-04", "last = 2027-01-03")
    with pytest.raises(Conflict, match="higher revision"):
        calendar.load(
            ctx=late.ctx,
            data=read_year_file(write_2027(tmp_path, changed)),
            source="x",
            actor="t",
        )
    corrected = changed.replace("revision = 1", "revision = 2")
    hid = late.to("assigned")  # counted with 4 January off: Friday 8 January
    assert at(late.get(hid)["deadline"]) == beijing(2027, 1, 8, 9)
    result = calendar.load(
        ctx=late.ctx, data=read_year_file(write_2027(tmp_path, corrected)), source="x", actor="t"
    )
    # A correction recounts timers that were not provisional too.
    assert result["status"] == "replaced" and result["deadlines_moved"] == [hid]
    assert at(late.get(hid)["deadline"]) == beijing(2027, 1, 7, 9)


def test_another_process_picks_up_a_loaded_year_without_restart(
    late: World, settings: Settings, tmp_path: Path
) -> None:
    late.ctx.calendar.check_seconds = 3600  # this process would not look again for an hour
    other = build_context(settings, clock=late.clock)  # e.g. `rectify calendar load`
    working_days(other)
    try:
        early = late.to("assigned")
        assert load_2027(other, tmp_path)["deadlines_moved"] == [early]
        # Counted here with the calendar this process still holds: provisional, Jan 7.
        stale = late.to("assigned")
        assert late.get(stale)["deadline_provisional"] is True
        # The scheduler's calendar job notices the new version, re-reads, recounts.
        assert calendar.poll(ctx=late.ctx).moved == [stale]
        assert late.get(stale)["deadline_provisional"] is False
        fresh = late.to("assigned")
        body = late.get(fresh)
        assert body["deadline_provisional"] is False
        assert at(body["deadline"]) == beijing(2027, 1, 8, 9)
    finally:
        other.db.dispose()


def test_start_up_stores_the_shipped_years(late: World) -> None:
    years = calendar.list_years(ctx=late.ctx)
    assert [y["year"] for y in years] == [2023, 2024, 2025, 2026]
    assert {y["loaded_by"] for y in years} == {"system:startup"}
    assert years[-1]["notice"]["published"] == "2025-11-04"


def test_rectify_calendar_load_and_list(backend: str, tmp_path: Path) -> None:
    env = {"RECTIFY_DATABASE_URL": backend, "RECTIFY_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    loaded = runner.invoke(app, ["calendar", "load", str(write_2027(tmp_path))], env=env)
    assert loaded.exit_code == 0, loaded.output
    assert "stored 2027 (revision 1)" in loaded.output and DOCUMENT_NO in loaded.output
    listed = runner.invoke(app, ["calendar", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if line[:4].isdigit()]
    assert [line[:4] for line in lines] == ["2023", "2024", "2025", "2026", "2027"]
    assert "国办发明电〔2024〕12号" in lines[2] and DOCUMENT_NO in lines[4]
    changed = YEAR_2027.replace("last = 2027-01-04", "last = 2027-01-03")
    refused = runner.invoke(app, ["calendar", "load", str(write_2027(tmp_path, changed))], env=env)
    assert refused.exit_code == 2 and "higher revision" in refused.output


def test_deadline_recomputed_without_a_deadline_is_refused(late: World) -> None:
    hid = late.to("assigned")
    with pytest.raises(InvalidInput, match="payload.deadline"):
        hazards.transition(
            ctx=late.ctx, caller=SYSTEM, hazard_id=hid, trigger="deadline_recomputed", payload={}
        )
    assert "deadline_recomputed" not in triggers(late, hid)


def test_a_year_shipped_with_a_new_release_is_stored_and_recounted_at_start_up(
    late: World, settings: Settings, tmp_path: Path
) -> None:
    hid = late.to("assigned")  # counted before 2027 was known: provisional
    folder = tmp_path / "calendar"
    folder.mkdir()
    for shipped in (SHIPPED_POLICY.parent / "calendar").glob("*.toml"):
        (folder / shipped.name).write_bytes(shipped.read_bytes())
    write_2027(folder)
    started = build_context(settings.model_copy(update={"calendar_dir": folder}), clock=late.clock)
    working_days(started)
    try:
        assert calendar.catch_up(ctx=started).moved == [hid]  # what prepare() runs
        assert at(late.get(hid)["deadline"]) == beijing(2027, 1, 8, 9)
        years = {y["year"]: y for y in calendar.list_years(ctx=started)}
        assert years[2027]["loaded_by"] == "system:startup"
        # A shipped file never replaces a year at the same or a higher revision.
        write_2027(folder, YEAR_2027.replace("last = 2027-01-04", "last = 2027-01-03"))
        again = build_context(settings.model_copy(update={"calendar_dir": folder}))
        again.db.dispose()
        [stored] = [y for y in calendar.list_years(ctx=started) if y["year"] == 2027]
        assert stored["days_off"] == years[2027]["days_off"]
    finally:
        started.db.dispose()
