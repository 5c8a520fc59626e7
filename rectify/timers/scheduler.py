"""APScheduler inside each `rectify serve` process: a few interval jobs, none per hazard.

Jobs receive the process context, never a session; each run opens its own transactions.
A MemoryJobStore is right here: the durable state is the timers table, not the jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from rectify.audit.checkpoints import write_due_checkpoint
from rectify.audit.models import Checkpoint
from rectify.auth.scope import SYSTEM
from rectify.context import Context
from rectify.timers.engine import catch_up

log = logging.getLogger(__name__)

CHECKPOINT_POLL_SECONDS = 5.0  # how often the checkpoint job looks (a checkpoint is due later)


def checkpoint_pass(ctx: Context) -> Checkpoint | None:
    """The checkpoint job: a checkpoint when events were appended since the last one and
    `checkpoint_interval_seconds` have passed since it (None: nothing to do)."""
    interval = timedelta(seconds=ctx.settings.checkpoint_interval_seconds)
    return write_due_checkpoint(ctx=ctx, actor=SYSTEM.actor, interval=interval)


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:  # a failed sweep is retried at the next interval
            log.exception("%s job failed", name)

    return run


def build_scheduler(ctx: Context, worker: str) -> BackgroundScheduler:
    """The process's jobs: timers, webhook deliveries, audit checkpoints and the calendar."""
    s = ctx.settings
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    timers = _guarded("timers", lambda: catch_up(ctx=ctx, limit=s.timer_batch))
    scheduler.add_job(
        timers, "interval", seconds=s.timer_interval_seconds, id="timers", next_run_time=ctx.now()
    )  # catch up at once on start
    from rectify.notifications.worker import run_once

    webhooks = _guarded("webhooks", lambda: run_once(ctx, worker))
    scheduler.add_job(webhooks, "interval", seconds=s.webhook_interval_seconds, id="webhooks")
    # Polled more often than the interval, so checkpoints follow each other about one interval
    # apart rather than up to two; an idle look costs two indexed reads.
    checkpoint = _guarded("checkpoints", lambda: checkpoint_pass(ctx))
    poll = min(s.checkpoint_interval_seconds, CHECKPOINT_POLL_SECONDS)
    scheduler.add_job(checkpoint, "interval", seconds=poll, id="checkpoints")
    from rectify.calendar.service import poll

    # A year loaded by another process (`rectify calendar load`): re-read it, recount.
    calendar = _guarded("calendar", lambda: poll(ctx=ctx))
    scheduler.add_job(calendar, "interval", seconds=s.calendar_check_seconds, id="calendar")
    return scheduler
