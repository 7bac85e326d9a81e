"""Log lines that name their request and job: a filter that reads core.context and a one-line JSON formatter."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from core.context import current_context, current_job_id

# LogRecord's own attributes; anything else on a record came from ``extra=`` and is kept in the JSON line.
# ("request" is the HttpRequest Django attaches to its own lines: an object, not data for the line.)
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "job_id", "request"}


class ContextFilter(logging.Filter):
    """Put the current request id and job id on every record (empty strings outside a request or a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current_context()
        # Django logs a 4xx/5xx answer after the middleware has left the request: the request still has its id.
        late = getattr(getattr(record, "request", None), "request_id", "")
        record.request_id = ctx.request_id if ctx is not None else late
        record.job_id = current_job_id() or ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and job ids, process, extras, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            # Present even when a handler lacks the filter, so every line has the same keys.
            "request_id": getattr(record, "request_id", None) or _request_id(),
            "job_id": getattr(record, "job_id", None) or current_job_id() or "",
            "process": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def _request_id() -> str:
    ctx = current_context()
    return ctx.request_id if ctx is not None else ""
