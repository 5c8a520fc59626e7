"""One scrape of /metrics: this process's registry, then gauges read from the database.

The gauges are computed at scrape time with one cheap query each, never kept up to date on
the side: they are the same from every process (aggregate them with max, not sum).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, func, select

from rectify.context import Context
from rectify.hazards.models import Hazard
from rectify.hazards.service import OPEN_STATES
from rectify.observability import metrics  # noqa: F401  (registers the metrics to expose)
from rectify.timers.models import Timer

log = logging.getLogger(__name__)

UP = "1 when this scrape could read the database (the gauges below are missing otherwise)."


class DatabaseGauges(Collector):
    """Due timers and overdue hazards, as of the context's clock."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        now = self.ctx.now()
        try:
            with self.ctx.db.session() as session:
                due = session.exec(_count(Timer, *_due_timers(now))).one()
                overdue = session.exec(_count(Hazard, *_overdue_hazards(now))).one()
        except SQLAlchemyError:
            # The process's counters are still worth a scrape; `up` says the gauges are missing.
            log.warning("metrics: the database did not answer", exc_info=True)
            yield GaugeMetricFamily("rectify_database_up", UP, value=0)
            return
        yield GaugeMetricFamily("rectify_database_up", UP, value=1)
        yield GaugeMetricFamily(
            "rectify_timers_due", "Pending timers whose due time has passed.", value=due
        )
        yield GaugeMetricFamily(
            "rectify_hazards_overdue",
            "Open hazards (assigned or rectifying) past their deadline.",
            value=overdue,
        )


def _due_timers(now: datetime) -> tuple[Any, ...]:
    # Exactly what the partial index ix_timers_pending_due covers.
    return (
        col(Timer.due_at) <= now,
        col(Timer.fired_at).is_(None),
        col(Timer.cancelled_at).is_(None),
    )


def _overdue_hazards(now: datetime) -> tuple[Any, ...]:
    # The rule of hazards.service.overdue_seconds and of the list's `overdue` filter.
    return (col(Hazard.state).in_(OPEN_STATES), col(Hazard.deadline) < now)


def _count(table: type, *where: Any) -> Any:
    return select(func.count()).select_from(table).where(*where)


class _Scrape(Collector):
    """Several collectors exposed as one."""

    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def render(ctx: Context, accept: str | None = None) -> tuple[bytes, str]:
    """The exposition body and its content type: Prometheus text, or OpenMetrics when the
    scraper asks for it in `Accept`."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(_Scrape(REGISTRY, DatabaseGauges(ctx))), content_type
