"""The error reporter: an unhandled exception, recorded with its trace.

`report_error` writes one structured log record, `error_report`, carrying the trace id, the
request's route, the exception's type and where it was raised (files, lines and functions —
never its message or local values, which may quote what a person sent), and the last log
lines of the same trace, from a bounded ring buffer kept per trace by a log processor. The
same report goes on the span as an `exception` event, so a trace viewer shows it where it
happened. An operator finds reports by `"event": "error_report"` in the logs, or by the
`X-Trace-ID` a person quotes.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections import OrderedDict, deque
from typing import Any

import structlog
from opentelemetry import trace

from hugmood.observability.tracing import current_ids, route_var

log = structlog.get_logger("hugmood.errors")

LINES_PER_TRACE = 20
TRACES_KEPT = 512
FRAMES_KEPT = 12
_LINE_FIELDS = ("timestamp", "level", "logger", "event")
MAX_EVENT_CHARS = 200


class RecentLines:
    """The last `per_trace` log lines of the last `traces` traces (oldest traces dropped)."""

    def __init__(self, per_trace: int = LINES_PER_TRACE, traces: int = TRACES_KEPT) -> None:
        self._per_trace = per_trace
        self._traces = traces
        self._lines: OrderedDict[str, deque[dict[str, str]]] = OrderedDict()
        self._lock = threading.Lock()  # log lines come from the export thread too

    def add(self, trace_id: str, line: dict[str, str]) -> None:
        with self._lock:
            lines = self._lines.get(trace_id)
            if lines is None:
                lines = self._lines[trace_id] = deque(maxlen=self._per_trace)
                if len(self._lines) > self._traces:
                    self._lines.popitem(last=False)
            lines.append(line)

    def of(self, trace_id: str) -> list[dict[str, str]]:
        with self._lock:
            return list(self._lines.get(trace_id, ()))


RECENT = RecentLines()


def remember_line(
    _logger: object, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """A log processor: keep a short copy of the line (fixed fields only) under its trace."""
    trace_id = event.get("trace_id")
    if isinstance(trace_id, str) and event.get("event") != "error_report":
        line = {k: str(event[k])[:MAX_EVENT_CHARS] for k in _LINE_FIELDS if k in event}
        RECENT.add(trace_id, line)
    return event


def add_trace_ids(
    _logger: object, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """A log processor: the active trace and span ids on every line."""
    ids = current_ids()
    if ids is not None:
        event.setdefault("trace_id", ids[0])
        event.setdefault("span_id", ids[1])
    return event


def _frames(error: BaseException) -> list[str]:
    """Where `error` was raised, innermost last: `module/file.py:12 in function`."""
    summary = traceback.extract_tb(error.__traceback__)[-FRAMES_KEPT:]
    return [f"{os.sep.join(f.filename.split(os.sep)[-2:])}:{f.lineno} in {f.name}" for f in summary]


def report_error(error: BaseException) -> None:
    """Record an unexpected `error` with its trace (see the module's docstring)."""
    ids = current_ids()
    trace_id = ids[0] if ids else None
    frames = _frames(error)
    route = route_var.get()
    report: dict[str, Any] = {
        "route": route,
        "error_type": type(error).__qualname__,
        "frames": frames,
        "recent_lines": RECENT.of(trace_id) if trace_id else [],
    }
    log.error("error_report", **report)
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(
            "exception",
            {
                "exception.type": type(error).__qualname__,
                "exception.stacktrace": "\n".join(frames),
                "hugmood.route": route or "",
            },
        )
        span.set_status(trace.StatusCode.ERROR, type(error).__qualname__)
