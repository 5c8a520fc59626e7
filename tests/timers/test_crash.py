"""Crash test (issue 5): 20,000 due timers, real `rectify serve` processes SIGKILLed at random
moments while they fire, five rounds. After every kill and at the end: no timer fired twice,
none lost, every hash chain verifies and (SQLite) the database file is intact.

The workload: 4,000 general hazards assigned 11 days ago. Each has three timers due at once
(plan due, reminder, rectification deadline) and, when its deadline is missed, the engine
schedules the two ladder steps (notify at once; county listing after P3D), both already due: 5
timers per hazard, 20,000 in all, 12,000 of them due when the first process starts.

SQLite: one process at a time (the file has one writer); each round starts it, waits until
firing has begun, waits a random moment, SIGKILLs it and checks the file before the next start.
PostgreSQL: two processes share the database; each round SIGKILLs one of them at a random
moment while the other goes on, checks, and starts a replacement.

The moments come from a seeded `random.Random` (repeatable in CI). A drawn moment is cut short
when the catch-up has gone past its share of the work (round r of 5 at r/6 of the timers, plus
up to 0.3 s), so that every kill lands while timers are still being fired, on fast and slow
machines alike. RECTIFY_CRASH_SEED=<n> draws other moments (RECTIFY_TIMER_BATCH=<n> passes on
to the processes: smaller batches, more commits to land in).
Run with `pytest -s` to see the rounds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from rectify.audit.models import Event
from rectify.audit.verify import verify
from rectify.context import Context
from rectify.database.core import utcnow
from rectify.hazards.triggers import REGISTRY, SystemEvent
from rectify.timers.models import Timer
from tests.processes import Server
from tests.timers.test_durability import due_pending, fired_count, seeded, wait_until_caught_up

SEED = int(os.environ.get("RECTIFY_CRASH_SEED", "20250505"))  # another seed: other moments
HAZARDS = 4_000
TIMERS_PER_HAZARD = 5  # plan_due, reminder, rectification, escalation step 0 and step 1
TOTAL = HAZARDS * TIMERS_PER_HAZARD  # 20,000
ASSIGNED_AGO = timedelta(days=11)  # deadline P7D + ladder P3D: every timer already due
ROUNDS = 5
DELAY = (0.1, 2.0)  # seconds after firing is seen to have begun
JITTER = 0.3  # when the share of work cuts a moment short: up to this much more
# The timer events a hazard of this workload must end with, each exactly once.
FINAL_EVENTS = Counter(
    {
        "plan_overdue": 1,
        "deadline_reminder": 1,
        "deadline_missed": 1,
        "escalation_notice": 1,  # ladder step 0: notify
        "list_for_supervision": 1,  # ladder step 1: county listing by system:scheduler
    }
)
# The triggers a timer of each kind may append (escalations act per ladder step).
KIND_EVENTS = {
    d.timer: {name} for name, d in REGISTRY.items() if issubclass(d, SystemEvent) and d.timer
}
KIND_EVENTS["escalation"] = {"escalation_notice", "list_for_supervision"}


@dataclass
class Kill:
    round: int
    victim: int  # index of the process killed
    drawn: float  # the random moment drawn, s after firing was seen to begin
    after: float  # when it was actually killed, s after firing was seen to begin
    cut_short: bool  # the catch-up passed its share before the drawn moment
    fired_before: int  # timers marked fired when the round's firing was first seen
    fired_at_kill: int  # timers marked fired right after the SIGKILL
    due_at_kill: int  # due timers still pending right after the SIGKILL
    taken_over: int | None = None  # fired once the survivor had committed its next batch
    checked_in: float = 0.0  # seconds the checks after the kill took

    def __str__(self) -> str:
        why = f" (drawn {self.drawn:.2f}s, cut short by progress)" if self.cut_short else ""
        survivor = (
            f"; the other process went on to {self.taken_over}"
            if self.taken_over is not None
            else ""
        )
        return (
            f"round {self.round}: SIGKILL process {self.victim} {self.after:.2f}s after firing "
            f"began{why}; fired {self.fired_before} -> {self.fired_at_kill} of {TOTAL}, "
            f"{self.due_at_kill} due still pending{survivor}; checks {self.checked_in:.1f}s"
        )


# --------------------------------------------------------------------------------------------
# What must hold after every kill (partial) and at the end (complete)
# --------------------------------------------------------------------------------------------


# The service's own system events (a step's document rendered, a deadline recomputed after a
# calendar change) are `system:scheduler` too, but no timer fires them.
NOT_FROM_TIMERS = frozenset({"document_issued", "deadline_recomputed"})


def integrity(url: str) -> list[str]:
    """PRAGMA integrity_check and foreign_key_check of a SQLite file (no writer running)."""
    path = make_url(url).database
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        fks = conn.execute("PRAGMA foreign_key_check").fetchall()
    conn.close()
    problems = [] if rows == ["ok"] else [f"integrity_check: {rows[:10]}"]
    return problems + ([f"foreign_key_check: {fks[:10]}"] if fks else [])


def chains(ctx: Context) -> list[str]:
    result = verify(ctx=ctx)
    if result["ok"]:
        return []
    return [f"audit verify: {result.get('broken_total')} broken: {result['broken'][:5]}"]


def snapshot_session(ctx: Context) -> Session:
    """A session whose queries all see one snapshot (another process may be writing)."""
    session = ctx.db.session()
    if not ctx.db.is_sqlite:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return session


def timer_problems(ctx: Context, *, final: bool) -> tuple[list[str], dict[str, int]]:
    """Each timer marked fired has appended exactly one event naming it (payload `timer_id`),
    each event names a timer marked fired, of its hazard and kind; no hazard has a timer event
    twice. `final`: also nothing due left pending and every hazard has each event once."""
    with snapshot_session(ctx) as session:
        now = utcnow()
        timers = {
            t.id: t
            for t in session.exec(
                select(
                    col(Timer.id),
                    col(Timer.hazard_id),
                    col(Timer.kind),
                    col(Timer.due_at),
                    col(Timer.fired_at),
                    col(Timer.cancelled_at),
                    col(Timer.outcome),
                )
            )
        }
        events = session.exec(
            select(col(Event.seq), col(Event.hazard_id), col(Event.trigger), col(Event.payload))
            .where(col(Event.actor) == "system:scheduler")
            .order_by(col(Event.seq))
        ).all()
    problems: list[str] = []

    def problem(text: str) -> None:
        if len(problems) < 20:
            problems.append(text)

    per_timer: dict[int, list[int]] = {}
    per_hazard: dict[int, Counter[str]] = {}
    for seq, hazard_id, trigger, payload in events:
        if trigger in NOT_FROM_TIMERS:
            continue
        per_hazard.setdefault(hazard_id, Counter())[trigger] += 1
        timer_id = json.loads(payload).get("timer_id")
        if timer_id is None:
            problem(f"event seq {seq} ({trigger}, hazard {hazard_id}) names no timer")
            continue
        per_timer.setdefault(timer_id, []).append(seq)
        t = timers.get(timer_id)
        if t is None:
            problem(f"event seq {seq} names timer {timer_id}, which does not exist")
        elif t.hazard_id != hazard_id or trigger not in KIND_EVENTS.get(t.kind, set()):
            problem(f"event seq {seq} ({trigger}, hazard {hazard_id}) names {t}")
        elif t.fired_at is None or t.outcome != "fired":
            problem(f"event seq {seq} ({trigger}) for timer {t} not marked fired: fires again")
    for timer_id, seqs in per_timer.items():
        if len(seqs) > 1:
            problem(f"timer {timer_id} fired {len(seqs)} times: events seq {seqs}")
    outcomes = Counter(t.outcome for t in timers.values() if t.fired_at is not None)
    for t in timers.values():
        if t.outcome == "fired" and t.id not in per_timer:
            problem(f"timer {t} marked fired but appended no event: lost")
        elif t.outcome not in (None, "fired"):
            problem(f"timer {t} has outcome {t.outcome!r}; none of this workload may be skipped")
    for hazard_id, seen in per_hazard.items():
        twice = {k: n for k, n in seen.items() if n > 1}
        if twice:
            problem(f"hazard {hazard_id} has timer events more than once: {twice}")
    due_left = sum(
        1
        for t in timers.values()
        if t.fired_at is None and t.cancelled_at is None and t.due_at <= now
    )
    if final:
        if due_left:
            problem(f"{due_left} due timers never fired: lost")
        if outcomes["fired"] != TOTAL:
            problem(f"{outcomes['fired']} timers fired, {TOTAL} expected")
        wrong = {h: c for h, c in per_hazard.items() if c != FINAL_EVENTS}
        missing = HAZARDS - len(per_hazard)
        if wrong or missing:
            problem(
                f"{len(wrong)} hazards with the wrong timer events, {missing} with none; "
                f"e.g. {list(wrong.items())[:3]}"
            )
    stats = {
        "timers": len(timers),
        "fired": outcomes["fired"],
        "events": len(events),
        "due_left": due_left,
    }
    return problems, stats


def check(ctx: Context, url: str, *, final: bool) -> list[str]:
    problems = integrity(url) if ctx.db.is_sqlite else []
    problems += chains(ctx)
    problems += timer_problems(ctx, final=final)[0]
    return problems


# --------------------------------------------------------------------------------------------
# The rounds
# --------------------------------------------------------------------------------------------


def wait_for_firing(ctx: Context, servers: list[Server], above: int, timeout: float = 60) -> int:
    """Until a timer batch has committed since `above` fired; returns the new count."""
    deadline = time.monotonic() + timeout
    while (fired := fired_count(ctx)) <= above:
        if time.monotonic() > deadline:
            logs = "\n".join(s.output()[-3000:] for s in servers)
            pytest.fail(f"no timer fired within {timeout}s ({above} fired before)\n{logs}")
        time.sleep(0.02)
    return fired


def kill_at_random_moment(
    ctx: Context, servers: list[Server], rng: random.Random, rnd: int
) -> Kill:
    """Wait until firing is going on, then a random moment (cut short by the round's share of
    the work), and SIGKILL one of the processes."""
    fired_before = wait_for_firing(ctx, servers, fired_count(ctx))
    began = time.monotonic()
    drawn = rng.uniform(*DELAY)
    victim = rng.randrange(len(servers))
    jitter = rng.uniform(0, JITTER)
    share = TOTAL * rnd // (ROUNDS + 1)  # rnd counts from 1
    cut_short = False
    until = began + drawn
    while time.monotonic() < until:
        if not cut_short and fired_count(ctx) >= share:
            cut_short, until = True, min(until, time.monotonic() + jitter)
        time.sleep(0.02)
    if ctx.db.is_sqlite:
        # Close this process's connections first: the killed process is then the only one
        # with the file open, as in production, and the next opener must recover the WAL.
        ctx.db.dispose()
    servers[victim].kill()
    return Kill(
        round=rnd,
        victim=victim,
        drawn=drawn,
        after=time.monotonic() - began,
        cut_short=cut_short,
        fired_before=fired_before,
        fired_at_kill=fired_count(ctx),
        due_at_kill=due_pending(ctx),
    )


def start_all(servers: list[Server]) -> None:
    """Start the processes side by side, so that they begin firing at about the same time."""
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(lambda s: s.start(timeout=60), servers))


def signal_all(servers: list[Server], sig: signal.Signals) -> None:
    for s in servers:
        if s.proc is not None and s.proc.poll() is None:
            os.kill(s.proc.pid, sig)


def crash_rounds(url: str, tmp_path: Path, processes: int) -> None:
    """Seed, then ROUNDS times: SIGKILL one process at a random moment, check, restart it.

    With two processes, the survivor keeps firing through the kill; once it has committed its
    next batch (it takes over the killed one's rolled-back work) it is paused (SIGSTOP) while
    the test checks the database and boots the replacement, then resumed (SIGCONT). Without the
    pause it alone would fire most of the 20,000 timers while the bookkeeping runs, and the
    later rounds would have nothing left to interrupt."""
    started = time.monotonic()
    rng = random.Random(SEED)
    ctx, ids = seeded(url, tmp_path, HAZARDS, ASSIGNED_AGO)
    assert len(ids) == HAZARDS
    assert due_pending(ctx) == HAZARDS * 3
    name = ctx.db.url.get_backend_name()
    print(f"\n[{name}] seeded {HAZARDS} hazards in {time.monotonic() - started:.1f}s, seed {SEED}")
    servers = [Server(tmp_path, url) for _ in range(processes)]
    kills: list[Kill] = []
    try:
        start_all(servers)
        for rnd in range(1, ROUNDS + 1):
            kill = kill_at_random_moment(ctx, servers, rng, rnd)
            kills.append(kill)
            survivors = [s for i, s in enumerate(servers) if i != kill.victim]
            if survivors:
                kill.taken_over = wait_for_firing(ctx, survivors, kill.fired_at_kill)
                signal_all(survivors, signal.SIGSTOP)
            # The killed process's open transaction is gone; what it committed must be whole.
            began = time.monotonic()
            problems = check(ctx, url, final=False)
            kill.checked_in = time.monotonic() - began
            print(kill)
            assert not problems, f"after {kill}:\n" + "\n".join(problems)
            assert kill.due_at_kill > 0, f"{kill}: the catch-up had already finished"
            servers[kill.victim] = Server(tmp_path, url)
            servers[kill.victim].start(timeout=60)
            signal_all(survivors, signal.SIGCONT)
        wait_until_caught_up(ctx, servers, timeout=180)
    finally:
        signal_all(servers, signal.SIGCONT)
        for s in servers:
            s.stop()
    problems, stats = timer_problems(ctx, final=True)
    problems = (integrity(url) if ctx.db.is_sqlite else []) + chains(ctx) + problems
    ctx.db.dispose()
    rounds = "\n".join(map(str, kills))
    assert not problems, (
        f"after the final catch-up ({stats}):\n" + "\n".join(problems) + f"\nrounds:\n{rounds}"
    )
    print(f"[{name}] final: {stats}; {time.monotonic() - started:.1f}s in all")


@pytest.mark.slow
def test_sigkill_at_random_moments_fires_every_timer_exactly_once(
    backend: str, tmp_path: Path
) -> None:
    """SQLite: one process at a time; PostgreSQL: two processes, one killed per round."""
    crash_rounds(backend, tmp_path, processes=1 if backend.startswith("sqlite") else 2)
