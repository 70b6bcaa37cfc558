"""What `hugmood serve` prints: readable lines on a terminal, JSON lines otherwise, and never
uvicorn's ANSI-coloured copy of a message as a field."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from hugmood.observability.logging import configure_logging


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def log_like_uvicorn(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("INFO")
    logging.getLogger("uvicorn.error").info(
        "Started server process [%d]",
        42,
        extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"},
    )
    return stream.getvalue()


def test_a_pipe_or_file_gets_one_json_object_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    out = log_like_uvicorn(io.StringIO(), monkeypatch)
    (line,) = out.splitlines()
    record = json.loads(line)
    assert record["event"] == "Started server process [42]"
    assert "color_message" not in record
    assert "\x1b" not in out


def test_a_terminal_gets_readable_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    out = log_like_uvicorn(Terminal(), monkeypatch)
    assert "Started server process [42]" in out
    assert not out.lstrip().startswith("{")
    assert "color_message" not in out


async def test_a_consumers_log_lines_carry_the_events_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.unit.test_bus_consumer import TRACEPARENT, RecordingEffect, publish, pull, setup

    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging("INFO", json=True)
    store, bus, _, _, consumer = await setup(2, RecordingEffect(fail_at=2))
    await publish(bus, store, [1, 2])

    with pytest.raises(Exception, match="failed at position 2"):
        await consumer.take(await pull(bus, consumer))

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines, "the failure was logged"
    assert all(line.get("traceparent") == TRACEPARENT for line in lines), lines
