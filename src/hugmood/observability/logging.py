"""Structured logs: one JSON object per line (readable lines on a terminal), carrying the
request id of the request and the active trace and span ids."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

import structlog

from hugmood.observability.error_reports import add_trace_ids, remember_line

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def _add_request_id(
    _logger: object, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _drop_colour_copies(
    _logger: object, _name: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """uvicorn passes a copy of its message with ANSI colours as an extra: never a field."""
    event.pop("color_message", None)
    return event


def configure_logging(level: str = "INFO", *, json: bool | None = None) -> None:
    """Route both structlog and the standard `logging` module through one renderer: JSON lines,
    or readable lines (colours only on a terminal). `json=None` picks readable on a terminal."""
    on_terminal = sys.stderr.isatty()
    if json is None:
        json = not on_terminal
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_ids,
        remember_line,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=on_terminal)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # `extra={...}` of standard-library log calls become fields of the line.
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                _drop_colour_copies,
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
