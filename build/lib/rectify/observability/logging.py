"""JSON logs: one object per line with time, level, logger, message and request_id (plus
`exc_info` and any `extra` fields), for `rectify serve` and uvicorn's own loggers."""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryFormatter

# The request id reaches records through asgi-correlation-id's filter as `correlation_id`.
_FIELDS = "{asctime}{levelname}{name}{message}{correlation_id}"
_RENAMES = {
    "asctime": "time",
    "levelname": "level",
    "name": "logger",
    "correlation_id": "request_id",
}
# uvicorn attaches an ANSI-coloured copy of some messages; a JSON line needs only one.
_DROPPED = [*RESERVED_ATTRS, "color_message"]
# Loggers whose INFO is routine chatter (APScheduler: two lines per job run, every 0.5 s).
_QUIET = ("apscheduler", "alembic.runtime.plugins")


class JsonFormatter(_LibraryFormatter):
    """The fields in a fixed order, time as ISO 8601 UTC, Chinese text left readable."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            _FIELDS,
            style="{",
            rename_fields=_RENAMES,
            reserved_attrs=_DROPPED,
            json_ensure_ascii=False,
            **kwargs,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds")


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` (also uvicorn's `log_config`): everything, uvicorn's
    access and error logs included, goes to stderr as JSON lines through the root logger."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "asgi_correlation_id.CorrelationIdFilter"}},
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        # uvicorn's loggers keep no handlers of their own: one line per record, via the root.
        "loggers": {
            **{
                name: {"level": level, "handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            **{name: {"level": "WARNING"} for name in _QUIET},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    """Apply `log_config` to this process (before anything logs, e.g. the migrations)."""
    logging.config.dictConfig(log_config(level))
