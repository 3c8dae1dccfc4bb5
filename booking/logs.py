"""Structured (JSON) logs. Nothing here logs bodies, query strings or personal data."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from litestar.types import Scope

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    converter = time.gmtime  # timestamps in UTC, whatever the server's TZ

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%SZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The JSON lines name no source line, thread, process or task: the logging module need
    # not look them up for every record (the access line is written for every request; the
    # caller's frame walk was ~9 of its ~29 µs). Logging HOWTO, "Optimization". Without
    # ``_srcfile``, ``stack_info`` and ``stacklevel`` do nothing; nothing here uses them.
    logging._srcfile = None  # the documented switch
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    if hasattr(logging, "logAsyncioTasks"):  # Python 3.12+
        logging.logAsyncioTasks = False
    for noisy in ("uvicorn.access", "arq.worker", "arq.jobs", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


access_log = logging.getLogger("booking.access")


def log_request(scope: Scope, status: int, seconds: float) -> None:
    """The access line of one request: method, the route's path template (not the concrete
    path, which may carry codes), status and duration. Written by the metrics middleware,
    which already wraps every request (one ``send`` wrapper instead of two)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    access_log.info(
        "request",
        extra={
            "method": scope.get("method"),
            # the full template, as the metrics count it (a handler's own ``paths`` are
            # relative to its controller: "/" for every controller's index)
            "route": scope.get("path_template") or "unmatched",
            "status": status,
            "ms": round(seconds * 1000, 1),
        },
    )
